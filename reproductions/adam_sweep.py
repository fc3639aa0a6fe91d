"""Adam's learning rate: is 3e-4 a good default? And what bias correction changes in the first steps.

Claim C4.8, with ``keras_repro.optimizers.Adam`` (``bias_correction=True`` unless said otherwise).

- Sweep: learning rates ``learning_rates`` (1e-4 … 1e-2), ``seeds`` seeds each, on two tasks from
  scikit-learn's digits (80/20 stratified split): LeNet-5 on the digits upsampled to 32×32, and a
  64-64-10 MLP on the raw 8×8 pixels. Each run trains ``epochs`` epochs with minibatches of 32 from
  its seed's initial weights; the measure is the held-out accuracy after the last epoch, averaged over
  seeds. The training budget is fixed in the config, before any run; a longer budget favours smaller
  rates (``full`` trains longer with more seeds and rates).
- Custom vs Keras: the same model, initial weights and batches trained ``compare_steps`` steps with
  ``keras_repro.optimizers.Adam`` and ``keras.optimizers.Adam``; the largest weight difference.
- Bias correction: the notes' formula (``bias_correction=False``) against Kingma & Ba's, from the same
  start and batches: the size of each of the first ``early_steps`` updates (their ratio; for a constant
  gradient the theory is ``(1 − b1^t)/sqrt(1 − b2^t)``) and the training loss afterwards.

Reproduced when 3e-4 is within 1% accuracy (absolute) of the best rate on each task and the custom
optimiser matches Keras's to 1e-5.

Command: ``repro run adam_sweep``
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from keras_repro.data import load_arrays, to_unit_float
from keras_repro.measures import descent
from keras_repro.models import lenet5, mlp
from keras_repro.optimizers import Adam
from keras_repro.suite.claims import Claim, all_of, at_most
from keras_repro.suite.config import ConfigError, ReproConfig, setting
from keras_repro.suite.registry import reproduction

NOTES_RATE = 3e-4


@dataclass
class Config(ReproConfig):
    learning_rates: tuple[float, ...] = setting((1e-4, 3e-4, 1e-3, 3e-3, 1e-2),
                                                "Adam learning rates swept (must include the notes' 3e-4)", gt=0)
    seeds: int = setting(3, "runs (initial weights, batch order) per rate and task; accuracies are their mean", ge=1)
    lenet_epochs: int = setting(6, "epochs of each LeNet-5 run (digits upsampled to 32×32)", ge=1)
    mlp_epochs: int = setting(20, "epochs of each 64-64-10 MLP run (raw 8×8 digits)", ge=1)
    batch_size: int = setting(32, "minibatch size of every run", ge=1)
    compare_steps: int = setting(100, "steps of ours and keras.optimizers.Adam from the same start and batches", ge=1)
    compare_tasks: tuple[Literal["mlp", "lenet"], ...] = setting(("mlp", "lenet"),
                                                                 "tasks on which ours is compared with Keras's Adam")
    early_steps: int = setting(100, "first steps compared with and without bias correction (MLP)", ge=1)
    PROFILES = {
        "smoke": {"learning_rates": (3e-4,), "seeds": 1, "lenet_epochs": 1, "mlp_epochs": 1, "compare_steps": 5,
                  "compare_tasks": ("mlp",), "early_steps": 10},
        "full": {"learning_rates": (1e-4, 2e-4, 3e-4, 5e-4, 1e-3, 2e-3, 3e-3, 5e-3, 1e-2), "seeds": 5,
                 "lenet_epochs": 30, "mlp_epochs": 60},
    }
    DRY_RUN = {"learning_rates": (3e-4, 1e-3), "seeds": 1, "lenet_epochs": 1, "mlp_epochs": 1, "compare_steps": 5,
               "early_steps": 5}  # --dry-run: budgets only

    def validate(self):
        if NOTES_RATE not in self.learning_rates:
            raise ConfigError(f"learning_rates must include the notes' {NOTES_RATE:g}. "
                              f"Received: {', '.join(f'{r:g}' for r in self.learning_rates)}")


CLAIMS = [
    Claim("C4.8", "Adam = RMSprop + an EMA of the gradient; typically good parameters are a = 3e-4, b1 = 0.9, "
                  "b2 = 0.999.",
          rule=all_of(at_most("lenet_gap_at_3e-4", 0.01), at_most("mlp_gap_at_3e-4", 0.01),
                      at_most("custom_vs_keras_max_abs_diff", 1e-5)),
          note="gap_at_3e-4 = best mean held-out accuracy over the sweep − mean accuracy at 3e-4. The notes' formula "
               "has no bias correction: its first updates are several times larger (measured below)."),
]


def digits_mlp():
    return mlp(64, (64,), 10, output_activation="softmax", name="digits_mlp")


def lenet():
    return lenet5(input_shape=(32, 32, 1), classes=10)


TASKS = {"lenet": lenet, "mlp": digits_mlp}


def task_data(name, seed):
    """``(x, y, x_test, y_test)``: the digits as 32×32 images for LeNet, as 64 pixel features for the MLP."""
    if name == "lenet":
        data = load_arrays("digits", image_size=32, channels=1, seed=seed)
        return (to_unit_float(data.x_train), data.y_train.astype("int32"), to_unit_float(data.x_test),
                data.y_test.astype("int32"))
    return load_arrays("digits", seed=seed).features()


def build(ctx, task, optimizer, seed):
    keras.utils.set_random_seed(seed)
    with ctx.scope():
        model = TASKS[task]()
        model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def same_start_runs(ctx, task, data, optimizers, steps, seed) -> dict:
    """Train one model per optimiser from identical weights on identical batches; record every step."""
    x, y, _, _ = data
    out = {}
    initial = None
    for name, optimizer in optimizers.items():
        model = build(ctx, task, optimizer, seed)
        if initial is None:
            initial = model.get_weights()
        model.set_weights(initial)
        recorder = descent.WeightRecorder(max_steps=steps)
        ctx.fit(model, descent.batches(x, y, ctx.config.batch_size, seed=seed), steps_per_epoch=steps, epochs=1,
                shuffle=False, callbacks=[recorder], progress=False)
        loss, _ = model.evaluate(x, y, verbose=0)
        out[name] = {"path": recorder.trajectory, "train_loss": float(loss)}
    return out


def epochs_of(cfg, task) -> int:
    return cfg.lenet_epochs if task == "lenet" else cfg.mlp_epochs


def sweep_runs(ctx, data) -> pd.DataFrame:
    """Every task at every learning rate and seed: the held-out accuracy after the fixed budget."""
    cfg = ctx.config
    rows = []
    for task in TASKS:
        x, y, x_test, y_test = data[task]
        for lr in cfg.learning_rates:
            for k in range(cfg.seeds):
                model = build(ctx, task, Adam(learning_rate=lr), ctx.seed_for(1, k))
                ctx.fit(model, x, y, batch_size=cfg.batch_size, epochs=epochs_of(cfg, task), shuffle=True,
                        progress=False)
                _, accuracy = model.evaluate(x_test, y_test, verbose=0)
                rows.append({"task": task, "learning_rate": lr, "seed_index": k, "test_accuracy": float(accuracy),
                             "epochs": epochs_of(cfg, task)})
            ctx.progress(f"{task}: lr {lr:g} done ({cfg.seeds} seeds)")
    return pd.DataFrame(rows)


def summarise_sweep(sweep: pd.DataFrame) -> pd.DataFrame:
    summary = sweep.groupby(["task", "learning_rate"], as_index=False).test_accuracy.agg(["mean", "std", "min"])
    return summary.rename(columns={"mean": "mean_test_accuracy", "std": "std_test_accuracy",
                                   "min": "worst_seed_accuracy"})


def gap_at_notes_rate(summary: pd.DataFrame, task: str) -> tuple[float, float, float]:
    """(best mean accuracy − mean accuracy at 3e-4, the best rate, the mean accuracy at 3e-4)."""
    sub = summary[summary.task == task].set_index("learning_rate").mean_test_accuracy
    return float(sub.max() - sub.loc[NOTES_RATE]), float(sub.idxmax()), float(sub.loc[NOTES_RATE])


def custom_vs_keras(ctx, data) -> float:
    """The largest weight difference between our Adam and Keras's over the same steps from the same start."""
    diffs = {}
    for task in ctx.config.compare_tasks:
        runs = same_start_runs(ctx, task, data[task], {"keras_repro": Adam(NOTES_RATE),
                                                       "keras": keras.optimizers.Adam(NOTES_RATE)},
                               ctx.config.compare_steps, ctx.seed_for(2))
        diffs[task] = float(np.abs(runs["keras_repro"]["path"] - runs["keras"]["path"]).max())
    return max(diffs.values())


