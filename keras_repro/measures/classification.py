"""Scores of a classifier in inference mode, and the training steps it takes to reach a target accuracy (C6.6)."""
from __future__ import annotations

import keras
import numpy as np


def classification_scores(probabilities, labels) -> tuple[float, float]:
    """(cross-entropy, accuracy) of predicted class ``probabilities`` for integer ``labels``."""
    p = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(labels)
    picked = np.clip(p[np.arange(len(labels)), labels], 1e-7, 1.0)
    return float(-np.mean(np.log(picked))), float(np.mean(p.argmax(axis=1) == labels))


def inference_outputs(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """Inference-mode outputs of ``model`` (no dropout), without ``predict``'s progress bar."""
    return keras.ops.convert_to_numpy(model(x, training=False))


class StepsToTarget(keras.callbacks.Callback):
    """Evaluates validation accuracy every ``every`` training steps and stops training at ``target``.

    ``self.curve``: (step, accuracy) pairs; ``self.steps``: the first evaluated step whose accuracy
    reached ``target``, or ``None`` if the budget ran out first.
    """

    reads_only_self_model = True  # the runtime may train a twin of the model (Runtime._twin_for)

    def __init__(self, x_val: np.ndarray, y_val: np.ndarray, target: float, every: int):
        super().__init__()
        if not 0 < target <= 1 or every < 1:
            raise ValueError(f"need 0 < target <= 1 and every >= 1. Received: target={target}, every={every}")
        self.x_val, self.y_val, self.target, self.every = x_val, y_val, target, every
        self.curve: list[tuple[int, float]] = []
        self.steps: int | None = None
        self._step = 0

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        if self._step % self.every:
            return
        _, accuracy = classification_scores(inference_outputs(self.model, self.x_val), self.y_val)
        self.curve.append((self._step, accuracy))
        if accuracy >= self.target and self.steps is None:
            self.steps = self._step
            self.model.stop_training = True
