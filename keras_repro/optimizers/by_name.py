"""The optimiser a reproduction's config names: ``optimizer="adam"`` or ``"sgd"``."""
from __future__ import annotations

import keras

OPTIMIZER_NAMES = ("adam", "sgd")


def make_optimizer(name: str, learning_rate: float, *, momentum: float = 0.9,
                   weight_decay: float | None = None) -> keras.optimizers.Optimizer:
    """``"adam"``: ``keras.optimizers.Adam(learning_rate)``; ``"sgd"``: the papers' SGD with
    ``momentum`` (0.9 in AlexNet and VGG) and, if given, ``weight_decay`` (AlexNet: 5e-4)."""
    if name == "adam":
        return keras.optimizers.Adam(learning_rate)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=momentum, weight_decay=weight_decay)
    raise ValueError(f"optimizer must be one of {', '.join(map(repr, OPTIMIZER_NAMES))}. Received: optimizer={name!r}")
