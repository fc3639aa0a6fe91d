"""L1 regularisation (lasso) selects features; L2 (ridge) does not.

Claim C6.3. Synthetic regression: ``n`` examples of ``k`` informative and ``m`` noise features
(standard normal), ``y = X_informative · w* + ε`` with ``|w*| ∈ [1, 2]`` of random sign and
``ε ~ N(0, noise_std²)``. A Keras linear model ``Dense(1)`` is trained on the mean squared error
with no penalty, an L2 kernel penalty and an L1 kernel penalty of the same coefficient λ.

The coefficient is set from the lasso's theory, not from a run: the lasso zeroes noise feature
``j`` when ``|X_jᵀ r| / n < α`` (``α = λ/2`` in scikit-learn's scaling of the same objective), and
the "universal" level ``σ·sqrt(2 ln m / n)`` bounds the noise correlations with high probability:
0.069 for the defaults, so ``λ = 0.2`` (``α = 0.1``).

Training is full-batch gradient descent with a cosine-decayed step: a subgradient method does not
land on exact zeros but oscillates around them with an amplitude of about ``step · λ``, which the
decay brings far below the catalog's ``|w| < 1e-3``. scikit-learn's coordinate-descent ``Lasso`` at
the same objective is the reference (shown; its solution has exact zeros).

Command: ``repro run l1_selection``
"""
from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd

from keras_repro.measures.selection import feature_selection
from keras_repro.suite.claims import Claim, all_of, at_least, is_true, less_than
from keras_repro.suite.config import ReproConfig, setting
from keras_repro.suite.registry import reproduction


@dataclass
class Config(ReproConfig):
    n_samples: int = setting(400, "regression examples n", ge=1)
    informative: int = setting(5, "informative features k (|w*| in [1, 2])", ge=1)
    noise_features: int = setting(45, "noise features m (w* = 0)", ge=1)
    noise_std: float = setting(0.5, "standard deviation σ of the target noise", ge=0)
    penalty: float = setting(0.2, "λ in loss = MSE + λ·Σ|w| (L1) or MSE + λ·Σw² (L2)", gt=0)
    learning_rate: float = setting(0.1, "full-batch gradient-descent step, cosine-decayed to 1e-3 of it", gt=0)
    steps: int = setting(2000, "gradient-descent steps", ge=1)
    datasets: int = setting(3, "independently drawn data sets", ge=1)
    zero_tol: float = setting(1e-3, "a weight with |w| below this counts as zero (the catalog's 1e-3)", gt=0)
    PROFILES = {"smoke": {"steps": 100, "datasets": 1}, "full": {"steps": 10000, "datasets": 20}}
    DRY_RUN = {"steps": 20, "datasets": 2}  # --dry-run: budgets only


CLAIMS = [
    Claim("C6.3", "L1 regularisation (lasso) selects features: it sets the weights of uninformative features to "
                  "zero and keeps the informative ones; L2 does not.",
          rule=all_of(at_least("l1_noise_zero_fraction", 0.9), is_true("l1_informative_kept"),
                      less_than("l2_noise_zero_fraction", 0.9)),
          note="'~0' is |w| < 1e-3 (catalog); 'kept' means every informative weight has the true sign and at least "
               "half the true magnitude, in every data set; fractions are pooled over the data sets."),
]


def make_regression(rng: np.random.Generator, cfg: Config) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = rng.normal(size=(cfg.n_samples, cfg.informative + cfg.noise_features)).astype("float32")
    true_w = np.zeros(x.shape[1])
    true_w[:cfg.informative] = rng.uniform(1, 2, cfg.informative) * rng.choice([-1, 1], cfg.informative)
    y = x @ true_w + rng.normal(scale=cfg.noise_std, size=cfg.n_samples)
    return x, y.astype("float32")[:, None], true_w


def linear_model(features: int, penalty: str, strength: float, cfg: Config) -> keras.Model:
    regularizer = {"none": None, "l2": keras.regularizers.L2(strength), "l1": keras.regularizers.L1(strength)}[penalty]
    inputs = keras.Input((features,), name="features")
    outputs = keras.layers.Dense(1, kernel_regularizer=regularizer, name="linear")(inputs)
    model = keras.Model(inputs, outputs, name=f"linear_{penalty}")
    schedule = keras.optimizers.schedules.CosineDecay(cfg.learning_rate, decay_steps=cfg.steps, alpha=1e-3)
    model.compile(keras.optimizers.SGD(schedule), "mse")
    return model


