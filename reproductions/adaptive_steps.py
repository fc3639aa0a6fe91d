"""Per-parameter step sizes: Rprop with and without minibatches, RMSprop on badly scaled features.

Claims C4.6, C4.7, with ``keras_repro.optimizers.Rprop`` (iRprop−, as ``torch.optim.Rprop``) and
``keras_repro.optimizers.RMSprop`` (the notes' formula).

- C4.6: a 64-32-10 MLP on scikit-learn's digits, from the same initial weights, trained for the same
  number of steps by full-batch Rprop, minibatch Rprop and minibatch RMSprop (same minibatches). Each
  searches the same learning-rate grid (Rprop's learning rate is its initial step) and is judged at
  its lowest final full-data training loss. Reproduced when full-batch Rprop converges (final loss at
  most 10% of the initial) and minibatch Rprop's final loss is more than twice both others'.
- C4.7: least squares on ``features`` synthetic features whose scales are log-spaced from 1 to 100
  (Hessian condition number about 10⁴), target ``y = Σ x_j/s_j + noise`` so every feature matters
  equally, from ``w = 0``. Gradient descent and RMSprop search the same learning-rate grid (one run
  per rate, all rates in one :func:`descent.sweep`) and are judged by the steps until the excess
  loss stays below ``tolerance`` of its initial value. RMSprop with a constant rate hovers at a
  distance set by its rate, so the tolerance is a practical one (0.1% of the initial excess).
  Reproduced when RMSprop needs at least 3× fewer steps than gradient descent at its best rate.

Command: ``repro run adaptive_steps``
"""
from __future__ import annotations

from dataclasses import dataclass

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from keras_repro.data import load_arrays
from keras_repro.measures import descent, surfaces
from keras_repro.models import mlp
from keras_repro.optimizers import RMSprop, Rprop
from keras_repro.suite.claims import Claim, all_of, at_least, at_most, greater_than
from keras_repro.suite.config import ConfigError, ReproConfig, setting
from keras_repro.suite.registry import reproduction


@dataclass
class Config(ReproConfig):
    hidden: int = setting(32, "C4.6: tanh units of the digits MLP (64-hidden-10)", ge=1)
    steps: int = setting(500, "C4.6: training steps of every run", ge=1)
    minibatch: int = setting(32, "C4.6: minibatch size of minibatch Rprop and RMSprop", ge=1)
    learning_rates: tuple[float, ...] = setting((1e-4, 1e-3, 1e-2, 1e-1),
                                                "C4.6: learning rates each variant searches (Rprop: its initial step)",
                                                gt=0)
    probe_every: int = setting(10, "C4.6: the full-data loss is recorded every this many steps", ge=1)
    features: int = setting(8, "C4.7: features, scales log-spaced from 1 to largest_scale", ge=2)
    examples: int = setting(1000, "C4.7: regression examples (more than features)", ge=1)
    largest_scale: float = setting(100.0, "C4.7: scale of the steepest feature (the flattest has scale 1)", gt=0)
    label_noise: float = setting(0.1, "C4.7: standard deviation of the noise added to the targets", ge=0)
    tolerance: float = setting(1e-3, "C4.7: converged once the excess loss stays below this share of its initial "
                                     "value", gt=0, lt=1)
    lr_low: float = setting(1e-6, "C4.7: smallest learning rate of the log-spaced grid", gt=0)
    lr_high: float = setting(1e-1, "C4.7: largest learning rate of the grid", gt=0)
    lr_count: int = setting(16, "C4.7: learning rates in the grid (one run each, per method)", ge=1)
    max_steps: int = setting(20000, "C4.7: step budget of every run", ge=1)
    PROFILES = {
        "smoke": {"steps": 20, "learning_rates": (1e-3, 1e-2), "probe_every": 5, "lr_count": 4, "max_steps": 300},
        "full": {"steps": 3000, "learning_rates": (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1),
                 "lr_count": 31, "max_steps": 100000, "features": 16},
    }
    DRY_RUN = {"steps": 20, "learning_rates": (1e-3, 1e-2), "lr_count": 3, "max_steps": 50}  # --dry-run: budgets only

    def validate(self):
        if self.lr_low > self.lr_high:
            raise ConfigError(f"lr_low must be at most lr_high. Received: lr_low={self.lr_low:g}, "
                              f"lr_high={self.lr_high:g}")
        if self.examples <= self.features:
            raise ConfigError(f"examples must exceed features (one least-squares minimum). "
                              f"Received: examples={self.examples}, features={self.features}")


