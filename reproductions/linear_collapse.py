"""Stacking layers with linear activation gains nothing: the network is one linear map.

Claim C1.7. A deep network of ``Dense`` layers with linear activation is trained on a non-linear
regression problem. Its layers' weights are composed into a single ``W, b``
(``W = W1·W2·…·WL``, ``b = (…(b1·W2 + b2)·W3 + …)·WL + bL``), whose outputs are compared with the
network's. Its best training loss is compared with ordinary least squares (``numpy.linalg.lstsq``),
the optimum over all linear maps: the deep linear net cannot beat it. A ReLU network of the same
shape is trained as the contrast (non-linearity is what buys expressiveness).

Command: ``repro run linear_collapse``
"""
from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd

from keras_repro.models import mlp
from keras_repro.suite.claims import Claim, all_of, at_most, greater_than
from keras_repro.suite.config import ReproConfig, setting
from keras_repro.suite.registry import reproduction
from keras_repro.suite.runtime import full_batch_fit


@dataclass
class Config(ReproConfig):
    samples: int = setting(1000, "regression examples", ge=1)
    features: int = setting(5, "input features", ge=1)
    hidden: tuple[int, ...] = setting((32, 32, 32), "widths of the deep networks' hidden layers", ge=1)
    steps: int = setting(3000, "full-batch Adam steps", ge=1)
    learning_rate: float = setting(0.003, "Adam learning rate", gt=0)
    PROFILES = {"smoke": {"samples": 200, "steps": 100}, "full": {"samples": 5000, "steps": 10000}}
    DRY_RUN = {"steps": 20}  # --dry-run: budgets only


CLAIMS = [
    Claim("C1.7", "Stacking layers with linear activation gains nothing: the network collapses to one linear map "
                  "(linear regression).",
          rule=all_of(at_most("composed_output_relative_error", 1e-5),
                      greater_than("deep_linear_mse_over_ols_mse", 1 - 1e-3))),
]


def nonlinear_regression(n: int, d: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x = rng.normal(size=(n, d))
    y = np.sin(2 * x[:, 0]) + x[:, 1] ** 2 + 0.5 * x[:, 2] * x[:, 3] + 0.3 * x[:, 4] + 0.1 * rng.normal(size=n)
    return x.astype(np.float32), y.astype(np.float32).reshape(-1, 1)


def compose_linear_layers(dense_layers) -> tuple[np.ndarray, np.ndarray]:
    """One (W, b) equal to a stack of linear Dense layers, in float64."""
    w = np.eye(dense_layers[0].kernel.shape[0])
    b = np.zeros(dense_layers[0].kernel.shape[0])
    for layer in dense_layers:
        kernel, bias = (np.asarray(v, dtype=np.float64) for v in layer.get_weights())
        w, b = w @ kernel, b @ kernel + bias
    return w, b


@reproduction("linear_collapse", title="A deep linear network is a single linear map: no better than least squares",
              claims=CLAIMS, config=Config)
def run(ctx):
    cfg = ctx.config
    x, y = nonlinear_regression(cfg.samples, cfg.features, ctx.rng(0))
    design = np.hstack([x, np.ones((len(x), 1))]).astype(np.float64)
    coef, *_ = np.linalg.lstsq(design, y.astype(np.float64), rcond=None)
    ols_mse = float(np.mean((design @ coef - y) ** 2))

    rows, curves = [], {}
    for activation in ("linear", "relu"):
        with ctx.scope():
            model = mlp(cfg.features, cfg.hidden, 1, activation=activation, name=f"deep_{activation}")
            model.compile(keras.optimizers.Adam(cfg.learning_rate), "mse")
        history = full_batch_fit(ctx.runtime, model, x, y, cfg.steps, label=f"deep {activation}")
        curves[activation] = history.history["loss"]
        out = np.asarray(model.predict(x, verbose=0, batch_size=len(x)), dtype=np.float64)
        row = {"model": f"deep_{activation}", "hidden": "-".join(map(str, cfg.hidden)),
               "parameters": model.count_params(), "train_mse": float(np.mean((out - y) ** 2)),
               "best_epoch_mse": float(min(history.history["loss"]))}
        if activation == "linear":
            w, b = compose_linear_layers([l for l in model.layers if isinstance(l, keras.layers.Dense)])
            composed = x.astype(np.float64) @ w + b
            rel = float(np.max(np.abs(composed - out)) / np.max(np.abs(out)))
            row["composed_output_relative_error"] = rel
            coefficient_gap = float(np.max(np.abs(np.concatenate([w.ravel(), b]) - coef.ravel())))
            row["max_coefficient_gap_to_ols"] = coefficient_gap
        rows.append(row)
    rows.append({"model": "ordinary_least_squares", "hidden": "", "parameters": cfg.features + 1,
                 "train_mse": ols_mse, "best_epoch_mse": ols_mse})
    table = pd.DataFrame(rows)
    ctx.table("models", table, keys=["model"])
    linear = table.set_index("model").loc["deep_linear"]
    deep_mse = min(float(linear["train_mse"]), float(linear["best_epoch_mse"]))
    ctx.measure("C1.7", composed_output_relative_error=float(linear["composed_output_relative_error"]),
                deep_linear_mse_over_ols_mse=deep_mse / ols_mse, ols_mse=ols_mse,
                deep_relu_mse=float(table.set_index("model").loc["deep_relu", "train_mse"]))

    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for activation, losses in curves.items():
        ax.plot(np.arange(1, len(losses) + 1) * min(100, cfg.steps), losses, label=f"deep {activation} net")
    ax.axhline(ols_mse, color="k", ls="--", label="least squares (best linear map)")
    ax.set(yscale="log", xlabel="full-batch steps", ylabel="training MSE", title="Deep linear net vs least squares")
    ax.legend()
    ctx.figure("training_loss", fig)