def full_batch(x: np.ndarray, y: np.ndarray, steps: int, chunks: int = 20) -> tuple[np.ndarray, np.ndarray, int]:
    """The data tiled so that ``fit(batch_size=n, shuffle=False)`` does one full-batch step per batch,
    ``steps`` in all over ``chunks`` epochs (fewer epochs, less per-epoch overhead)."""
    per_epoch = -(-steps // chunks)
    return np.tile(x, (per_epoch, 1)), np.tile(y, (per_epoch, 1)), min(chunks, steps)


@reproduction("l1_selection", title="L1 selects features, L2 does not", claims=CLAIMS, config=Config)
def run(ctx):
    from sklearn.linear_model import Lasso

    cfg = ctx.config
    rows, weights = [], []
    for d in range(cfg.datasets):
        x, y, true_w = make_regression(ctx.rng(d), cfg)
        x_steps, y_steps, epochs = full_batch(x, y, cfg.steps)
        for penalty in ("none", "l2", "l1"):
            ctx.reseed(d, 1)
            with ctx.scope():
                model = linear_model(x.shape[1], penalty, cfg.penalty, cfg)
            ctx.fit(model, x_steps, y_steps, batch_size=cfg.n_samples, epochs=epochs, shuffle=False,
                    label=f"data set {d} {penalty}")
            w = keras.ops.convert_to_numpy(model.get_layer("linear").kernel)[:, 0]
            rows.append({"dataset": d, "method": f"keras_{penalty}", **feature_selection(w, true_w, cfg.zero_tol)})
            weights.append({"dataset": d, "method": f"keras_{penalty}", "w": w, "true_w": true_w})
        # Same objective as MSE + λ·Σ|w|, in scikit-learn's scaling (1/2n)·‖r‖² + α·‖w‖₁ with α = λ/2.
        lasso = Lasso(alpha=cfg.penalty / 2, max_iter=100_000, tol=1e-8).fit(x.astype(np.float64), y[:, 0].astype(np.float64))
        rows.append({"dataset": d, "method": "sklearn_lasso", **feature_selection(lasso.coef_, true_w, cfg.zero_tol)})
        keras_l1 = weights[-1]["w"]
        rows[-1]["max_abs_diff_to_keras_l1"] = float(np.abs(lasso.coef_ - keras_l1).max())
    table = pd.DataFrame(rows)
    ctx.table("selection", table, keys=["dataset", "method"])

    n_noise = cfg.noise_features

    def pooled(method):
        part = table[table["method"] == method]
        return float((part["noise_zero_fraction"] * n_noise).sum() / (n_noise * len(part)))

    ctx.measure("C6.3", l1_noise_zero_fraction=pooled("keras_l1"),
                l1_informative_kept=bool(table.loc[table["method"] == "keras_l1", "informative_kept"].all()),
                l2_noise_zero_fraction=pooled("keras_l2"), none_noise_zero_fraction=pooled("keras_none"),
                sklearn_lasso_noise_zero_fraction=pooled("sklearn_lasso"),
                max_abs_diff_keras_l1_vs_sklearn=float(table["max_abs_diff_to_keras_l1"].max()))
    ctx.figure("weights", _plot_weights(weights, cfg))


def _plot_weights(weights: list[dict], cfg: Config):
    import matplotlib.pyplot as plt

    first = [w for w in weights if w["dataset"] == 0]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    idx = np.arange(len(first[0]["true_w"]))
    axes[0].plot(idx, first[0]["true_w"], "k_", ms=12, mew=2, label="true w")
    for k, item in enumerate(first):
        axes[0].plot(idx + 0.2 * (k - 1), item["w"], "o", ms=3, label=item["method"])
    axes[0].axvline(cfg.informative - 0.5, color="gray", ls=":")
    axes[0].set(xlabel="feature (left of the dotted line: informative)", ylabel="weight", title="weights, data set 0")
    axes[0].legend()
    bins = np.logspace(-8, 0, 33)
    for item in first:
        noise = np.abs(item["w"][cfg.informative:])
        axes[1].hist(np.clip(noise, 1e-8, None), bins=bins, alpha=0.6, label=item["method"])
    axes[1].axvline(cfg.zero_tol, color="k", ls="--", lw=1, label=f"|w| = {cfg.zero_tol:g}")
    axes[1].set(xscale="log", xlabel="|w| of noise features (clipped at 1e-8)", ylabel="count",
                title="noise weights")
    axes[1].legend()
    return fig
