"""Boolean functions as neurons: truth tables, step neurons trained through a sigmoid surrogate,
and the linear-programming certificate of (non-)separability."""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import keras
import numpy as np

from keras_repro.activations import heaviside
from keras_repro.suite.runtime import full_batch_fit

TRUTH_TABLES = {
    "NOT": (lambda a: 1 - a, 1),
    "AND": (lambda a, b: a & b, 2),
    "OR": (lambda a, b: a | b, 2),
    "XOR": (lambda a, b: a ^ b, 2),
}


def truth_table(gate: str) -> tuple[np.ndarray, np.ndarray]:
    """All binary inputs of ``gate`` (float32, one row each) and its outputs (int)."""
    fn, arity = TRUTH_TABLES[gate]
    x = np.array(list(itertools.product([0, 1], repeat=arity)), dtype=np.int64)
    y = np.array([fn(*row) for row in x], dtype=np.int64)
    return x.astype(np.float32), y


def step_layer(weights: np.ndarray, bias: np.ndarray, name: str) -> keras.layers.Dense:
    """A ``Dense`` layer of step neurons with hand-set weights (``weights``: inputs × units)."""
    weights = np.asarray(weights, dtype=np.float32)
    return keras.layers.Dense(weights.shape[1], activation=heaviside, name=name,
                              kernel_initializer=keras.initializers.Constant(weights),
                              bias_initializer=keras.initializers.Constant(np.asarray(bias, dtype=np.float32)))


def step_model(layers_weights: list[tuple[np.ndarray, np.ndarray]], input_dim: int, name: str) -> keras.Model:
    """A stack of step-neuron layers from ``[(W, b), ...]``; every layer hand-wired."""
    inputs = keras.Input((input_dim,), name=f"{name}_x")
    x = inputs
    for i, (w, b) in enumerate(layers_weights, start=1):
        x = step_layer(w, b, f"{name}_layer{i}")(x)
    return keras.Model(inputs, x, name=name)


def exact_accuracy(model: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    predicted = keras.ops.convert_to_numpy(model(x, training=False)).reshape(len(y))
    return float(np.mean(predicted.round().astype(int) == y))


@dataclass
class SeparabilityCertificate:
    """Outcome of the LP ``find w, b with s_i (w·x_i + b) ≥ 1`` (s_i = ±1), plus a Farkas witness.

    ``farkas`` is non-negative ``λ`` with ``Σ λ_i s_i x_i = 0``, ``Σ λ_i s_i = 0`` and ``Σ λ_i = 1``: it
    proves infeasibility, because then ``Σ λ_i s_i (w·x_i + b) = 0`` cannot be ``≥ Σ λ_i = 1``.
    """

    separable: bool
    lp_status: int
    farkas: np.ndarray | None
    farkas_residual: float | None


def separability_certificate(x: np.ndarray, y: np.ndarray) -> SeparabilityCertificate:
    from scipy.optimize import linprog

    x = np.asarray(x, dtype=np.float64)
    s = np.where(np.asarray(y) > 0, 1.0, -1.0)
    n, d = x.shape
    # Primal: variables (w, b); constraints -s_i (w·x_i + b) <= -1.
    a_ub = -s[:, None] * np.hstack([x, np.ones((n, 1))])
    primal = linprog(np.zeros(d + 1), A_ub=a_ub, b_ub=-np.ones(n), bounds=[(None, None)] * (d + 1), method="highs")
    if primal.status == 0:
        return SeparabilityCertificate(True, primal.status, None, None)
    # Farkas: λ >= 0, Σ λ_i s_i [x_i, 1] = 0, Σ λ_i = 1.
    a_eq = np.vstack([(s[:, None] * np.hstack([x, np.ones((n, 1))])).T, np.ones((1, n))])
    b_eq = np.concatenate([np.zeros(d + 1), [1.0]])
    dual = linprog(np.zeros(n), A_eq=a_eq, b_eq=b_eq, bounds=[(0, None)] * n, method="highs")
    lam = dual.x if dual.status == 0 else None
    residual = float(np.abs(a_eq @ lam - b_eq).max()) if lam is not None else None
    return SeparabilityCertificate(False, primal.status, lam, residual)


def train_sigmoid_neuron(runtime, x: np.ndarray, y: np.ndarray, *, steps: int, learning_rate: float, seed: int,
                         label: str = "") -> keras.Model:
    """Fit one sigmoid neuron by full-batch Adam on BCE; return it (its weights feed a step neuron)."""
    with runtime.scope():
        inputs = keras.Input((x.shape[1],))
        outputs = keras.layers.Dense(1, activation="sigmoid", name="neuron",
                                     kernel_initializer=keras.initializers.RandomNormal(stddev=1.0, seed=seed))(inputs)
        model = keras.Model(inputs, outputs)
        model.compile(keras.optimizers.Adam(learning_rate), "binary_crossentropy")
    full_batch_fit(runtime, model, x, y.astype(np.float32), steps, label=label, progress=False)
    return model
