"""Dimensionality reduction: an encoder–decoder through a bottleneck, against PCA.

Claim C3.3. The notes: train an encoder–decoder to reproduce its input through a narrow layer, with
MSE, or with per-pixel BCE when the intensities are in [0, 1].

On the embedded digits (8×8 = 64 pixels, scaled to [0, 1]; held-out test split), for each
``bottleneck`` size k:

- PCA with k components (scikit-learn, fitted on the training images): the best linear
  reconstruction through k numbers;
- a linear autoencoder ``Dense(k) → Dense(64)`` (no activations) trained with MSE: it can do no better
  than PCA, and once trained it should do as well (Baldi & Hornik 1989: its optimum spans the same
  subspace). It is trained to convergence with ``linear_steps`` full-batch Adam steps; the table shows
  its training MSE over PCA's (1 is the optimum) so that convergence can be checked;
- a non-linear autoencoder ``64 → hidden → k → hidden → 64`` (ReLU, sigmoid output) trained once with
  MSE and once with per-pixel BCE.

Every model is scored by the same number: the test images' reconstruction MSE per pixel. Reproduced
when the error falls with the bottleneck size for both losses (never rises from one k to the next)
and the linear autoencoder's error is within 5% of PCA's at every k.

Command: ``repro run autoencoder_pca``
"""
from __future__ import annotations

from dataclasses import dataclass

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.decomposition import PCA

from keras_repro.data import load_arrays
from keras_repro.measures.descent import is_non_increasing
from keras_repro.suite.claims import Claim, all_of, at_least, at_most, is_true
from keras_repro.suite.config import ConfigError, ReproConfig, setting
from keras_repro.suite.registry import reproduction
from keras_repro.suite.runtime import full_batch_fit


@dataclass
class Config(ReproConfig):
    bottlenecks: tuple[int, ...] = setting((2, 4, 8, 16, 32), "bottleneck sizes k, increasing (the digits have 64 "
                                                               "pixels)", ge=1, le=64)
    hidden: int = setting(128, "units of the non-linear autoencoders' hidden layers", ge=1)
    epochs: int = setting(150, "training epochs of the non-linear autoencoders", ge=1)
    batch_size: int = setting(128, "minibatch size of the non-linear autoencoders", ge=1)
    learning_rate: float = setting(3e-3, "Adam learning rate of the non-linear autoencoders", gt=0)
    linear_steps: int = setting(3000, "full-batch Adam steps of the linear autoencoder", ge=1)
    linear_learning_rate: float = setting(1e-2, "Adam learning rate of the linear autoencoder", gt=0)
    PROFILES = {"smoke": {"bottlenecks": (2, 8), "epochs": 3, "linear_steps": 50},
                "full": {"epochs": 500, "linear_steps": 20000}}
    DRY_RUN = {"epochs": 1, "linear_steps": 20}  # --dry-run: budgets only

    def validate(self):
        if len(self.bottlenecks) < 2 or list(self.bottlenecks) != sorted(set(self.bottlenecks)):
            raise ConfigError(f"bottlenecks: at least two increasing sizes in 1..64. Received: {self.bottlenecks}")


CLAIMS = [
    Claim("C3.3", "An encoder-decoder trained with MSE (or per-pixel BCE for intensities in [0, 1]) reduces "
                  "dimension: its reconstruction error falls with the bottleneck size; a linear one matches PCA.",
          rule=all_of(is_true("mse_error_falls_with_k"), is_true("bce_error_falls_with_k"),
                      at_most("linear_ae_over_pca_worst", 1.05), at_least("linear_ae_over_pca_best", 0.95))),
]


def linear_autoencoder(k: int) -> keras.Model:
    inputs = keras.Input((64,), name="pixels")
    code = keras.layers.Dense(k, name="encoder")(inputs)
    return keras.Model(inputs, keras.layers.Dense(64, name="decoder")(code), name=f"linear_ae_{k}")


def autoencoder(k: int, hidden: int) -> keras.Model:
    inputs = keras.Input((64,), name="pixels")
    x = keras.layers.Dense(hidden, activation="relu", name="encoder_hidden")(inputs)
    code = keras.layers.Dense(k, name="code")(x)
    x = keras.layers.Dense(hidden, activation="relu", name="decoder_hidden")(code)
    return keras.Model(inputs, keras.layers.Dense(64, activation="sigmoid", name="pixels_out")(x), name=f"ae_{k}")


def pca_mse(k: int, x_train: np.ndarray, x_test: np.ndarray) -> float:
    """Reconstruction MSE per pixel of ``x_test`` through the first k principal components of ``x_train``."""
    pca = PCA(n_components=k, svd_solver="full").fit(x_train)
    return float(np.mean((pca.inverse_transform(pca.transform(x_test)) - x_test) ** 2))

