"""Networks of neurons build non-linear decision surfaces, even disconnected regions.

Claim C1.6. The positive class is two separate blobs; everything around them is negative. A small
ReLU MLP is trained on it; its predicted positive region is evaluated on a fine grid and its
connected components are counted (scipy.ndimage.label, 4-connectivity). A single neuron (logistic
regression) on the same data is the contrast: one half-plane, at most one component.

Command: ``repro run decision_regions``
"""
from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd

from keras_repro.models import mlp
from keras_repro.suite.claims import Claim, all_of, at_least
from keras_repro.suite.config import ReproConfig, setting
from keras_repro.suite.registry import reproduction


@dataclass
class Config(ReproConfig):
    samples: int = setting(4000, "training points (and half as many test points)", ge=2)
    hidden: tuple[int, ...] = setting((32, 32), "ReLU widths of the MLP's hidden layers", ge=1)
    epochs: int = setting(60, "training epochs of the MLP and of the single neuron", ge=1)
    batch_size: int = setting(64, "minibatch size", ge=1)
    learning_rate: float = setting(0.01, "Adam learning rate", gt=0)
    grid: int = setting(200, "points per side of the grid the predicted regions are evaluated on", ge=2)
    PROFILES = {"smoke": {"samples": 600, "epochs": 3, "grid": 60}, "full": {"samples": 20000, "epochs": 100}}
    DRY_RUN = {"epochs": 1, "grid": 60}  # --dry-run: budgets only


CLAIMS = [
    Claim("C1.6", "Networks of neurons build non-linear decision surfaces, even disconnected regions.",
          rule=all_of(at_least("test_accuracy", 0.99), at_least("positive_components", 2))),
]

CENTRES = np.array([[-2.0, 0.0], [2.0, 0.0]])


def two_blobs(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Points uniform in [-4, 4]²: positive within radius 1 of either centre, negative beyond 1.5."""
    x = rng.uniform(-4, 4, size=(n * 3, 2))
    dist = np.min(np.linalg.norm(x[:, None, :] - CENTRES[None], axis=-1), axis=1)
    keep = (dist < 1.0) | (dist > 1.5)  # a margin band is left empty, so 100% is attainable
    x, dist = x[keep][:n], dist[keep][:n]
    return x.astype(np.float32), (dist < 1.0).astype(np.float32)


def count_components(mask: np.ndarray) -> int:
    from scipy import ndimage

    return int(ndimage.label(mask)[1])


@reproduction("decision_regions", title="A small network carves two disconnected positive regions",
              claims=CLAIMS, config=Config)
def run(ctx):
    import matplotlib.pyplot as plt

    cfg = ctx.config
    x_train, y_train = two_blobs(cfg.samples, ctx.rng(0))
    x_test, y_test = two_blobs(cfg.samples // 2, ctx.rng(1))
    ctx.progress(f"{len(x_train)} training points, {int(y_train.sum())} positive")
    grid_axis = np.linspace(-4, 4, cfg.grid, dtype=np.float32)
    gx, gy = np.meshgrid(grid_axis, grid_axis)
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1)

    rows, masks = [], {}
    for label, hidden in (("mlp", cfg.hidden), ("single_neuron", ())):
        with ctx.scope():
            model = mlp(2, hidden, 1, activation="relu", output_activation="sigmoid", name=label)
            model.compile(keras.optimizers.Adam(cfg.learning_rate), "binary_crossentropy", metrics=["accuracy"])
        ctx.fit(model, x_train, y_train, epochs=cfg.epochs, batch_size=cfg.batch_size, label=label)
        test_acc = float(model.evaluate(x_test, y_test, verbose=0)[1])
        mask = (model.predict(grid, verbose=0, batch_size=8192).reshape(gx.shape) > 0.5)
        masks[label] = mask
        rows.append({"model": label, "hidden": "-".join(map(str, hidden)) or "none",
                     "parameters": model.count_params(), "test_accuracy": test_acc,
                     "positive_components": count_components(mask), "positive_area_fraction": float(mask.mean())})
        if label == "mlp":
            ctx.save_model("two_blob_mlp", model)
    table = pd.DataFrame(rows)
    ctx.table("models", table, keys=["model"])
    net = table.set_index("model").loc["mlp"]
    ctx.measure("C1.6", test_accuracy=float(net["test_accuracy"]),
                positive_components=int(net["positive_components"]))

    fig, axes = plt.subplots(1, 2, figsize=(10, 5))
    for ax, (label, mask) in zip(axes, masks.items()):
        ax.contourf(gx, gy, mask, levels=[-0.5, 0.5, 1.5], colors=["#dde6f5", "#f5c6c6"])
        sub = slice(None, 800)
        ax.scatter(x_test[sub, 0], x_test[sub, 1], c=y_test[sub], cmap="coolwarm", s=4)
        row = table.set_index("model").loc[label]
        ax.set(title=f"{label}: acc {row['test_accuracy']:.3f}, {row['positive_components']} positive region(s)",
               aspect="equal")
    ctx.figure("decision_regions", fig)
