"""Vanishing gradients: σ′ ≤ 1/4 starves the first layers of a deep sigmoid net; ReLU fixes it.

Claim C5.4. The notes (under AlexNet): "d/dx sigmoid ≤ 0.25, so the gradient in the first layers is
small and they learn slowly (vanishing gradients). ReLU was proposed (now also ELU, leaky ReLU and
SELU)." Backpropagation multiplies one activation derivative per layer, so with σ′ ≤ 1/4 the
gradient reaching layer 1 of a deep sigmoid net shrinks geometrically with depth.

(a) σ′ by automatic differentiation on a float64 grid: its maximum is exactly 0.25 (at 0); the
other activations' largest slopes for comparison. (b) The same deep MLP (``depth`` hidden layers,
the same Glorot initial weights for every activation) on the embedded digits: gradient norm of
every layer at initialisation and after every epoch of plain SGD with momentum, on a fixed batch.
The first-to-last ratio is ‖∂L/∂W₁‖ / ‖∂L/∂W_out‖. (c) Epochs until test accuracy first reaches
``target_accuracy``.

Command: ``repro run vanishing_gradients``
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from keras_repro.data import in_memory_spec, load_arrays
from keras_repro.measures.gradients import elementwise_derivative, layer_gradient_norms
from keras_repro.models import mlp
from keras_repro.suite.claims import Claim, all_of, at_least, custom, equals
from keras_repro.suite.config import ConfigError, ReproConfig, setting
from keras_repro.suite.registry import reproduction


@dataclass
class Config(ReproConfig):
    dataset: str = setting("digits", "labelled images held in memory: digits, faces, shapes or tfds:NAME",
                           check=in_memory_spec)
    depth: int = setting(12, "hidden layers of the MLP", ge=1)
    width: int = setting(64, "units per hidden layer", ge=1)
    activations: tuple[str, ...] = setting(("sigmoid", "relu", "elu", "leaky_relu", "selu"),
                                           "hidden activations compared, Keras names (with sigmoid and relu)",
                                           check=keras.activations.get)
    epochs: int = setting(30, "training epochs", ge=1)
    batch_size: int = setting(32, "minibatch size", ge=1)
    learning_rate: float = setting(0.01, "SGD learning rate", gt=0)
    momentum: float = setting(0.9, "SGD momentum", ge=0, lt=1)
    target_accuracy: float = setting(0.9, "test accuracy whose first hit is counted (epochs to target)", gt=0, le=1)
    probe_size: int = setting(256, "training examples in the fixed batch the gradient norms are measured on", ge=1)
    PROFILES = {"smoke": {"depth": 10, "width": 16, "activations": ("sigmoid", "relu"), "epochs": 2},
                "full": {"dataset": "tfds:mnist", "depth": 20, "width": 256, "epochs": 50}}
    DRY_RUN = {"epochs": 1, "probe_size": 32}  # --dry-run: budgets only

    def validate(self):
        missing = [a for a in ("sigmoid", "relu") if a not in self.activations]
        if missing:
            raise ConfigError(f"activations must include sigmoid and relu (the claim compares them). "
                              f"Missing: {', '.join(missing)}")


def _epochs_rule(m):
    return m["relu_epochs_to_target"] < m["sigmoid_epochs_to_target"]


CLAIMS = [
    Claim("C5.4", "d/dx sigmoid <= 0.25, so gradients vanish in the first layers of a deep sigmoid net; ReLU "
                  "fixes it.",
          rule=all_of(equals("sigmoid_derivative_max", 0.25), at_least("depth", 10),
                      at_least("relu_ratio_over_sigmoid_ratio", 100),
                      custom("relu_epochs_to_target < sigmoid_epochs_to_target (inf: never reached)", _epochs_rule,
                             reads=("relu_epochs_to_target", "sigmoid_epochs_to_target")))),
]


def first_to_last_ratio(norms: dict[str, float]) -> float:
    """‖∂L/∂W‖ of the first weighted layer over that of the last (input side first, as returned)."""
    values = list(norms.values())
    return values[0] / values[-1]


def epochs_to_target(accuracies, target: float) -> float:
    """The 1-based epoch at which ``accuracies`` first reaches ``target``; ``inf`` if it never does."""
    for epoch, accuracy in enumerate(accuracies, start=1):
        if accuracy >= target:
            return float(epoch)
    return math.inf


class GradientNormProbe(keras.callbacks.Callback):
    """Records every layer's gradient norm on a fixed batch after each epoch."""

    reads_only_self_model = True  # the runtime may train a twin of the model (Runtime._twin_for)

    def __init__(self, x, y):
        super().__init__()
        self.x, self.y = x, y
        self.history: list[dict[str, float]] = []

    def on_epoch_end(self, epoch, logs=None):
        self.history.append(layer_gradient_norms(self.model, self.x, self.y))


def flat_digits(cfg):
    arr = load_arrays(cfg.dataset, channels=1)
    return (*arr.features(), arr.num_classes)