CLAIMS = [
    Claim("C4.6", "Rprop: per-parameter steps from the sign of the gradient, grown while the sign holds and shrunk "
                  "when it flips; it works badly with minibatches.",
          rule=all_of(at_most("fullbatch_rprop_loss_ratio", 0.1),
                      greater_than("minibatch_rprop_over_fullbatch_rprop", 2.0),
                      greater_than("minibatch_rprop_over_minibatch_rmsprop", 2.0)),
          note="Loss ratios compare final full-data training losses; fullbatch_rprop_loss_ratio is final/initial."),
    Claim("C4.7", "RMSprop, w_{t+1} = w_t − a·∇f / sqrt(EMA[(∇f)²]), slows down along steep parameters and speeds "
                  "up along flat ones: on badly scaled features it needs far fewer steps than gradient descent.",
          rule=all_of(at_least("feature_scale_ratio", 100.0), at_least("rmsprop_speedup", 3.0))),
]

LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


class Probe(keras.callbacks.Callback):
    """Every ``every`` steps: the full-data training loss and, for Rprop, the geometric-mean step size."""

    reads_only_self_model = True  # the runtime may train a twin of the model (Runtime._twin_for)

    def __init__(self, x, y, every):
        super().__init__()
        self.x, self.y, self.every = x, y, every
        self.rows: list[dict] = []
        self._step = 0

    def measure(self):
        loss = float(keras.ops.convert_to_numpy(LOSS(self.y, self.model(self.x, training=False))))
        row = {"step": self._step, "loss": loss}
        steps = getattr(self.model.optimizer, "step_sizes", None)
        if steps and self._step > 0:  # Rprop's step sizes take the learning rate at the first update
            logs = np.concatenate([np.log(keras.ops.convert_to_numpy(s)).ravel() for s in steps])
            row["mean_log_step"] = float(np.mean(logs))
        self.rows.append(row)

    def on_train_begin(self, logs=None):
        self.measure()

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        if self._step % self.every == 0:
            self.measure()


def train_digits(ctx, data, initial, optimizer, batch_size):
    """Train the digits MLP from ``initial`` for ``steps`` steps; the probe's rows and the test accuracy."""
    x, y, x_test, y_test = data
    cfg = ctx.config
    with ctx.scope():
        model = mlp(x.shape[1], (cfg.hidden,), 10, activation="tanh", name="digits_mlp")
        model.set_weights(initial)
        model.compile(optimizer, LOSS, metrics=["accuracy"])
    probe = Probe(x, y, cfg.probe_every)
    ctx.fit(model, descent.batches(x, y, batch_size, seed=ctx.seed_for(1)), steps_per_epoch=cfg.steps, epochs=1,
            shuffle=False, callbacks=[probe], progress=False)
    if probe.rows[-1]["step"] != cfg.steps:
        probe.measure()
    _, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
    return probe.rows, float(test_accuracy)


def effective_rates(surface, path, steps, learning_rate, rho, epsilon) -> np.ndarray:
    """Geometric mean over ``steps`` updates of RMSprop's ``a/sqrt(EMA[g²] + ε)`` for each parameter."""
    gradients = (path[:steps] - surface.minimum) @ surface.hessian
    mean_square, logs = np.zeros(path.shape[1]), []
    for g in gradients:
        mean_square = rho * mean_square + (1 - rho) * g ** 2
        logs.append(np.log(learning_rate / np.sqrt(mean_square + epsilon)))
    return np.exp(np.mean(logs, axis=0))


