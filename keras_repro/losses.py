"""Losses of the notes' task set-ups (section 3), written with ``keras.ops`` for every backend.

- :class:`LocalizationLoss` — one object at most per image, five raw outputs ``y0 … y4``:
  ``p = σ(y0)``, ``xc = σ(y1)``, ``yc = σ(y2)``, ``w = exp(y3)``, ``h = exp(y4)``; the loss is
  ``BCE(σ(y0), 1[object]) + 1[object] · (BCE(σ(y1), xc) + BCE(σ(y2), yc) + (y3 − log w)² + (y4 − log h)²)``.
  ``box_loss="plain"`` regresses ``w, h`` themselves instead (``w = y3``): the contrast of claim C3.1b.
  Targets are ``[present, xc, yc, w, h]`` with the box in fractions of the image side.
- :class:`SummedPixelBCE` — segmentation: per-pixel BCE of ``σ(y)`` summed over the pixels (the notes),
  averaged over the batch.
"""
from __future__ import annotations

import keras
import numpy as np
from keras import ops

BOX_LOSSES = ("log", "plain")


def _bce_from_logits(target, logits):
    # max(z, 0) − z·t + log(1 + exp(−|z|)): stable for any logit
    return ops.maximum(logits, 0.0) - logits * target + ops.log1p(ops.exp(-ops.abs(logits)))


@keras.saving.register_keras_serializable(package="keras_repro")
class LocalizationLoss(keras.losses.Loss):
    """The notes' localisation loss over ``[present, xc, yc, w, h]`` targets and five raw outputs.

    Args:
        box_loss: ``"log"`` (MSE of ``y3, y4`` against ``log w, log h``: equal relative errors cost the
            same at every size) or ``"plain"`` (MSE against ``w, h``).
        min_side: sides are clipped to at least this before the log (absent objects' boxes are ignored,
            but their log must stay finite).
    """

    def __init__(self, box_loss: str = "log", min_side: float = 1e-3, name: str = "localization_loss", **kwargs):
        if box_loss not in BOX_LOSSES:
            raise ValueError(f"box_loss must be one of {BOX_LOSSES}. Received: box_loss={box_loss!r}")
        if not min_side > 0:
            raise ValueError(f"min_side must be > 0. Received: min_side={min_side!r}")
        super().__init__(name=name, **kwargs)
        self.box_loss, self.min_side = box_loss, float(min_side)

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, y_pred.dtype)
        present = y_true[:, 0]
        presence = _bce_from_logits(present, y_pred[:, 0])
        centre = _bce_from_logits(y_true[:, 1], y_pred[:, 1]) + _bce_from_logits(y_true[:, 2], y_pred[:, 2])
        sides = ops.maximum(y_true[:, 3:5], self.min_side)
        target = ops.log(sides) if self.box_loss == "log" else sides
        size = ops.sum(ops.square(y_pred[:, 3:5] - target), axis=-1)
        return presence + present * (centre + size)

    def get_config(self):
        return {**super().get_config(), "box_loss": self.box_loss, "min_side": self.min_side}


def decode_localization(y_pred, box_loss: str = "log") -> dict[str, np.ndarray]:
    """Raw outputs → ``{"p", "xc", "yc", "w", "h"}`` (NumPy), as the loss interprets them."""
    y = np.asarray(keras.ops.convert_to_numpy(y_pred), np.float64)
    sigmoid = 1.0 / (1.0 + np.exp(-y[:, :3]))
    sides = np.exp(y[:, 3:5]) if box_loss == "log" else y[:, 3:5]
    return {"p": sigmoid[:, 0], "xc": sigmoid[:, 1], "yc": sigmoid[:, 2], "w": sides[:, 0], "h": sides[:, 1]}


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of boxes given as ``(xc, yc, w, h)`` rows (negative sides count as empty), row by row.

    Not ``keras.utils.bounding_boxes.compute_iou``: that one is pairwise, float32 and adds an epsilon to
    the union, which visibly lowers the IoU of the small boxes here (tests/test_losses.py).
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    a_sides, b_sides = np.clip(a[:, 2:], 0, None), np.clip(b[:, 2:], 0, None)
    lo = np.maximum(a[:, :2] - a_sides / 2, b[:, :2] - b_sides / 2)
    hi = np.minimum(a[:, :2] + a_sides / 2, b[:, :2] + b_sides / 2)
    inter = np.prod(np.clip(hi - lo, 0, None), axis=1)
    union = np.prod(a_sides, axis=1) + np.prod(b_sides, axis=1) - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


@keras.saving.register_keras_serializable(package="keras_repro")
class SummedPixelBCE(keras.losses.Loss):
    """Per-pixel binary cross-entropy of ``σ(logits)`` summed over the pixels of each image."""

    def __init__(self, name: str = "summed_pixel_bce", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        y_true = ops.cast(ops.reshape(y_true, ops.shape(y_pred)), y_pred.dtype)
        per_pixel = _bce_from_logits(y_true, y_pred)
        return ops.sum(ops.reshape(per_pixel, (ops.shape(per_pixel)[0], -1)), axis=-1)


import keras_repro as _package  # noqa: E402

_package._register()  # every registering module, if Keras's first import came from this one