def bias_correction_runs(ctx, data) -> tuple[dict, pd.DataFrame]:
    """The notes' Adam (no bias correction) and Kingma & Ba's from the same start on the same batches (MLP):
    the runs, and the size of each early update with its constant-gradient theory."""
    early = same_start_runs(ctx, "mlp", data["mlp"], {"bias-corrected": Adam(NOTES_RATE),
                                                      "notes (no correction)": Adam(NOTES_RATE, bias_correction=False)},
                            ctx.config.early_steps, ctx.seed_for(3))
    sizes = {name: np.linalg.norm(np.diff(run["path"], axis=0), axis=1) for name, run in early.items()}
    ratio = sizes["notes (no correction)"] / sizes["bias-corrected"]
    t = np.arange(1, len(ratio) + 1)
    return early, pd.DataFrame({
        "step": t, "update_norm_bias_corrected": sizes["bias-corrected"],
        "update_norm_notes": sizes["notes (no correction)"], "ratio_notes_over_corrected": ratio,
        "constant_gradient_theory": (1 - 0.9 ** t) / np.sqrt(1 - 0.999 ** t)})


@reproduction("adam_sweep", title="Adam: the learning-rate sweep around 3e-4, and bias correction",
              claims=CLAIMS, config=Config)
def run(ctx):
    cfg = ctx.config
    data = {task: task_data(task, ctx.seed) for task in TASKS}

    sweep = sweep_runs(ctx, data)
    ctx.table("sweep_runs", sweep, keys=["task", "learning_rate", "seed_index"])
    summary = summarise_sweep(sweep)
    ctx.table("sweep_summary", summary, keys=["task", "learning_rate"])
    max_abs_diff = custom_vs_keras(ctx, data)
    early, steps = bias_correction_runs(ctx, data)
    ctx.table("bias_correction_early_steps", steps, keys=["step"])

    lenet_gap, lenet_best, lenet_at = gap_at_notes_rate(summary, "lenet")
    mlp_gap, mlp_best, mlp_at = gap_at_notes_rate(summary, "mlp")
    ratio = steps.ratio_notes_over_corrected.to_numpy()
    ctx.measure("C4.8", **{"lenet_gap_at_3e-4": lenet_gap, "mlp_gap_at_3e-4": mlp_gap},
                custom_vs_keras_max_abs_diff=max_abs_diff,
                lenet_best_rate=lenet_best, lenet_accuracy_best=lenet_at + lenet_gap, lenet_accuracy_at_3e4=lenet_at,
                mlp_best_rate=mlp_best, mlp_accuracy_best=mlp_at + mlp_gap, mlp_accuracy_at_3e4=mlp_at,
                seeds=cfg.seeds, rates=len(cfg.learning_rates),
                early_update_ratio_step_1=float(ratio[0]),
                early_update_ratio_mean_steps_1_10=float(np.mean(ratio[:10])),
                early_update_ratio_max=float(ratio.max()),
                train_loss_after_early_steps_bias_corrected=early["bias-corrected"]["train_loss"],
                train_loss_after_early_steps_notes=early["notes (no correction)"]["train_loss"])
    ctx.note("C4.8", f"Budget fixed before the run: LeNet {cfg.lenet_epochs} and MLP {cfg.mlp_epochs} epochs of "
                     f"minibatches of {cfg.batch_size}; best mean rates: LeNet {lenet_best:g}, MLP {mlp_best:g}. After "
                     f"{cfg.early_steps} steps at 3e-4 from the same start, the notes' formula (no bias correction) "
                     f"is at training loss {early['notes (no correction)']['train_loss']:.3f} and Kingma & Ba's at "
                     f"{early['bias-corrected']['train_loss']:.3f}.")
    ctx.figure("C4.8_adam", plot_adam(cfg, summary, steps))