def badly_scaled_regression(cfg, rng):
    """``features`` centred features with scales log-spaced 1…``largest_scale``; ``y = Σ x_j/s_j + noise``."""
    scales = np.geomspace(1.0, cfg.largest_scale, cfg.features)
    x = rng.normal(size=(cfg.examples, cfg.features)) * scales
    x -= x.mean(axis=0)
    y = x @ (1.0 / scales) + cfg.label_noise * rng.normal(size=cfg.examples)
    return x, y, scales


# --- C4.6 -------------------------------------------------------------------------------------------
def rprop_runs(ctx) -> tuple[dict, pd.DataFrame, dict]:
    """Full-batch Rprop, minibatch Rprop and minibatch RMSprop on the digits MLP, from the same initial
    weights, at every learning rate: the variants, one row per run and each run's probe curve."""
    cfg = ctx.config
    data = load_arrays("digits", seed=ctx.seed).features()
    x = data[0]
    with ctx.scope():
        initial = mlp(x.shape[1], (cfg.hidden,), 10, activation="tanh", name="digits_mlp").get_weights()
    variants = {"Rprop, full batch": (Rprop, len(x)), f"Rprop, minibatch {cfg.minibatch}": (Rprop, cfg.minibatch),
                f"RMSprop, minibatch {cfg.minibatch}": (RMSprop, cfg.minibatch)}
    rows, curves = [], {}
    for name, (optimizer, batch_size) in variants.items():
        for lr in cfg.learning_rates:
            probes, accuracy = train_digits(ctx, data, initial, optimizer(learning_rate=lr), batch_size)
            curves[name, lr] = pd.DataFrame(probes)
            rows.append({"variant": name, "learning_rate": lr, "batch_size": batch_size,
                         "initial_loss": probes[0]["loss"], "final_loss": probes[-1]["loss"],
                         "test_accuracy": accuracy, "final_mean_log_step": probes[-1].get("mean_log_step", np.nan)})
        ctx.progress(f"C4.6: {name} done")
    return variants, pd.DataFrame(rows), curves


def measure_rprop(ctx, best: pd.DataFrame, variants) -> None:
    full, mini, rms = (best.loc[name] for name in variants)
    ctx.measure("C4.6", fullbatch_rprop_loss_ratio=full.final_loss / full.initial_loss,
                minibatch_rprop_over_fullbatch_rprop=mini.final_loss / full.final_loss,
                minibatch_rprop_over_minibatch_rmsprop=mini.final_loss / rms.final_loss,
                final_loss_fullbatch_rprop=full.final_loss, final_loss_minibatch_rprop=mini.final_loss,
                final_loss_minibatch_rmsprop=rms.final_loss, test_accuracy_fullbatch_rprop=full.test_accuracy,
                test_accuracy_minibatch_rprop=mini.test_accuracy, test_accuracy_minibatch_rmsprop=rms.test_accuracy,
                geometric_mean_step_fullbatch_rprop=float(np.exp(full.final_mean_log_step)),
                geometric_mean_step_minibatch_rprop=float(np.exp(mini.final_mean_log_step)),
                steps=ctx.config.steps, minibatch=ctx.config.minibatch)


# --- C4.7 -------------------------------------------------------------------------------------------
RMSPROP = "RMSprop (notes 4.7)"
SCALED_RUNS = {"GD": lambda learning_rate: keras.optimizers.SGD(learning_rate=learning_rate),
               RMSPROP: lambda learning_rate: RMSprop(learning_rate=learning_rate)}


