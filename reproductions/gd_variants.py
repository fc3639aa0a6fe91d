"""Gradient descent, stochastic and minibatch gradient descent: one update, three batch sizes.

Claims C4.0, C4.1, C4.2. Every run here is the same training loop — ``fit`` on
``descent.batches(x, y, batch_size)`` with ``keras.optimizers.SGD`` — and only the batch size
differs: ``N`` (gradient descent), ``1`` (stochastic), ``M`` with ``1 ≪ M ≪ N`` (minibatch).

- C4.0: the time of one full-batch step of an MLP (64-64-10) on ``N`` synthetic examples, for ``N``
  over a ``2^k`` grid, measured in rounds that visit the sizes in a shuffled order (the machine is
  shared: each size keeps the fastest round's median step time). Reproduced when the log-log slope of
  time per step against ``N`` is within [0.7, 1.3].
- C4.1: softmax regression on scikit-learn's digits, from zero weights, at one learning rate for all
  batch sizes, with clean labels and with a fraction of labels flipped to another class. After every
  step the full-data loss and gradient are computed (NumPy, exact); *loss noise* is the variance of the
  full-data loss curve around its 11-step moving average, *direction spread* is
  ``1 − mean cos(Δw_t, −∇L(w_t))``. Reproduced when SGD has the largest of both, in both conditions.
- C4.2: least squares with two exactly uncorrelated features of scales 1 and 10 (Hessian
  ``diag(2, 200)``, condition number 100), at the best constant step of gradient descent for this
  quadratic, ``2/(λ_min + λ_max)``. Reproduced when the minibatch run's steep coordinate reverses
  direction on more than half of its steps while its flat coordinate progresses, by at most 5% of the
  remaining distance per step. At that step full-batch GD zigzags too (its steep factor is
  ``1 − lr·λ_max ≈ −0.98``), so that alone cannot tell minibatch noise from step size: a *control* runs
  both at ``0.9/λ_max``, where GD's steep coordinate decays monotonically (factor 0.1); the minibatch
  run must still reverse on more than half of its steps there and its flat coordinate still progress
  slowly. That GD does not reverse at the control step (updates above float rounding, ``MIN_UPDATE``)
  is the control's precondition.

Command: ``repro run gd_variants``
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
from keras_repro.suite.claims import Claim, all_of, at_most, between, equals, greater_than, requires
from keras_repro.suite.config import ConfigError, ReproConfig, setting
from keras_repro.suite.registry import reproduction


@dataclass
class Config(ReproConfig):
    timing_sizes: tuple[int, ...] = setting((1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072),
                                            "C4.0: example counts N whose full-batch step is timed (two or more)",
                                            ge=1)
    timing_rounds: int = setting(5, "C4.0: timing rounds (each size keeps its fastest round)", ge=1)
    timing_steps: int = setting(5, "C4.0: timed steps per size and round", ge=1)
    timing_width: int = setting(64, "C4.0: hidden units of the timed MLP (64-width-10)", ge=1)
    noise_steps: int = setting(300, "C4.1: steps of each softmax-regression run (the loss noise is measured "
                                    "around an 11-step moving average)", ge=20)
    noise_learning_rate: float = setting(0.1, "C4.1: SGD learning rate, the same for every batch size", gt=0)
    minibatch: int = setting(32, "C4.1, C4.2: the minibatch size M (1 < M < N)", ge=2)
    flip_fraction: float = setting(0.2, "C4.1: share of labels flipped to another class (noisy condition)", ge=0,
                                   le=1)
    zigzag_examples: int = setting(4096, "C4.2: examples of the two-feature least-squares problem", ge=2)
    zigzag_steps: int = setting(100, "C4.2: steps of each run", ge=1)
    zigzag_label_noise: float = setting(0.5, "C4.2: standard deviation of the target noise", ge=0)
    PROFILES = {
        "smoke": {"timing_sizes": (256, 512, 1024), "timing_rounds": 1, "timing_steps": 2, "noise_steps": 30,
                  "zigzag_examples": 512, "zigzag_steps": 20},
        "full": {"timing_sizes": tuple(2 ** k for k in range(10, 21)), "timing_rounds": 9, "timing_steps": 9,
                 "noise_steps": 1000, "zigzag_steps": 300},
    }
    DRY_RUN = {"timing_sizes": (1024, 2048, 4096, 8192), "timing_rounds": 1, "timing_steps": 2, "noise_steps": 20, "zigzag_steps": 20}  # --dry-run: budgets only

    def validate(self):
        if len(set(self.timing_sizes)) < 2:
            raise ConfigError(f"timing_sizes: at least two different sizes (C4.0 fits a slope). "
                              f"Received: {self.timing_sizes}")
        if self.minibatch >= self.zigzag_examples:
            raise ConfigError(f"minibatch must be smaller than zigzag_examples. Received: minibatch={self.minibatch}, "
                              f"zigzag_examples={self.zigzag_examples}")


CLAIMS = [
    Claim("C4.0", "Full-batch gradient descent computes the loss and gradient on the whole data set: the cost of "
                  "a step grows with N.",
          rule=between("loglog_slope", 0.7, 1.3)),
    Claim("C4.1", "SGD (one example per step) is unstable: the gradients of different examples point different "
                  "ways, and mislabelled examples make it worse.",
          rule=all_of(greater_than("loss_noise_ratio_clean", 1.0), greater_than("loss_noise_ratio_flipped", 1.0),
                      greater_than("direction_spread_ratio_clean", 1.0),
                      greater_than("direction_spread_ratio_flipped", 1.0)),
          note="Ratios are SGD's value over the larger of minibatch's and full batch's."),
    Claim("C4.2", "Minibatch gradient descent (1 ≪ M ≪ N) oscillates across the steep axis of an elongated loss.",
          rule=all_of(greater_than("steep_flip_fraction_minibatch", 0.5),
                      greater_than("flat_progress_per_step_minibatch", 0.0),
                      at_most("flat_progress_per_step_minibatch", 0.05),
                      greater_than("steep_flip_fraction_minibatch_control", 0.5),
                      greater_than("flat_progress_per_step_minibatch_control", 0.0),
                      at_most("flat_progress_per_step_minibatch_control", 0.05)),
          preconditions=(requires("full-batch GD does not oscillate at the control step 0.9/λ_max",
                                  equals("steep_flip_fraction_gd_control", 0)),),
          note="The control (step 0.9/λ_max, where GD's steep coordinate decays monotonically) separates minibatch "
               "noise from the step size; at 2/(λ_min + λ_max) GD itself reverses on every step."),
]

# C4.2: the control step, as a fraction of 1/λ_max: below 1 full-batch GD's steep coordinate decays monotonically
# (factor 1 − 0.9 = 0.1 per step), and close to 1 so the flat coordinate still moves (factor 1 − 0.9/κ)
CONTROL_STEP = 0.9
# C4.2: updates at or below this size are float32 rounding of a converged run (|w| ≈ 1, lr·|∇| ≈ 1e-8 there),
# not reversals; minibatch updates at these steps are ~1e-2
MIN_UPDATE = 1e-6


def train(ctx, model, x, y, batch_size, steps, seed, callbacks):
    """The one training loop: ``steps`` SGD updates on batches of ``batch_size``."""
    return ctx.fit(model, descent.batches(x, y, batch_size, seed=seed), steps_per_epoch=steps, epochs=1, shuffle=False,
                   callbacks=callbacks, progress=False)


# --- C4.0 -------------------------------------------------------------------------------------------
def step_seconds(ctx, sizes, rounds, steps, width) -> pd.DataFrame:
    """Fastest-round median seconds per full-batch step for each data-set size."""
    rng = ctx.rng(0)
    data, models = {}, {}
    for n in sizes:
        data[n] = (rng.normal(size=(n, 64)).astype("float32"), rng.integers(0, 10, n).astype("int32"))
        with ctx.scope():
            models[n] = mlp(64, (width,), 10, name=f"timing_{n}")
            models[n].compile(keras.optimizers.SGD(0.01),
                              keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    medians = {n: [] for n in sizes}
    for r in range(rounds):
        for n in rng.permutation(np.asarray(sizes)):
            timer = descent.StepTimer()
            train(ctx, models[int(n)], *data[int(n)], int(n), steps + 1, seed=0, callbacks=[timer])
            medians[int(n)].append(float(np.median(timer.seconds[1:])))  # the first step starts the pipeline
        ctx.progress(f"timing round {r + 1}/{rounds} done")
    return pd.DataFrame([{"examples": n, "seconds_per_step": min(m), "median_over_rounds": float(np.median(m)),
                          "rounds": len(m)} for n, m in medians.items()])


def measure_step_time(ctx) -> tuple[pd.DataFrame, float]:
    """C4.0: the time of one full-batch step against N, its log-log slope and the fixed overhead per step."""
    cfg = ctx.config
    timing = step_seconds(ctx, cfg.timing_sizes, cfg.timing_rounds, cfg.timing_steps, cfg.timing_width)
    slope = descent.loglog_slope(timing.examples, timing.seconds_per_step)
    upper = timing[timing.examples >= np.median(timing.examples)]
    upper_slope = descent.loglog_slope(upper.examples, upper.seconds_per_step)
    ctx.table("step_time", timing, keys=["examples"])
    ctx.measure("C4.0", loglog_slope=slope, loglog_slope_upper_half=upper_slope,
                size_range=f"{min(cfg.timing_sizes)}..{max(cfg.timing_sizes)}",
                seconds_per_step_smallest=float(timing.seconds_per_step.iloc[0]),
                seconds_per_step_largest=float(timing.seconds_per_step.iloc[-1]))
    ctx.progress(f"C4.0: log-log slope {slope:.3f}")
    # Cost model t(N) = t0 + c·N (least squares): t0 is the per-step overhead that does not grow with N
    # (dispatch, kernel launches); it flattens the log-log slope at the small end of the range.
    c, t0 = np.polyfit(timing.examples.to_numpy(float), timing.seconds_per_step.to_numpy(float), 1)
    overhead_share = t0 / float(timing.seconds_per_step.iloc[0])
    ctx.measure("C4.0", fixed_overhead_seconds=float(t0), overhead_share_at_smallest_n=float(overhead_share))
    ctx.note("C4.0", f"A straight-line fit t(N) = t0 + c·N gives t0 = {t0 * 1e3:.3g} ms per step that does not grow "
                     f"with N ({overhead_share:.0%} of the step at N = {int(timing.examples.iloc[0])}) and "
                     f"c = {c * 1e6:.3g} µs per example; the log-log slope over the upper half of the range is "
                     f"{upper_slope:.3f}. A timing measure: its slope moves with the machine's load from run to run.")
    return timing, slope


# --- C4.1 -------------------------------------------------------------------------------------------
def flip_labels(y, fraction, classes, rng) -> np.ndarray:
    """A copy of ``y`` with ``fraction`` of the labels changed to a different, random class."""
    y = y.copy()
    chosen = rng.choice(len(y), size=int(round(fraction * len(y))), replace=False)
    y[chosen] = (y[chosen] + rng.integers(1, classes, len(chosen))) % classes
    return y


def softmax_loss_and_gradient(theta, x, y, classes):
    """Mean cross-entropy of softmax regression and its gradient, for flat ``[kernel, bias]`` weights."""
    d = x.shape[1]
    kernel, bias = theta[: d * classes].reshape(d, classes), theta[d * classes:]
    logits = x @ kernel + bias
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    loss = float(-np.mean(np.log(p[np.arange(len(y)), y])))
    p[np.arange(len(y)), y] -= 1.0
    p /= len(y)
    return loss, np.concatenate([(x.T @ p).ravel(), p.sum(axis=0)])


def noise_run(ctx, x, y, batch_size, cfg, seed) -> dict:
    with ctx.scope():
        model = mlp(x.shape[1], (), 10, kernel_initializer="zeros", name="softmax_regression")
        model.compile(keras.optimizers.SGD(cfg.noise_learning_rate),
                      keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    recorder = descent.WeightRecorder(max_steps=cfg.noise_steps)
    train(ctx, model, x, y, batch_size, cfg.noise_steps, seed, [recorder])
    path = recorder.trajectory
    x64 = x.astype("float64")
    losses, grads = zip(*(softmax_loss_and_gradient(theta, x64, y, 10) for theta in path))
    losses, grads = np.array(losses), np.array(grads)
    burn_in = len(losses) // 10
    return {"losses": losses, "loss_noise": descent.curve_noise(losses[burn_in:]),
            "direction_spread": descent.direction_spread(np.diff(path, axis=0), grads[:-1]),
            "final_loss_mean_last_10pct": float(np.mean(losses[-max(1, len(losses) // 10):])),
            "cosines": -np.sum(np.diff(path, axis=0) * grads[:-1], axis=1)
            / (np.linalg.norm(np.diff(path, axis=0), axis=1) * np.linalg.norm(grads[:-1], axis=1) + 1e-300),
            "final_weights": path[-1]}


def gradient_disagreement(theta, x, y) -> float:
    """Fraction of examples whose own gradient points against the full-data gradient (negative inner product)."""
    x64 = x.astype("float64")
    _, full = softmax_loss_and_gradient(theta, x64, y, 10)
    against = sum(float(np.dot(softmax_loss_and_gradient(theta, x64[i:i + 1], y[i:i + 1], 10)[1], full)) < 0
                  for i in range(len(y)))
    return against / len(y)


def sgd_noise_runs(ctx) -> tuple[pd.DataFrame, dict, dict]:
    """C4.1: softmax regression on the digits with clean and flipped labels at every batch size: one row
    per run (with the share of examples whose gradient opposes the full one at GD's end), the runs, and
    the batch sizes by name."""
    cfg = ctx.config
    x, y_clean, _, _ = load_arrays("digits", seed=ctx.seed).features()
    labels = {"clean": y_clean, "flipped": flip_labels(y_clean, cfg.flip_fraction, 10, ctx.rng(1))}
    sizes = {"SGD (1)": 1, f"minibatch ({cfg.minibatch})": cfg.minibatch, f"GD ({len(x)})": len(x)}
    rows, runs = [], {}
    for condition, y in labels.items():
        for name, batch_size in sizes.items():
            result = noise_run(ctx, x, y, batch_size, cfg, seed=ctx.seed_for(2, batch_size))
            runs[condition, name] = result
            rows.append({"labels": condition, "batch": name, "batch_size": batch_size,
                         "loss_noise": result["loss_noise"], "direction_spread": result["direction_spread"],
                         "mean_loss_last_10pct": result["final_loss_mean_last_10pct"]})
        ctx.progress(f"C4.1: {condition} labels done")
    noise = pd.DataFrame(rows)
    disagreement = {c: gradient_disagreement(runs[c, f"GD ({len(x)})"]["final_weights"], x, y)
                    for c, y in labels.items()}
    noise["examples_against_full_gradient"] = noise["labels"].map(disagreement)
    return noise, runs, sizes


def measure_sgd_noise(ctx, noise: pd.DataFrame) -> None:
    cfg = ctx.config

    def ratio(condition, column):
        sub = noise[noise["labels"] == condition].set_index("batch")[column]
        return float(sub["SGD (1)"] / sub.drop("SGD (1)").max())

    sub = noise.set_index(["labels", "batch"])
    disagreement = noise.groupby("labels")["examples_against_full_gradient"].first()
    ctx.measure("C4.1", loss_noise_ratio_clean=ratio("clean", "loss_noise"),
                loss_noise_ratio_flipped=ratio("flipped", "loss_noise"),
                direction_spread_ratio_clean=ratio("clean", "direction_spread"),
                direction_spread_ratio_flipped=ratio("flipped", "direction_spread"),
                sgd_loss_noise_flipped_over_clean=float(sub.loc[("flipped", "SGD (1)"), "loss_noise"]
                                                        / sub.loc[("clean", "SGD (1)"), "loss_noise"]),
                sgd_direction_spread_clean=float(sub.loc[("clean", "SGD (1)"), "direction_spread"]),
                sgd_direction_spread_flipped=float(sub.loc[("flipped", "SGD (1)"), "direction_spread"]),
                examples_against_full_gradient_clean=disagreement["clean"],
                examples_against_full_gradient_flipped=disagreement["flipped"],
                learning_rate=cfg.noise_learning_rate, steps=cfg.noise_steps, flip_fraction=cfg.flip_fraction)


# --- C4.2 -------------------------------------------------------------------------------------------
def elongated_regression(n, noise, rng):
    """Two exactly uncorrelated features with mean squares 1 and 100; ``y = x·w* + noise``; ``w* = (1, 1)``."""
    q, _ = np.linalg.qr(rng.normal(size=(n, 2)))
    x = (q * np.sqrt(n)) * np.array([1.0, 10.0])
    w_star = np.array([1.0, 1.0])
    y = x @ w_star + noise * rng.normal(size=n)
    return x.astype("float32"), y.astype("float32").reshape(-1, 1), w_star


def zigzag_runs(ctx) -> tuple[pd.DataFrame, dict, surfaces.Quadratic, float]:
    """C4.2: GD, minibatch and SGD at GD's best constant step ``2/(λ_min + λ_max)`` on the elongated least
    squares, and GD and minibatch at the control step ``CONTROL_STEP/λ_max``: one row per run, the paths
    (of the runs at the best step), the loss surface and the best step."""
    cfg = ctx.config
    x, y, w_star = elongated_regression(cfg.zigzag_examples, cfg.zigzag_label_noise, ctx.rng(3))
    hessian = 2.0 * (x.astype("float64").T @ x.astype("float64")) / len(x)  # of Keras's "mse"
    curvatures = np.linalg.eigvalsh(hessian)
    lr = float(2.0 / (curvatures.min() + curvatures.max()))
    control_lr = float(CONTROL_STEP / curvatures.max())
    start = w_star + np.array([-2.0, 1.0])
    rows, paths = [], {}
    runs = [("GD", len(x), lr), (f"minibatch ({cfg.minibatch})", cfg.minibatch, lr), ("SGD", 1, lr),
            ("GD control", len(x), control_lr), (f"minibatch ({cfg.minibatch}) control", cfg.minibatch, control_lr)]
    for name, batch_size, step in runs:
        with ctx.scope():
            model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, use_bias=False, name="w")])
            model.set_weights([start.reshape(2, 1).astype("float32")])
            model.compile(keras.optimizers.SGD(step), "mse")
        recorder = descent.WeightRecorder(max_steps=cfg.zigzag_steps)
        train(ctx, model, x, y, batch_size, cfg.zigzag_steps, ctx.seed_for(4, batch_size), [recorder])
        path = recorder.trajectory
        if step == lr:
            paths[name] = path
        flat_left = abs(path[-1, 0] - w_star[0]) / abs(start[0] - w_star[0])
        finite = np.all(np.isfinite(path))
        rows.append({"run": name, "batch_size": batch_size, "learning_rate": step,
                     "steep_flip_fraction": descent.sign_flip_fraction(path[:, 1], MIN_UPDATE) if finite else np.nan,
                     "flat_progress_per_step": 1.0 - flat_left ** (1.0 / cfg.zigzag_steps) if finite else np.nan,
                     "flat_distance_left": flat_left, "steep_distance_left":
                         abs(path[-1, 1] - w_star[1]) / abs(start[1] - w_star[1]), "diverged": not finite})
    return pd.DataFrame(rows), paths, surfaces.Quadratic(hessian, w_star, 0.0), lr


@reproduction("gd_variants", title="GD, SGD and minibatch GD: one update, three batch sizes",
              claims=CLAIMS, config=Config, timed=True)  # C4.0 measures seconds per step
def run(ctx):
    cfg = ctx.config

    # C4.0: cost per full-batch step vs N
    timing, slope = measure_step_time(ctx)
    ctx.figure("C4.0_step_time", plot_step_time(cfg, timing, slope))

    # C4.1: SGD's noise, clean and flipped labels
    noise, runs, sizes = sgd_noise_runs(ctx)
    ctx.table("sgd_noise", noise, keys=["labels", "batch"])
    measure_sgd_noise(ctx, noise)
    ctx.figure("C4.1_sgd_noise", plot_sgd_noise(cfg, runs, sizes))

    # C4.2: zigzag across the steep axis
    zig, paths, surface, lr = zigzag_runs(ctx)
    ctx.table("zigzag", zig, keys=["run"])
    by_run = zig.set_index("run")
    mb, gd = by_run.loc[f"minibatch ({cfg.minibatch})"], by_run.loc["GD"]
    mb_control, gd_control = by_run.loc[f"minibatch ({cfg.minibatch}) control"], by_run.loc["GD control"]
    ctx.measure("C4.2", steep_flip_fraction_minibatch=mb.steep_flip_fraction,
                flat_progress_per_step_minibatch=mb.flat_progress_per_step,
                steep_flip_fraction_minibatch_control=mb_control.steep_flip_fraction,
                flat_progress_per_step_minibatch_control=mb_control.flat_progress_per_step,
                # fewer than two updates above rounding: GD converged without a reversal (0); diverged: nan
                steep_flip_fraction_gd_control=(float("nan") if gd_control.diverged
                                                else float(np.nan_to_num(gd_control.steep_flip_fraction))),
                steep_flip_fraction_gd=gd.steep_flip_fraction, flat_progress_per_step_gd=gd.flat_progress_per_step,
                condition_number=surface.condition_number, learning_rate=lr, control_learning_rate=gd_control.learning_rate,
                minibatch=cfg.minibatch, examples=cfg.zigzag_examples)
    ctx.figure("C4.2_zigzag", plot_zigzag(surface, paths, lr))


# --- figures ------------------------------------------------------------------------------------------
def plot_step_time(cfg, timing, slope):
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.loglog(timing.examples, timing.seconds_per_step, "o", label="fastest round (median of steps)")
    fit = np.polyfit(np.log(timing.examples), np.log(timing.seconds_per_step), 1)
    ax.loglog(timing.examples, np.exp(np.polyval(fit, np.log(timing.examples))), "-", lw=1,
              label=f"fit: slope {slope:.2f}")
    ax.loglog(timing.examples, timing.seconds_per_step.iloc[-1] * timing.examples / timing.examples.iloc[-1], ":",
              color="0.5", label="slope 1 (linear)")
    ax.set_xlabel("examples N (one full-batch step)")
    ax.set_ylabel("seconds per step")
    ax.set_title(f"C4.0 full-batch GD, MLP 64-{cfg.timing_width}-10", fontsize=9)
    ax.legend(fontsize=8)
    return fig


def plot_sgd_noise(cfg, runs, sizes):
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6))
    for ax, condition in zip(axes[:2], ("clean", "flipped")):
        for name in sizes:
            ax.plot(runs[condition, name]["losses"], lw=0.9, label=name)
        ax.set_xlabel("step")
        ax.set_ylabel("full-data cross-entropy")
        ax.set_title(f"C4.1 softmax regression on digits, {condition} labels, lr={cfg.noise_learning_rate:g}",
                     fontsize=9)
        ax.legend(fontsize=8)
    axes[2].boxplot([runs[c, n]["cosines"] for c in ("clean", "flipped") for n in sizes],
                    tick_labels=[f"{n}\n{c}" for c in ("clean", "flipped") for n in sizes])
    axes[2].tick_params(axis="x", labelsize=6)
    axes[2].set_ylabel("cos(update, −full gradient)")
    axes[2].set_title("direction of each update vs steepest descent", fontsize=9)
    return fig


def plot_zigzag(surface, paths, lr):
    w_star = surface.minimum
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.8))
    surfaces.plot_trajectories(axes[0], surface, paths, xlim=(-1.3, 1.5), ylim=(-0.2, 2.2), log_levels=True,
                               title=f"C4.2 least squares, κ={surface.condition_number:.0f}, lr=2/(λmin+λmax)="
                                     f"{lr:.4f}")
    for name, path in paths.items():
        if name != "SGD":  # SGD's steep coordinate is noise at this scale; it is in the table and the left panel
            axes[1].plot(path[:60, 1] - w_star[1], ".-", ms=3, lw=0.9, label=name)
        axes[2].plot(path[:, 0] - w_star[0], lw=1.2, label=name)
    for ax, title in ((axes[1], "steep coordinate w₂ − w₂* (first 60 steps)"), (axes[2], "flat coordinate w₁ − w₁*")):
        ax.axhline(0, color="k", lw=0.6)
        ax.set_xlabel("step")
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=8)
    axes[2].set_ylim(-2.2, 1.0)
    return fig
