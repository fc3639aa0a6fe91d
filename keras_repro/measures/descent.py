"""Descent on loss surfaces and networks, and the measures read from its trajectories and curves.

Two parts (the surfaces themselves are in :mod:`keras_repro.measures.surfaces`):

- **Descent**: :func:`descend` steps a real Keras variable with a real optimiser
  (``optimizer.apply``) and returns the whole trajectory; :func:`sweep` runs a learning-rate grid
  at once, one row of the variable per rate. Gradients come from the backend (:func:`value_and_gradient`,
  the one place that asks each backend for them).
- **Measures** on trajectories and loss curves (steps to a tolerance, sign flips, overshoot, noise)
  and the pieces of the network training loop that records them (:func:`batches`,
  :class:`WeightRecorder`, :class:`StepTimer`). Plain, stochastic and minibatch gradient descent
  are the same ``fit`` with ``batches(x, y, batch_size)`` for ``batch_size = N, 1, M``.
"""
from __future__ import annotations

import time
from typing import Callable, Sequence

import keras
import numpy as np
import pandas as pd
from keras import ops


# --------------------------------------------------------------------------------------------
# Gradients and descent
# --------------------------------------------------------------------------------------------
def value_and_gradient(fn: Callable, variable: keras.Variable):
    """``fn(variable)`` (a scalar) and its gradient with respect to ``variable``, on any backend."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            value = fn(variable.value)
        return value, tape.gradient(value, variable.value)
    if backend == "jax":
        import jax

        return jax.value_and_grad(fn)(variable.value)
    if backend == "torch":
        point = variable.value.detach().requires_grad_(True)
        value = fn(point)
        value.backward()
        return value.detach(), point.grad
    raise NotImplementedError(f"gradients on backend {backend!r}")


def descend(surface: Callable, optimizer: keras.optimizers.Optimizer, start, steps: int) -> np.ndarray:
    """Minimise ``surface`` from ``start`` for ``steps`` optimiser steps; return every point.

    ``start`` has shape ``(d,)`` or ``(rows, d)``. The objective is the sum of the rows' losses, so
    each row receives exactly its own gradient, and the optimisers here act element-wise: the rows
    are independent runs. Returns an array of shape ``(steps + 1, *start.shape)`` (row 0: ``start``);
    a run that diverges shows ``inf``/``nan`` from then on. On TensorFlow the loop is compiled
    (``tf.function``); on other backends it runs eagerly with a compiled gradient.
    """
    if steps < 0:
        raise ValueError(f"steps must be >= 0. Received: steps={steps}")
    start = np.asarray(start, dtype="float32")
    point = keras.Variable(start, name="point")
    optimizer.build([point])

    def objective(w):
        return ops.sum(surface(w))

    if steps == 0:
        return start[None].copy()
    if keras.backend.backend() == "tensorflow":
        path = _descend_tensorflow(objective, optimizer, point, steps)
    else:
        path = _descend_eager(objective, optimizer, point, steps)
    return np.concatenate([start[None], path])


def _descend_tensorflow(objective, optimizer, point, steps):
    import tensorflow as tf

    @tf.function
    def run(n):
        path = tf.TensorArray(point.dtype, size=n)
        for i in tf.range(n):
            _, grad = value_and_gradient(objective, point)
            optimizer.apply([grad], [point])
            path = path.write(i, point.value)
        return path.stack()

    return run(tf.constant(steps)).numpy()


def _descend_eager(objective, optimizer, point, steps):
    if keras.backend.backend() == "jax":
        import jax

        compiled = jax.jit(jax.value_and_grad(objective))

        def gradient():
            return compiled(point.value)[1]
    else:
        def gradient():
            return value_and_gradient(objective, point)[1]

    path = []
    for _ in range(steps):
        optimizer.apply([gradient()], [point])
        path.append(ops.convert_to_numpy(point.value))
    return np.stack(path)


def sweep(surface: Callable, make_optimizer: Callable[..., keras.optimizers.Optimizer],
          learning_rates: Sequence[float], start, steps: int) -> np.ndarray:
    """:func:`descend` from ``start`` once per learning rate, all rates in one run.

    ``make_optimizer(learning_rate=...)`` receives a callable returning the column of rates
    (shape ``(rates, 1)``; Keras accepts a callable learning rate and the update broadcasts it over
    the rows). Returns shape ``(steps + 1, len(learning_rates), d)``: row ``i`` is the run at
    ``learning_rates[i]``, identical to a separate run (tested).
    """
    rates = np.asarray(learning_rates, dtype="float32").reshape(-1, 1)
    if rates.size == 0 or not np.all(rates > 0):
        raise ValueError(f"learning_rates must be positive. Received: learning_rates={list(learning_rates)}")
    if keras.backend.backend() == "torch":
        # Keras's PyTorch optimizers update with torch._foreach_add_(alpha=lr), which takes a scalar rate
        # only: one run per rate there (the same numbers, one run at a time)
        one = np.asarray(start, dtype="float32").reshape(1, -1)
        return np.concatenate([descend(surface, make_optimizer(learning_rate=lambda r=float(r): r), one, steps)
                               for r in rates.ravel()], axis=1)
    column = ops.convert_to_tensor(rates)
    starts = np.tile(np.asarray(start, dtype="float32").reshape(1, -1), (len(rates), 1))
    return descend(surface, make_optimizer(learning_rate=lambda: column), starts, steps)


def log_grid(low: float, high: float, count: int) -> tuple[float, ...]:
    """``count`` learning rates spaced evenly in log scale from ``low`` to ``high`` (inclusive)."""
    if not 0 < low <= high or count < 1:
        raise ValueError(f"need 0 < low <= high and count >= 1. Received: low={low}, high={high}, count={count}")
    return tuple(float(f"{v:.4g}") for v in np.geomspace(low, high, count))


# --------------------------------------------------------------------------------------------
# Measures
# --------------------------------------------------------------------------------------------
def steps_to_tolerance(values: Sequence[float], tolerance: float) -> int | None:
    """The first step ``t`` from which ``values[t:]`` all stay ``<= tolerance``; ``None`` if never.

    "Stays below" rather than "first dips below", so a method that oscillates back above the
    tolerance is not credited early. A non-finite value counts as above.
    """
    values = np.asarray(values, dtype="float64")
    above = ~(np.isfinite(values) & (values <= tolerance))
    if above[-1]:
        return None
    return 0 if not above.any() else int(np.nonzero(above)[0][-1] + 1)


def relative_excess(losses: np.ndarray, offset: float = 0.0) -> np.ndarray:
    """``(f_t − f*) / (f_0 − f*)`` along axis 0: the fraction of the initial excess loss left."""
    losses = np.asarray(losses, dtype="float64")
    with np.errstate(invalid="ignore", over="ignore"):
        return (losses - offset) / (losses[0] - offset)


def sign_flip_fraction(coordinate: Sequence[float], min_update: float = 0.0) -> float:
    """The fraction of consecutive updates of ``coordinate`` that reverse direction.

    Updates are ``Δ_t = c_{t+1} − c_t``; updates of size ``<= min_update`` (zero by default; set it above
    the float rounding of a converged run) are not counted. 1.0 is a zigzag on every step, 0.0 a monotone
    path. ``nan`` when fewer than two counted updates exist.
    """
    updates = np.diff(np.asarray(coordinate, dtype="float64"))
    updates = updates[np.abs(updates) > min_update]
    if len(updates) < 2:
        return float("nan")
    return float(np.mean(np.sign(updates[1:]) != np.sign(updates[:-1])))


def overshoot(coordinate: Sequence[float], target: float) -> float:
    """How far ``coordinate`` goes past ``target``, relative to where it started.

    ``max(0, max_t −s·(c_t − target)) / |c_0 − target|`` with ``s = sign(c_0 − target)``: 0 for a
    path that never crosses the target, 0.5 for one that swings half the initial distance beyond it.
    """
    c = np.asarray(coordinate, dtype="float64")
    start = c[0] - target
    if start == 0:
        raise ValueError("overshoot needs a start away from the target")
    beyond = -np.sign(start) * (c - target)
    return float(max(0.0, np.max(beyond)) / abs(start))


def loglog_slope(x: Sequence[float], y: Sequence[float]) -> float:
    """The least-squares slope of ``log y`` against ``log x`` (1.0: ``y`` grows linearly with ``x``)."""
    x, y = np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64")
    if len(x) < 2 or np.any(x <= 0) or np.any(y <= 0):
        raise ValueError(f"need at least two positive points. Received: x={x.tolist()}, y={y.tolist()}")
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def curve_noise(values: Sequence[float], window: int = 11) -> float:
    """The variance of a curve around its centred moving average (edges trimmed).

    A smooth, monotone loss curve has almost none; a curve that jumps up and down from step to step
    has a lot. ``window`` is odd.
    """
    if window < 3 or window % 2 == 0:
        raise ValueError(f"window must be odd and >= 3. Received: window={window}")
    values = np.asarray(values, dtype="float64")
    if len(values) < window:
        raise ValueError(f"need at least window={window} values. Received: {len(values)}")
    trend = np.convolve(values, np.ones(window) / window, mode="valid")
    half = window // 2
    return float(np.var(values[half:len(values) - half] - trend))


def direction_spread(updates: np.ndarray, gradients: np.ndarray) -> float:
    """``1 − mean_t cos(Δw_t, −∇L(w_t))``: how far the updates stray from steepest descent.

    ``updates`` and ``gradients`` have shape ``(steps, parameters)``; ``∇L`` is the full-data
    gradient at the point each update started from. 0 when every update is a full-batch gradient
    step, 1 when updates are orthogonal to the gradient on average, up to 2 when opposed.
    """
    updates, gradients = np.asarray(updates, dtype="float64"), np.asarray(gradients, dtype="float64")
    norms = np.linalg.norm(updates, axis=1) * np.linalg.norm(gradients, axis=1)
    keep = norms > 0
    cosines = -np.sum(updates * gradients, axis=1)[keep] / norms[keep]
    return float(1.0 - np.mean(cosines))


def is_non_increasing(values) -> bool:
    """Whether every value is ``<=`` the one before it."""
    values = np.asarray(values)
    return bool(np.all(np.diff(values) <= 0))


def best_per(table: pd.DataFrame, group: str, order: Sequence[str]) -> pd.DataFrame:
    """For each value of ``group``, the row that sorts first by the ``order`` columns, indexed by ``group``.

    Missing values sort last (a run that never reached the tolerance loses to one that did); the
    following columns break ties, then the table's own row order.
    """
    ranked = table.sort_values(list(order), na_position="last", kind="stable")
    return ranked.groupby(group, sort=False).head(1).set_index(group)


# --------------------------------------------------------------------------------------------
# The training loop: batch size as configuration, and what it records
# --------------------------------------------------------------------------------------------
def batches(x: np.ndarray, y: np.ndarray, batch_size: int, *, seed: int):
    """An endless stream of batches for ``fit(..., steps_per_epoch=steps)``.

    ``batch_size == len(x)``: every batch is the whole data set (gradient descent). Smaller: the
    examples are reshuffled every epoch and cut into batches (stochastic for 1, minibatch for
    ``1 ≪ M ≪ N``). See :func:`keras_repro.data.batches.endless_batches` (tf.data or NumPy).
    """
    from keras_repro.data.batches import endless_batches

    return endless_batches(x, y, batch_size, seed=seed)


def flat_weights(model: keras.Model) -> np.ndarray:
    """All trainable weights of ``model`` in one float64 vector (in ``trainable_weights`` order)."""
    return np.concatenate([ops.convert_to_numpy(w.value).ravel() for w in model.trainable_weights]).astype("float64")


class WeightRecorder(keras.callbacks.Callback):
    """Records the flattened trainable weights before training and after every step, and the
    per-step loss Keras reports; stops training after ``max_steps`` steps if given."""

    reads_only_self_model = True  # the runtime may train a twin of the model (Runtime._twin_for)

    def __init__(self, max_steps: int | None = None):
        super().__init__()
        self.max_steps = max_steps
        self.weights: list[np.ndarray] = []

    def on_train_begin(self, logs=None):
        self.weights = [flat_weights(self.model)]

    def on_train_batch_end(self, batch, logs=None):
        self.weights.append(flat_weights(self.model))
        if self.max_steps is not None and len(self.weights) > self.max_steps:
            self.model.stop_training = True

    @property
    def trajectory(self) -> np.ndarray:
        """Shape ``(steps + 1, parameters)``."""
        return np.stack(self.weights)


class StepTimer(keras.callbacks.Callback):
    """Wall-clock seconds of every training step (the step's result is fetched before the clock stops)."""

    reads_only_self_model = True  # the runtime may train a twin of the model (Runtime._twin_for)

    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []
        self._start = 0.0

    def on_train_batch_begin(self, batch, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if logs and "loss" in logs:
            float(ops.convert_to_numpy(logs["loss"]))  # wait for the step to finish
        self.seconds.append(time.perf_counter() - self._start)


class LossPerStep(keras.callbacks.Callback):
    """The loss of every epoch; with ``steps_per_epoch=1`` that is the loss before each step.

    Stops training at the first loss that is not finite or, if ``stop_below`` is given, ``<= stop_below``.
    """

    reads_only_self_model = True  # the runtime may train a twin of the model (Runtime._twin_for)

    def __init__(self, stop_below: float | None = None):
        super().__init__()
        self.stop_below = stop_below
        self.losses: list[float] = []

    def on_epoch_end(self, epoch, logs=None):
        loss = float(logs["loss"])
        self.losses.append(loss)
        if not np.isfinite(loss) or (self.stop_below is not None and loss <= self.stop_below):
            self.model.stop_training = True


