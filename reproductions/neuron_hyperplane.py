"""A step neuron separates space by the hyperplane w·x + b = 0 and fires on the side w points to.

Claim C1.1. A Keras ``Dense(1, activation=heaviside)`` neuron gets random weights ``w, b`` in several
dimensions; on many random points its output is compared with the geometric side of the hyperplane,
computed independently as the sign of the signed distance ``(w·x + b)/|w|`` along the normal ``w``.
Points are also placed exactly on the hyperplane's two sides by stepping ``±ε`` along ``w`` from a
point of the plane, which checks that the neuron outputs 1 on the side ``w`` points to.

Command: ``repro run neuron_hyperplane``
"""
from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd

from keras_repro.activations import heaviside
from keras_repro.suite.claims import Claim, all_of, equals, greater_than
from keras_repro.suite.config import ReproConfig, setting
from keras_repro.suite.registry import reproduction


@dataclass
class Config(ReproConfig):
    dimensions: tuple[int, ...] = setting((2, 3, 10, 100), "input dimensions of the random neurons", ge=1)
    neurons_per_dimension: int = setting(20, "random neurons (w, b) per dimension", ge=1)
    points_per_neuron: int = setting(5000, "random points each neuron is checked on", ge=1)
    PROFILES = {"smoke": {"dimensions": (2, 10), "neurons_per_dimension": 3, "points_per_neuron": 500},
                "full": {"neurons_per_dimension": 100, "points_per_neuron": 20000}}
    DRY_RUN = {"neurons_per_dimension": 2, "points_per_neuron": 200}  # --dry-run: budgets only


CLAIMS = [
    Claim("C1.1", "A step neuron f(w·x + b) separates space by the hyperplane w·x + b = 0, normal to w, and "
                  "outputs 1 on the side w points to.",
          rule=all_of(equals("mismatches", 0), equals("normal_side_mismatches", 0), greater_than("points", 0))),
]


def step_neuron(w: np.ndarray, b: float) -> keras.Model:
    """One Keras neuron with hand-set weights and the notes' step activation."""
    inputs = keras.Input((len(w),), name="x")
    layer = keras.layers.Dense(1, activation=heaviside, name="neuron")
    return set_neuron(keras.Model(inputs, layer(inputs), name="step_neuron"), w, b)


def set_neuron(model: keras.Model, w: np.ndarray, b: float) -> keras.Model:
    """``model`` (a :func:`step_neuron`) with the weights ``w`` and bias ``b``."""
    model.get_layer("neuron").set_weights([w.reshape(-1, 1).astype("float32"), np.array([b], dtype="float32")])
    return model


def side_of_hyperplane(x: np.ndarray, w: np.ndarray, b: float) -> np.ndarray:
    """1 where x lies on the side of {w·x + b = 0} that the normal w points to, else 0 (float64 geometry)."""
    signed_distance = (x.astype(np.float64) @ w.astype(np.float64) + b) / np.linalg.norm(w)
    return (signed_distance > 0).astype(int)


@reproduction("neuron_hyperplane", title="A step neuron is a hyperplane classifier", claims=CLAIMS, config=Config)
def run(ctx):
    cfg = ctx.config
    rows = []
    for dim in cfg.dimensions:
        # One model per dimension, given each neuron's weights in turn, each set of points one batch: a new
        # model traces its own prediction function, and each predict() builds a dataset (most of this
        # reproduction's time was spent on both).
        neuron = None
        for k in range(cfg.neurons_per_dimension):
            rng = ctx.rng(dim, k)
            w = rng.normal(size=dim).astype(np.float32)
            b = float(rng.normal())
            x = rng.normal(scale=3.0, size=(cfg.points_per_neuron, dim)).astype(np.float32)
            # Keep points whose float32 pre-activation sign is unambiguous: rounding may flip w·x+b ≈ 0.
            margin = np.abs(x.astype(np.float64) @ w + b) / np.linalg.norm(w)
            x = x[margin > 1e-4]
            neuron = step_neuron(w, b) if neuron is None else set_neuron(neuron, w, b)
            fired = np.asarray(neuron.predict_on_batch(x)).ravel().astype(int)
            mismatches = int(np.sum(fired != side_of_hyperplane(x, w, b)))
            # Points on the plane, nudged ±eps along the normal w: the +w side must fire, the other not.
            on_plane = x[:200] - ((x[:200] @ w + b) / (w @ w))[:, None] * w[None, :]
            eps = 1e-2 * w / np.linalg.norm(w)
            plus = np.asarray(neuron.predict_on_batch(on_plane + eps)).ravel()
            minus = np.asarray(neuron.predict_on_batch(on_plane - eps)).ravel()
            normal_mismatches = int(np.sum(plus != 1) + np.sum(minus != 0))
            rows.append({"dimension": dim, "neuron": k, "points": len(x), "mismatches": mismatches,
                         "normal_side_points": 2 * len(on_plane), "normal_side_mismatches": normal_mismatches,
                         "fraction_firing": float(fired.mean())})
        ctx.progress(f"dimension {dim}: {cfg.neurons_per_dimension} random neurons checked")
    table = pd.DataFrame(rows)
    summary = table.groupby("dimension", as_index=False).agg(
        neurons=("neuron", "count"), points=("points", "sum"), mismatches=("mismatches", "sum"),
        normal_side_mismatches=("normal_side_mismatches", "sum"))
    ctx.table("agreement_by_dimension", summary, keys=["dimension"])
    ctx.table("agreement_per_neuron", table, keys=["dimension", "neuron"])
    ctx.measure("C1.1", mismatches=int(table["mismatches"].sum()),
                normal_side_mismatches=int(table["normal_side_mismatches"].sum()), points=int(table["points"].sum()))
    ctx.figure("hyperplane_2d", _plot_2d(ctx))


def _plot_2d(ctx):
    import matplotlib.pyplot as plt

    rng = ctx.rng(999)
    w, b = rng.normal(size=2).astype(np.float32), float(rng.normal())
    x = rng.uniform(-3, 3, size=(1500, 2)).astype(np.float32)
    fired = step_neuron(w, b).predict(x, verbose=0).ravel()
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(x[:, 0], x[:, 1], c=fired, cmap="coolwarm", s=6)
    t = np.linspace(-3, 3, 2)
    # w0·x0 + w1·x1 + b = 0  →  x1 = -(w0·x0 + b)/w1
    ax.plot(t, -(w[0] * t + b) / w[1], "k-", label="w·x + b = 0")
    p0 = -b * w / (w @ w)
    ax.annotate("", xy=p0 + w / np.linalg.norm(w), xytext=p0, arrowprops=dict(arrowstyle="->", lw=2))
    ax.text(*(p0 + 1.1 * w / np.linalg.norm(w)), "w", fontsize=12)
    ax.set(xlim=(-3, 3), ylim=(-3, 3), aspect="equal", title="step neuron: red = 1, blue = 0")
    ax.legend(loc="lower left")
    return fig