def plot_adam(cfg, summary, steps):
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.8))
    for task in TASKS:
        sub = summary[summary.task == task]
        axes[0].errorbar(sub.learning_rate, sub.mean_test_accuracy, yerr=sub.std_test_accuracy.fillna(0), marker="o",
                         capsize=3, label=f"{task} ({epochs_of(cfg, task)} epochs)")
    axes[0].axvline(NOTES_RATE, color="k", ls=":", lw=0.8, label="3e-4 (the notes)")
    axes[0].set_xscale("log")
    axes[0].set_xlabel("Adam learning rate")
    axes[0].set_ylabel(f"held-out accuracy (mean ± std over {cfg.seeds} seeds)")
    axes[0].set_title("C4.8 learning-rate sweep on digits", fontsize=9)
    axes[0].legend(fontsize=8)
    axes[1].plot(steps.step, steps.ratio_notes_over_corrected, ".-", ms=3, lw=0.8, label="measured (MLP)")
    axes[1].plot(steps.step, steps.constant_gradient_theory, "-", lw=1, label="constant gradient: (1 − b1ᵗ)/√(1 − b2ᵗ)")
    axes[1].axhline(1, color="k", lw=0.6)
    axes[1].set_xlabel("step t")
    axes[1].set_ylabel("|update| without / with bias correction")
    axes[1].set_title("the notes' formula: larger first steps", fontsize=9)
    axes[1].legend(fontsize=8)
    for name, column in (("bias-corrected", "update_norm_bias_corrected"),
                         ("notes (no correction)", "update_norm_notes")):
        axes[2].semilogy(steps.step, steps[column], lw=1, label=name)
    axes[2].set_xlabel("step t")
    axes[2].set_ylabel("|update| (all weights)")
    axes[2].set_title(f"update sizes, lr={NOTES_RATE:g}, same start and batches", fontsize=9)
    axes[2].legend(fontsize=8)
    return fig
