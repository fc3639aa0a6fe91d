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
  remaining distance per step.

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
from keras_repro.suite.claims import Claim, all_of, at_most, between, greater_than
from keras_repro.suite.config import ReproConfig
from keras_repro.suite.registry import reproduction


@dataclass
class Config(ReproConfig):
    timing_sizes: tuple[int, ...] = (1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072)
    timing_rounds: int = 5
    timing_steps: int = 5
    timing_width: int = 64
    noise_steps: int = 300
    noise_learning_rate: float = 0.1
    minibatch: int = 32
    flip_fraction: float = 0.2
    zigzag_examples: int = 4096
    zigzag_steps: int = 100
    zigzag_label_noise: float = 0.5
    PROFILES = {
        "smoke": {"timing_sizes": (256, 512, 1024), "timing_rounds": 1, "timing_steps": 2, "noise_steps": 30,
                  "zigzag_examples": 512, "zigzag_steps": 20},
        "full": {"timing_sizes": tuple(2 ** k for k in range(10, 21)), "timing_rounds": 9, "timing_steps": 9,
                 "noise_steps": 1000, "zigzag_steps": 300},
    }
    DRY_RUN = {"timing_sizes": (1024, 2048, 4096, 8192), "timing_rounds": 1, "timing_steps": 2, "noise_steps": 20, "zigzag_steps": 20}  # --dry-run: budgets only


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
                      at_most("flat_progress_per_step_minibatch", 0.05))),
]


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
            models[n] = keras.Sequential([keras.Input((64,)), keras.layers.Dense(width, activation="relu"),
                                          keras.layers.Dense(10)], name=f"timing_{n}")
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
        model = keras.Sequential([keras.Input((x.shape[1],)), keras.layers.Dense(10, kernel_initializer="zeros")],
                                 name="softmax_regression")
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


# --- C4.2 -------------------------------------------------------------------------------------------
def elongated_regression(n, noise, rng):
    """Two exactly uncorrelated features with mean squares 1 and 100; ``y = x·w* + noise``; ``w* = (1, 1)``."""
    q, _ = np.linalg.qr(rng.normal(size=(n, 2)))
    x = (q * np.sqrt(n)) * np.array([1.0, 10.0])
    w_star = np.array([1.0, 1.0])
    y = x @ w_star + noise * rng.normal(size=n)
    return x.astype("float32"), y.astype("float32").reshape(-1, 1), w_star


@reproduction("gd_variants", title="GD, SGD and minibatch GD: one update, three batch sizes",
              claims=CLAIMS, config=Config)