STEPS_PER_EPOCH = 25  # full-batch steps per Keras epoch (fewer epochs: less per-epoch overhead)


def reconstruction_mse(model: keras.Model, x: np.ndarray) -> float:
    return float(np.mean((keras.ops.convert_to_numpy(model.predict(x, batch_size=512, verbose=0)) - x) ** 2))


def plot_errors(df: pd.DataFrame):
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for model, style in (("pca", "k-o"), ("linear_ae_mse", "C0--s"), ("ae_mse", "C1-^"), ("ae_bce", "C2-v")):
        part = df[df["model"] == model]
        hollow = "none" if model == "linear_ae_mse" else None  # drawn over PCA's line when they agree
        ax.plot(part["bottleneck"], part["test_mse"], style, label=model, mfc=hollow)
    ax.set(xscale="log", yscale="log", xlabel="bottleneck size k", ylabel="test reconstruction MSE per pixel",
           title="Digits (8×8) through a k-number bottleneck")
    ax.set_xticks(sorted(df["bottleneck"].unique()), [str(k) for k in sorted(df["bottleneck"].unique())])
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


@reproduction("autoencoder_pca", title="Autoencoders through a bottleneck vs PCA (MSE and per-pixel BCE)",
              claims=CLAIMS, config=Config)
def run(ctx):
    cfg = ctx.config
    x_train, _, x_test, _ = load_arrays("digits", seed=ctx.seed).features()
    ctx.progress(f"digits: {len(x_train)} training, {len(x_test)} test images of 64 pixels in [0, 1]")
    rows = []
    for k in cfg.bottlenecks:
        rows.append({"bottleneck": k, "model": "pca", "loss": "-", "test_mse": pca_mse(k, x_train, x_test),
                     "train_mse": pca_mse(k, x_train, x_train)})
        ctx.reseed(k)
        with ctx.scope():
            linear = linear_autoencoder(k)
            linear.compile(keras.optimizers.Adam(cfg.linear_learning_rate), "mse")
        full_batch_fit(ctx.runtime, linear, x_train, x_train, cfg.linear_steps, chunk=STEPS_PER_EPOCH,
                       label=f"linear autoencoder k={k}", progress=False)
        rows.append({"bottleneck": k, "model": "linear_ae_mse", "loss": "mse",
                     "test_mse": reconstruction_mse(linear, x_test), "train_mse": reconstruction_mse(linear, x_train)})
        for loss in ("mse", "binary_crossentropy"):
            ctx.reseed(k, 1)  # the same initial weights for both losses
            with ctx.scope():
                model = autoencoder(k, cfg.hidden)
                model.compile(keras.optimizers.Adam(cfg.learning_rate), loss)
            ctx.fit(model, x_train, x_train, batch_size=cfg.batch_size, epochs=cfg.epochs, shuffle=True,
                    label=f"autoencoder k={k}, {loss}", progress=False)
            name = "ae_mse" if loss == "mse" else "ae_bce"
            rows.append({"bottleneck": k, "model": name, "loss": loss, "test_mse": reconstruction_mse(model, x_test),
                         "train_mse": reconstruction_mse(model, x_train)})
        ctx.progress("k=%d: test MSE  PCA %.5f, linear AE %.5f, AE (MSE) %.5f, AE (BCE) %.5f"
                     % (k, *[r["test_mse"] for r in rows[-4:]]))
    df = pd.DataFrame(rows)
    pca = df[df["model"] == "pca"].set_index("bottleneck")["test_mse"]
    pca_train = df[df["model"] == "pca"].set_index("bottleneck")["train_mse"]
    df["over_pca"] = df["test_mse"] / df["bottleneck"].map(pca)
    df["train_over_pca"] = df["train_mse"] / df["bottleneck"].map(pca_train)
    ctx.table("reconstruction", df, keys=["bottleneck", "model"])
    ctx.figure("reconstruction_vs_bottleneck", plot_errors(df))

    def errors(model):
        return df[df["model"] == model].sort_values("bottleneck")["test_mse"].tolist()

    linear_ratio = df[df["model"] == "linear_ae_mse"]["over_pca"]
    ctx.measure("C3.3", mse_error_falls_with_k=is_non_increasing(errors("ae_mse")),
                bce_error_falls_with_k=is_non_increasing(errors("ae_bce")),
                linear_ae_over_pca_worst=float(linear_ratio.max()), linear_ae_over_pca_best=float(linear_ratio.min()),
                linear_ae_train_over_pca_worst=float(df[df["model"] == "linear_ae_mse"]["train_over_pca"].max()),
                **{f"ae_mse_over_pca_k{k}": float(r) for k, r in
                   zip(cfg.bottlenecks, df[df["model"] == "ae_mse"]["over_pca"])})
