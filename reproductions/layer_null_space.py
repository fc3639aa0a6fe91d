"""A layer's weights can move along the null space of its training inputs without changing anything.

Claim C2.4. For a layer ``Y = f(WᵀX)`` (bias folded in as a constant input), adding to any neuron's
weight vector a ``w0`` with ``w0ᵀX = 0`` — an eigenvector of ``XXᵀ`` with eigenvalue 0 — leaves the
layer's output, and so the whole network's, unchanged on every training example, whatever ``f``.

A Keras network ``10 → 16 (tanh) → 32 (relu) → 1`` is trained on few examples whose inputs lie in a
4-dimensional subspace of R¹⁰. Two layers are perturbed, one neuron each, with unit null vectors ×3:
- ``dense1``: its inputs span 4 dimensions (+ bias), so ``XXᵀ`` (11×11) has a 6-dimensional null space;
- ``dense2``: its 16 inputs are hidden activations of only 12 examples, so the null space is ≥ 5-dimensional.
Network outputs are compared on the training set and on points off the training span (random points of
R¹⁰ for ``dense1``; new points of the same subspace for ``dense2``, whose activations leave the span of
the 12 training activations). The invariance is a property of the data, not of the network.

Command: ``repro run layer_null_space``
"""
from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd

from keras_repro.suite.claims import Claim, all_of, greater_than, less_than
from keras_repro.suite.config import ConfigError, ReproConfig, setting
from keras_repro.suite.registry import reproduction
from keras_repro.suite.runtime import full_batch_fit


@dataclass
class Config(ReproConfig):
    examples: int = setting(12, "training examples (few: the layers' inputs then have a null space)", ge=1)
    input_dim: int = setting(10, "input dimension", ge=2)
    subspace_dim: int = setting(4, "dimension of the subspace the training inputs lie in (below input_dim)", ge=1)
    steps: int = setting(500, "full-batch Adam steps", ge=1)
    perturbation_scale: float = setting(3.0, "length of each perturbation w0 (a unit null vector times this)", gt=0)
    PROFILES = {"smoke": {"steps": 50}, "full": {"steps": 2000}}
    DRY_RUN = {"steps": 20}  # --dry-run: budgets only

    def validate(self):
        if self.subspace_dim >= self.input_dim:
            raise ConfigError(f"subspace_dim must be below input_dim (or the inputs have no null space). "
                              f"Received: subspace_dim={self.subspace_dim}, input_dim={self.input_dim}")


CLAIMS = [
    Claim("C2.4", "Adding to a neuron's weights a vector w0 with w0ᵀX = 0 (a null vector of XXᵀ) changes nothing on "
                  "any training example, whatever the activation.",
          rule=all_of(less_than("max_train_change_relative", 1e-5), greater_than("min_off_span_change_relative", 1e-3)),
          note="Relative change = max |Δ output| / max |output| over the set; the off-span change is the smallest "
               "over all perturbations (each must move the outputs)."),
]


def null_vectors(layer_inputs: np.ndarray, rtol: float = 1e-9) -> np.ndarray:
    """Null vectors of XXᵀ for X = [inputs; 1] (features × examples), as columns (last entry: bias)."""
    x = np.hstack([layer_inputs, np.ones((len(layer_inputs), 1))]).T.astype(np.float64)
    eigenvalues, eigenvectors = np.linalg.eigh(x @ x.T)
    return eigenvectors[:, eigenvalues < rtol * eigenvalues.max()]


def relative_change(before: np.ndarray, after: np.ndarray) -> float:
    return float(np.max(np.abs(after - before)) / np.max(np.abs(before)))


@reproduction("layer_null_space", title="Null-space weight perturbations leave training outputs unchanged",
              claims=CLAIMS, config=Config)
def run(ctx):
    cfg = ctx.config
    rng = ctx.rng(0)
    basis = np.linalg.qr(rng.normal(size=(cfg.input_dim, cfg.subspace_dim)))[0]  # orthonormal columns
    x_train = (rng.normal(size=(cfg.examples, cfg.subspace_dim)) @ basis.T).astype(np.float32)
    y_train = np.sin(x_train.sum(axis=1, keepdims=True)).astype(np.float32)
    x_in_span = (rng.normal(size=(200, cfg.subspace_dim)) @ basis.T).astype(np.float32)
    x_off = rng.normal(size=(200, cfg.input_dim)).astype(np.float32)

    with ctx.scope():
        inputs = keras.Input((cfg.input_dim,))
        h1 = keras.layers.Dense(16, activation="tanh", name="dense1")(inputs)
        h2 = keras.layers.Dense(32, activation="relu", name="dense2")(h1)
        out = keras.layers.Dense(1, name="out")(h2)
        model = keras.Model(inputs, out, name="null_space_net")
        model.compile(keras.optimizers.Adam(0.01), "mse")
    full_batch_fit(ctx.runtime, model, x_train, y_train, cfg.steps, label="network")
    ctx.save_model("null_space_net", model)

    def outputs(x):
        return np.asarray(model.predict(x, verbose=0, batch_size=len(x)), dtype=np.float64)

    layer_inputs = {"dense1": x_train,
                    "dense2": np.asarray(keras.Model(model.inputs, model.get_layer("dense1").output)
                                         .predict(x_train, verbose=0), dtype=np.float64)}
    off_span = {"dense1": ("random points of R^10", x_off), "dense2": ("new points of the subspace", x_in_span)}
    base = {"train": outputs(x_train), **{name: outputs(pts) for name, (_, pts) in off_span.items()}}
    rows = []
    for layer_name, inputs_ in layer_inputs.items():
        layer = model.get_layer(layer_name)
        kernel, bias = layer.get_weights()
        nulls = null_vectors(inputs_)
        neuron = int(rng.integers(kernel.shape[1]))
        for j in range(nulls.shape[1]):
            w0 = cfg.perturbation_scale * nulls[:, j]
            k2, b2 = kernel.copy(), bias.copy()
            k2[:, neuron] += w0[:-1].astype(np.float32)
            b2[neuron] += np.float32(w0[-1])
            layer.set_weights([k2, b2])
            desc, pts = off_span[layer_name]
            rows.append({"layer": layer_name, "neuron": neuron, "null_vector": j, "null_space_dimension": nulls.shape[1],
                         "w0_norm": float(np.linalg.norm(w0)),
                         "train_change_relative": relative_change(base["train"], outputs(x_train)),
                         "off_span_points": desc,
                         "off_span_change_relative": relative_change(base[layer_name], outputs(pts))})
            layer.set_weights([kernel, bias])
        ctx.progress(f"{layer_name}: {nulls.shape[1]} null vectors tried on neuron {neuron}")
    table = pd.DataFrame(rows)
    ctx.table("perturbations", table, keys=["layer", "null_vector"])
    ctx.measure("C2.4", max_train_change_relative=float(table["train_change_relative"].max()),
                min_off_span_change_relative=float(table["off_span_change_relative"].min()),
                perturbations=len(table))