def run(ctx):
    cfg = ctx.config

    # --- C4.0: cost per full-batch step vs N ----------------------------------------------------------
    timing = step_seconds(ctx, cfg.timing_sizes, cfg.timing_rounds, cfg.timing_steps, cfg.timing_width)
    slope = descent.loglog_slope(timing.examples, timing.seconds_per_step)
    upper = timing[timing.examples >= np.median(timing.examples)]
    ctx.table("step_time", timing, keys=["examples"])
    ctx.measure("C4.0", loglog_slope=slope, loglog_slope_upper_half=descent.loglog_slope(upper.examples,
                                                                                  upper.seconds_per_step),
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
                     f"{descent.loglog_slope(upper.examples, upper.seconds_per_step):.3f}. A timing measure: its slope "
                     "moves with the machine's load from run to run.")
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
    ctx.figure("C4.0_step_time", fig)

    # --- C4.1: SGD's noise, clean and flipped labels -------------------------------------------------------
    digits = load_arrays("digits", seed=ctx.seed)
    x = digits.x_train.reshape(len(digits.x_train), -1).astype("float32") / 255.0
    y_clean = digits.y_train.astype("int32")
    y_flipped = flip_labels(y_clean, cfg.flip_fraction, 10, ctx.rng(1))
    sizes = {"SGD (1)": 1, f"minibatch ({cfg.minibatch})": cfg.minibatch, f"GD ({len(x)})": len(x)}
    rows, runs = [], {}
    for condition, labels in (("clean", y_clean), ("flipped", y_flipped)):
        for name, batch_size in sizes.items():
            result = noise_run(ctx, x, labels, batch_size, cfg, seed=ctx.seed_for(2, batch_size))
            runs[condition, name] = result
            rows.append({"labels": condition, "batch": name, "batch_size": batch_size,
                         "loss_noise": result["loss_noise"], "direction_spread": result["direction_spread"],
                         "mean_loss_last_10pct": result["final_loss_mean_last_10pct"]})
        ctx.progress(f"C4.1: {condition} labels done")
    noise = pd.DataFrame(rows)
    gd_name = f"GD ({len(x)})"
    disagreement = {c: gradient_disagreement(runs[c, gd_name]["final_weights"], x, lab)
                    for c, lab in (("clean", y_clean), ("flipped", y_flipped))}
    noise["examples_against_full_gradient"] = noise["labels"].map(disagreement)
    ctx.table("sgd_noise", noise, keys=["labels", "batch"])

    def ratio(condition, column):
        sub = noise[noise["labels"] == condition].set_index("batch")[column]
        return float(sub["SGD (1)"] / sub.drop("SGD (1)").max())

    sub = noise.set_index(["labels", "batch"])
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
    ctx.figure("C4.1_sgd_noise", fig)

    # --- C4.2: zigzag across the steep axis ---------------------------------------------------------------
    xz, yz, w_star = elongated_regression(cfg.zigzag_examples, cfg.zigzag_label_noise, ctx.rng(3))
    hessian = 2.0 * (xz.astype("float64").T @ xz.astype("float64")) / len(xz)  # of Keras's "mse"
    curvatures = np.linalg.eigvalsh(hessian)
    lr = float(2.0 / (curvatures.min() + curvatures.max()))
    start = w_star + np.array([-2.0, 1.0])
    zig_rows, zig_paths = [], {}
    for name, batch_size in (("GD", len(xz)), (f"minibatch ({cfg.minibatch})", cfg.minibatch), ("SGD", 1)):
        with ctx.scope():
            model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, use_bias=False, name="w")])
            model.set_weights([start.reshape(2, 1).astype("float32")])
            model.compile(keras.optimizers.SGD(lr), "mse")
        recorder = descent.WeightRecorder(max_steps=cfg.zigzag_steps)
        train(ctx, model, xz, yz, batch_size, cfg.zigzag_steps, ctx.seed_for(4, batch_size), [recorder])
        path = recorder.trajectory
        zig_paths[name] = path
        flat_left = abs(path[-1, 0] - w_star[0]) / abs(start[0] - w_star[0])
        finite = np.all(np.isfinite(path))
        zig_rows.append({"run": name, "batch_size": batch_size, "learning_rate": lr,
                         "steep_flip_fraction": descent.sign_flip_fraction(path[:, 1]) if finite else np.nan,
                         "flat_progress_per_step": 1.0 - flat_left ** (1.0 / cfg.zigzag_steps) if finite else np.nan,
                         "flat_distance_left": flat_left, "steep_distance_left":
                             abs(path[-1, 1] - w_star[1]) / abs(start[1] - w_star[1]), "diverged": not finite})
    zig = pd.DataFrame(zig_rows)
    ctx.table("zigzag", zig, keys=["run"])
    mb = zig.set_index("run").loc[f"minibatch ({cfg.minibatch})"]
    gd = zig.set_index("run").loc["GD"]
    ctx.measure("C4.2", steep_flip_fraction_minibatch=mb.steep_flip_fraction,
                flat_progress_per_step_minibatch=mb.flat_progress_per_step,
                steep_flip_fraction_gd=gd.steep_flip_fraction, flat_progress_per_step_gd=gd.flat_progress_per_step,
                condition_number=float(curvatures.max() / curvatures.min()), learning_rate=lr,
                minibatch=cfg.minibatch, examples=cfg.zigzag_examples)
    surface = surfaces.Quadratic(hessian, w_star, 0.0)
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.8))
    surfaces.plot_trajectories(axes[0], surface, zig_paths, xlim=(-1.3, 1.5), ylim=(-0.2, 2.2), log_levels=True,
                        title=f"C4.2 least squares, κ={curvatures.max() / curvatures.min():.0f}, lr=2/(λmin+λmax)="
                              f"{lr:.4f}")
    for name, path in zig_paths.items():
        if name != "SGD":  # SGD's steep coordinate is noise at this scale; it is in the table and the left panel
            axes[1].plot(path[:60, 1] - w_star[1], ".-", ms=3, lw=0.9, label=name)
        axes[2].plot(path[:, 0] - w_star[0], lw=1.2, label=name)
    for ax, title in ((axes[1], "steep coordinate w₂ − w₂* (first 60 steps)"), (axes[2], "flat coordinate w₁ − w₁*")):
        ax.axhline(0, color="k", lw=0.6)
        ax.set_xlabel("step")
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=8)
    axes[2].set_ylim(-2.2, 1.0)
    ctx.figure("C4.2_zigzag", fig)
