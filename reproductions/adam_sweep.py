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

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from keras_repro.data import load_arrays
from keras_repro.measures import descent
from keras_repro.models.lenet import lenet5
from keras_repro.optimizers import Adam
from keras_repro.suite.claims import Claim, all_of, at_most
from keras_repro.suite.config import ReproConfig
from keras_repro.suite.registry import reproduction

NOTES_RATE = 3e-4


@dataclass
class Config(ReproConfig):
    learning_rates: tuple[float, ...] = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)
    seeds: int = 3
    lenet_epochs: int = 6
    mlp_epochs: int = 20
    batch_size: int = 32
    compare_steps: int = 100
    compare_tasks: tuple[str, ...] = ("mlp", "lenet")
    early_steps: int = 100
    PROFILES = {
        "smoke": {"learning_rates": (3e-4,), "seeds": 1, "lenet_epochs": 1, "mlp_epochs": 1, "compare_steps": 5,
                  "compare_tasks": ("mlp",), "early_steps": 10},
        "full": {"learning_rates": (1e-4, 2e-4, 3e-4, 5e-4, 1e-3, 2e-3, 3e-3, 5e-3, 1e-2), "seeds": 5,
                 "lenet_epochs": 30, "mlp_epochs": 60},
    }
    DRY_RUN = {"learning_rates": (3e-4, 1e-3), "seeds": 1, "lenet_epochs": 1, "mlp_epochs": 1, "compare_steps": 5,
               "early_steps": 5}  # --dry-run: budgets only


CLAIMS = [
    Claim("C4.8", "Adam = RMSprop + an EMA of the gradient; typically good parameters are a = 3e-4, b1 = 0.9, "
                  "b2 = 0.999.",
          rule=all_of(at_most("lenet_gap_at_3e-4", 0.01), at_most("mlp_gap_at_3e-4", 0.01),
                      at_most("custom_vs_keras_max_abs_diff", 1e-5)),
          note="gap_at_3e-4 = best mean held-out accuracy over the sweep − mean accuracy at 3e-4. The notes' formula "
               "has no bias correction: its first updates are several times larger (measured below)."),
]


def mlp(name="digits_mlp"):
    return keras.Sequential([keras.Input((64,)), keras.layers.Dense(64, activation="relu", name="hidden"),
                             keras.layers.Dense(10, activation="softmax", name="predictions")], name=name)


def lenet():
    return lenet5(input_shape=(32, 32, 1), classes=10)


TASKS = {"lenet": lenet, "mlp": mlp}


def task_data(name, seed):
    if name == "lenet":
        data = load_arrays("digits", image_size=32, channels=1, seed=seed)
        shape = (-1, 32, 32, 1)
    else:
        data = load_arrays("digits", seed=seed)
        shape = (-1, 64)
    return tuple(a.reshape(shape).astype("float32") / 255.0 for a in (data.x_train, data.x_test)) + \
        (data.y_train.astype("int32"), data.y_test.astype("int32"))


def build(ctx, task, optimizer, seed):
    keras.utils.set_random_seed(seed)
    with ctx.scope():
        model = TASKS[task]()
        model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def same_start_runs(ctx, task, data, optimizers, steps, seed) -> dict:
    """Train one model per optimiser from identical weights on identical batches; record every step."""
    x, _, y, _ = data
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


@reproduction("adam_sweep", title="Adam: the learning-rate sweep around 3e-4, and bias correction",
              claims=CLAIMS, config=Config)