def plot_norms(rows: pd.DataFrame, curves: pd.DataFrame, epochs: int, target: float):
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for ax, epoch, title in ((axes[0], 0, "at initialisation"), (axes[1], epochs, f"after epoch {epochs}")):
        for activation, group in rows[rows["epoch"] == epoch].groupby("activation", sort=False):
            ax.semilogy(group["layer_index"], group["gradient_norm"], "o-", ms=3, label=activation)
        sigmoid = rows[(rows["epoch"] == epoch) & (rows["activation"] == "sigmoid")]
        if len(sigmoid):  # guide: a factor sigma' <= 1/4 per layer, anchored at the output layer
            last = sigmoid.iloc[-1]
            ax.semilogy(sigmoid["layer_index"], last["gradient_norm"] * 0.25 ** (last["layer_index"]
                        - sigmoid["layer_index"]), "k--", lw=0.8, label="x 1/4 per layer")
        ax.set(xlabel="layer (1 = next to the input)", ylabel="‖∂L/∂W‖ on a fixed batch",
               title=f"gradient norm vs depth, {title}")
        ax.grid(alpha=0.3, which="both")
    axes[0].legend(fontsize=8)
    for activation, group in curves.groupby("activation", sort=False):
        axes[2].plot(group["epoch"], group["test_accuracy"], label=activation)
    axes[2].axhline(target, color="k", ls="--", lw=0.8, label=f"target {target:g}")
    axes[2].set(xlabel="epoch", ylabel="test accuracy", title="learning speed", ylim=(0, 1))
    axes[2].legend(fontsize=8)
    axes[2].grid(alpha=0.3)
    return fig


@reproduction("vanishing_gradients", title="Vanishing gradients: sigmoid vs ReLU (and ELU, leaky ReLU, SELU)",
              claims=CLAIMS, config=Config)
def run(ctx):
    cfg = ctx.config

    # (a) the slope of each activation, by autodiff on a float64 grid that contains 0
    grid = np.union1d(np.linspace(-10.0, 10.0, 20001), [0.0])
    slopes = pd.DataFrame([{"activation": name, "max_derivative": float(elementwise_derivative(
        keras.activations.get(name), grid).max())} for name in cfg.activations if name != "linear"])
    ctx.table("activation_slopes", slopes, keys=["activation"])
    sigmoid_max = float(elementwise_derivative(keras.activations.sigmoid, grid).max())

    # (b, c) one deep MLP per activation, same initial weights and batches
    x_train, y_train, x_test, y_test, classes = flat_digits(cfg)
    probe_x, probe_y = x_train[: cfg.probe_size], y_train[: cfg.probe_size]
    norm_rows, curve_rows, summary = [], [], []
    for activation in cfg.activations:
        ctx.reseed(1)  # identical Glorot draws and shuffles for every activation
        with ctx.scope():
            model = mlp(x_train.shape[1], [cfg.width] * cfg.depth, classes, activation=activation,
                        output_activation="softmax", name=f"mlp_{activation}")
            model.compile(keras.optimizers.SGD(cfg.learning_rate, momentum=cfg.momentum),
                          "sparse_categorical_crossentropy", metrics=["accuracy"])
        probe = GradientNormProbe(probe_x, probe_y)
        probe.history.append(layer_gradient_norms(model, probe_x, probe_y))
        history = ctx.fit(model, x_train, y_train, epochs=cfg.epochs, batch_size=cfg.batch_size,
                          validation_data=(x_test, y_test), callbacks=[probe], label=activation)
        for epoch, norms in enumerate(probe.history):
            norm_rows += [{"activation": activation, "epoch": epoch, "layer_index": i, "layer": name,
                           "gradient_norm": value} for i, (name, value) in enumerate(norms.items(), start=1)]
        accuracy = history.history["val_accuracy"]
        curve_rows += [{"activation": activation, "epoch": e, "train_loss": history.history["loss"][e - 1],
                        "test_accuracy": accuracy[e - 1]} for e in range(1, cfg.epochs + 1)]
        summary.append({"activation": activation,
                        "first_to_last_ratio_at_init": first_to_last_ratio(probe.history[0]),
                        "first_to_last_ratio_final": first_to_last_ratio(probe.history[-1]),
                        "epochs_to_target": epochs_to_target(accuracy, cfg.target_accuracy),
                        "final_test_accuracy": accuracy[-1]})
        ctx.progress(f"{activation}: ratio at init {summary[-1]['first_to_last_ratio_at_init']:.3g}, "
                     f"epochs to {cfg.target_accuracy:g}: {summary[-1]['epochs_to_target']:g}")
    norms_df, curves, summary_df = pd.DataFrame(norm_rows), pd.DataFrame(curve_rows), pd.DataFrame(summary)
    ctx.table("gradient_norms", norms_df, keys=["activation", "epoch", "layer_index"])
    ctx.table("training_curves", curves, keys=["activation", "epoch"])
    ctx.table("summary", summary_df, keys=["activation"])
    ctx.figure("gradient_norm_vs_depth", plot_norms(norms_df, curves, cfg.epochs, cfg.target_accuracy))

    by = summary_df.set_index("activation")
    ctx.measure("C5.4", sigmoid_derivative_max=sigmoid_max, depth=cfg.depth,
                relu_ratio_over_sigmoid_ratio=by.loc["relu", "first_to_last_ratio_at_init"]
                / by.loc["sigmoid", "first_to_last_ratio_at_init"],
                relu_epochs_to_target=by.loc["relu", "epochs_to_target"],
                sigmoid_epochs_to_target=by.loc["sigmoid", "epochs_to_target"],
                sigmoid_ratio_at_init=by.loc["sigmoid", "first_to_last_ratio_at_init"],
                relu_ratio_at_init=by.loc["relu", "first_to_last_ratio_at_init"])
    ctx.note("C5.4", f"MLP with {cfg.depth} hidden layers of {cfg.width} units, Glorot-uniform initial weights "
                     f"shared by all activations, SGD(lr={cfg.learning_rate:g}, momentum={cfg.momentum:g}); SELU is "
                     "usually paired with LeCun-normal weights, which are not used here so that only the "
                     "activation differs.")