def scaled_features_runs(ctx, surface) -> tuple[pd.DataFrame, dict]:
    """GD and RMSprop over the same learning-rate grid on the badly scaled least squares, from ``w = 0``."""
    cfg = ctx.config
    rates = descent.log_grid(cfg.lr_low, cfg.lr_high, cfg.lr_count)
    start = np.zeros(cfg.features)
    rows, paths = [], {}
    for name, make in SCALED_RUNS.items():
        sweep = descent.sweep(surface, make, rates, start, cfg.max_steps)
        excess = descent.relative_excess(surfaces.evaluate(surface, sweep), surface.offset)
        for i, lr in enumerate(rates):
            rows.append({"method": name, "learning_rate": lr,
                         "steps_to_tolerance": descent.steps_to_tolerance(excess[:, i], cfg.tolerance),
                         "final_excess": float(excess[-1, i])})
            paths[name, lr] = sweep[:, i, :]
        ctx.progress(f"C4.7: {name} swept")
    return pd.DataFrame(rows), paths


def measure_rmsprop(ctx, surface, scales, best: pd.DataFrame, paths) -> tuple[float, np.ndarray]:
    """C4.7's speedup, and RMSprop's effective per-parameter rate along its best run (returned with its rate)."""
    cfg = ctx.config
    gd_steps, rms_steps = best.loc["GD", "steps_to_tolerance"], best.loc[RMSPROP, "steps_to_tolerance"]
    if pd.isna(gd_steps):
        gd_steps = cfg.max_steps
        ctx.note("C4.7", f"GD did not reach the tolerance within {cfg.max_steps} steps; the speedup is a lower bound.")
    speedup = 0.0 if pd.isna(rms_steps) else float(gd_steps) / max(float(rms_steps), 1.0)
    # RMSprop's effective per-parameter rate a/sqrt(EMA[g²]) along its best run, geometric mean over the
    # steps to tolerance (the gradients are exact on a quadratic, so the average is rebuilt from the path).
    rms_lr = float(best.loc[RMSPROP, "learning_rate"])
    notes_rmsprop = RMSprop(learning_rate=rms_lr)
    effective = effective_rates(surface, paths[RMSPROP, rms_lr],
                                int(rms_steps) if pd.notna(rms_steps) else cfg.max_steps, rms_lr, notes_rmsprop.rho,
                                notes_rmsprop.epsilon)
    ctx.table("rmsprop_effective_rates", pd.DataFrame({"feature_scale": scales, "hessian_diagonal":
                                                       np.diag(surface.hessian), "effective_rate_geometric_mean":
                                                       effective}), keys=["feature_scale"])
    ctx.measure("C4.7", feature_scale_ratio=float(scales.max() / scales.min()), rmsprop_speedup=speedup,
                steps_gd=int(gd_steps), steps_rmsprop=rms_steps,
                best_rate_gd=float(best.loc["GD", "learning_rate"]), best_rate_rmsprop=rms_lr,
                condition_number=surface.condition_number,
                effective_rate_flattest_over_steepest=float(effective[0] / effective[-1]),
                tolerance=cfg.tolerance)
    return rms_lr, effective


@reproduction("adaptive_steps", title="Rprop with and without minibatches; RMSprop on badly scaled features",
              claims=CLAIMS, config=Config, single_device=True)
def run(ctx):
    cfg = ctx.config

    # C4.6: Rprop, full batch vs minibatch, against minibatch RMSprop
    variants, grid, curves = rprop_runs(ctx)
    ctx.table("rprop_grid", grid, keys=["variant", "learning_rate"])
    best = descent.best_per(grid, "variant", ["final_loss"])
    measure_rprop(ctx, best, variants)
    ctx.figure("C4.6_rprop", plot_rprop(cfg, variants, best, curves))

    # C4.7: RMSprop vs GD on badly scaled features
    x, y, scales = badly_scaled_regression(cfg, ctx.rng(2))
    surface = surfaces.Quadratic.least_squares(x, y)
    scaled, paths = scaled_features_runs(ctx, surface)
    ctx.table("scaled_features_grid", scaled, keys=["method", "learning_rate"])
    best = descent.best_per(scaled, "method", ["steps_to_tolerance", "final_excess"])
    rms_lr, effective = measure_rmsprop(ctx, surface, scales, best, paths)
    ctx.figure("C4.7_rmsprop", plot_rmsprop(cfg, surface, scales, best, paths, rms_lr, effective))