def run(ctx):
    cfg = ctx.config
    data = {task: task_data(task, ctx.seed) for task in TASKS}

    # --- the sweep ------------------------------------------------------------------------------------
    rows = []
    for task in TASKS:
        x, x_test, y, y_test = data[task]
        epochs = cfg.lenet_epochs if task == "lenet" else cfg.mlp_epochs
        for lr in cfg.learning_rates:
            for k in range(cfg.seeds):
                model = build(ctx, task, Adam(learning_rate=lr), ctx.seed_for(1, k))
                ctx.fit(model, x, y, batch_size=cfg.batch_size, epochs=epochs, shuffle=True, progress=False)
                _, accuracy = model.evaluate(x_test, y_test, verbose=0)
                rows.append({"task": task, "learning_rate": lr, "seed_index": k, "test_accuracy": float(accuracy),
                             "epochs": epochs})
            ctx.progress(f"{task}: lr {lr:g} done ({cfg.seeds} seeds)")
    sweep = pd.DataFrame(rows)
    ctx.table("sweep_runs", sweep, keys=["task", "learning_rate", "seed_index"])
    summary = sweep.groupby(["task", "learning_rate"], as_index=False).test_accuracy.agg(["mean", "std", "min"])
    summary = summary.rename(columns={"mean": "mean_test_accuracy", "std": "std_test_accuracy",
                                      "min": "worst_seed_accuracy"})
    ctx.table("sweep_summary", summary, keys=["task", "learning_rate"])

    def gap(task):
        sub = summary[summary.task == task].set_index("learning_rate").mean_test_accuracy
        return float(sub.max() - sub.loc[NOTES_RATE]), float(sub.idxmax()), float(sub.loc[NOTES_RATE])

    # --- custom Adam vs keras.optimizers.Adam ------------------------------------------------------------
    diffs = {}
    for task in cfg.compare_tasks:
        runs = same_start_runs(ctx, task, data[task], {"keras_repro": Adam(NOTES_RATE),
                                                       "keras": keras.optimizers.Adam(NOTES_RATE)},
                               cfg.compare_steps, ctx.seed_for(2))
        diffs[task] = float(np.abs(runs["keras_repro"]["path"] - runs["keras"]["path"]).max())

    # --- bias correction in the first steps (MLP) -------------------------------------------------------
    early = same_start_runs(ctx, "mlp", data["mlp"], {"bias-corrected": Adam(NOTES_RATE),
                                                      "notes (no correction)": Adam(NOTES_RATE, bias_correction=False)},
                            cfg.early_steps, ctx.seed_for(3))
    sizes = {name: np.linalg.norm(np.diff(run["path"], axis=0), axis=1) for name, run in early.items()}
    ratio = sizes["notes (no correction)"] / sizes["bias-corrected"]
    t = np.arange(1, len(ratio) + 1)
    theory = (1 - 0.9 ** t) / np.sqrt(1 - 0.999 ** t)
    ctx.table("bias_correction_early_steps", pd.DataFrame({
        "step": t, "update_norm_bias_corrected": sizes["bias-corrected"],
        "update_norm_notes": sizes["notes (no correction)"], "ratio_notes_over_corrected": ratio,
        "constant_gradient_theory": theory}), keys=["step"])

    lenet_gap, lenet_best, lenet_at = gap("lenet")
    mlp_gap, mlp_best, mlp_at = gap("mlp")
    ctx.measure("C4.8", **{"lenet_gap_at_3e-4": lenet_gap, "mlp_gap_at_3e-4": mlp_gap},
                custom_vs_keras_max_abs_diff=max(diffs.values()),
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

    # --- figures ----------------------------------------------------------------------------------------
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.8))
    for task in TASKS:
        sub = summary[summary.task == task]
        axes[0].errorbar(sub.learning_rate, sub.mean_test_accuracy, yerr=sub.std_test_accuracy.fillna(0), marker="o",
                         capsize=3, label=f"{task} ({cfg.lenet_epochs if task == 'lenet' else cfg.mlp_epochs} epochs)")
    axes[0].axvline(NOTES_RATE, color="k", ls=":", lw=0.8, label="3e-4 (the notes)")
    axes[0].set_xscale("log")
    axes[0].set_xlabel("Adam learning rate")
    axes[0].set_ylabel(f"held-out accuracy (mean ± std over {cfg.seeds} seeds)")
    axes[0].set_title("C4.8 learning-rate sweep on digits", fontsize=9)
    axes[0].legend(fontsize=8)
    axes[1].plot(t, ratio, ".-", ms=3, lw=0.8, label="measured (MLP)")
    axes[1].plot(t, theory, "-", lw=1, label="constant gradient: (1 − b1ᵗ)/√(1 − b2ᵗ)")
    axes[1].axhline(1, color="k", lw=0.6)
    axes[1].set_xlabel("step t")
    axes[1].set_ylabel("|update| without / with bias correction")
    axes[1].set_title("the notes' formula: larger first steps", fontsize=9)
    axes[1].legend(fontsize=8)
    for name, size in sizes.items():
        axes[2].semilogy(t, size, lw=1, label=name)
    axes[2].set_xlabel("step t")
    axes[2].set_ylabel("|update| (all weights)")
    axes[2].set_title(f"update sizes, lr={NOTES_RATE:g}, same start and batches", fontsize=9)
    axes[2].legend(fontsize=8)
    ctx.figure("C4.8_adam", fig)