# --- figures ------------------------------------------------------------------------------------------
def plot_rprop(cfg, variants, best, curves):
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.6))
    for name in variants:
        curve = curves[name, best.loc[name, "learning_rate"]]
        axes[0].semilogy(curve.step, curve.loss, lw=1.2, label=f"{name} (lr={best.loc[name, 'learning_rate']:g})")
        if "mean_log_step" in curve:
            axes[1].semilogy(curve.step, np.exp(curve.mean_log_step), lw=1.2, label=name)
    axes[0].set_xlabel("step")
    axes[0].set_ylabel("full-data training cross-entropy")
    axes[0].set_title(f"C4.6 digits MLP 64-{cfg.hidden}-10, best learning rate of {len(cfg.learning_rates)} each",
                      fontsize=9)
    axes[0].legend(fontsize=8)
    axes[1].set_xlabel("step")
    axes[1].set_ylabel("geometric mean of Rprop's step sizes")
    axes[1].set_title("Rprop's steps: grown on consistent signs, shrunk on noisy ones", fontsize=9)
    axes[1].legend(fontsize=8)
    return fig


def plot_rmsprop(cfg, surface, scales, best, paths, rms_lr, effective):
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.8))
    best_paths = {f"{name}: lr={best.loc[name, 'learning_rate']:g}": paths[name, best.loc[name, "learning_rate"]]
                  for name in SCALED_RUNS}
    for label, path in best_paths.items():
        excess = descent.relative_excess(surfaces.evaluate(surface, path), surface.offset)
        axes[0].loglog(np.arange(1, len(excess) + 1), excess, lw=1.2, label=label)
    axes[0].axhline(cfg.tolerance, color="k", ls=":", lw=0.8)
    axes[0].set_xlabel("step + 1")
    axes[0].set_ylabel("(f − f*) / (f₀ − f*)")
    axes[0].set_title(f"C4.7 least squares, feature scales 1…{cfg.largest_scale:g}, κ≈{surface.condition_number:.0f}",
                      fontsize=9)
    axes[0].legend(fontsize=8)
    for colour, (label, path) in reversed(list(zip(("C0", "C1"), best_paths.items()))):  # GD drawn on top
        error = (path - surface.minimum) * scales  # each coordinate's error in units of its effect on y
        axes[1].plot(error[:, 0], error[:, -1], ".-", ms=2, lw=0.6, alpha=0.8, color=colour, label=label)
    axes[1].plot(0, 0, "k*", ms=9)
    axes[1].set_xlabel(f"flattest feature (scale {scales[0]:g}): s·(w − w*)")
    axes[1].set_ylabel(f"steepest feature (scale {scales[-1]:g}): s·(w − w*)")
    axes[1].set_title("the two extreme coordinates, in units of their effect on y", fontsize=9)
    axes[1].legend(fontsize=8)
    axes[2].loglog(scales, effective, "o-",
                   label=f"RMSprop a/sqrt(EMA[g²]), geometric mean over its run (a={rms_lr:g})")
    axes[2].axhline(best.loc["GD", "learning_rate"], color="C0", ls="--",
                    label=f"GD: one rate for all ({best.loc['GD', 'learning_rate']:g})")
    axes[2].loglog(scales, 1.0 / np.diag(surface.hessian), ":", color="0.4", label="1 / curvature")
    axes[2].set_xlabel("feature scale")
    axes[2].set_ylabel("step size per unit gradient")
    axes[2].set_title("RMSprop's step per parameter against the feature's scale", fontsize=9)
    axes[2].legend(fontsize=7)
    return fig
