"""LeNet-5 reads handwritten digits: two convolutions, flatten, three dense layers and a softmax.

Claim C5.2. The notes: LeNet (LeCun, 1998), "2 convolutional layers → flatten → 3 fully connected
+ softmax", for handwritten digits (MNIST). LeNet-5 (61,706 parameters at 32×32×1, tanh,
average-pooling subsampling as in the paper) is trained with Adam on the embedded scikit-learn
digits (8×8 scans upsampled bilinearly to 32×32, the input size of the paper) and scored on the
held-out test split; ``--set dataset=tfds:mnist`` (the ``full`` profile) trains on MNIST padded
by resizing to 32×32.

Command: ``repro run lenet`` (MNIST: ``repro run lenet --profile full``)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import keras
import matplotlib.pyplot as plt
import pandas as pd

from keras_repro.data import load_arrays, to_unit_float
from keras_repro.models import lenet5
from keras_repro.suite.claims import Claim, all_of, any_of, at_least, equals, is_true
from keras_repro.suite.config import ReproConfig, setting
from keras_repro.suite.registry import reproduction


def digit_dataset_kind(spec: str) -> str:
    """``"digits"`` or ``"mnist"`` (the two sets the claim's thresholds are defined for); anything else fails."""
    name = spec.strip().removeprefix("tfds:")
    if name in ("digits", "mnist"):
        return name
    raise ValueError(f"the LeNet claim has thresholds for the embedded digits (97%) and MNIST (99%) only. "
                     f"Received: dataset={spec!r}")


@dataclass
class Config(ReproConfig):
    dataset: str = setting("digits", "digits (embedded) or tfds:mnist: the sets the claim has thresholds for",
                           check=digit_dataset_kind)
    data_dir: str = setting("", "tfds data directory with prepared data ('': tfds's default)")
    epochs: int = setting(30, "training epochs", ge=1)
    batch_size: int = setting(32, "minibatch size", ge=1)
    learning_rate: float = setting(1e-3, "Adam learning rate", gt=0)
    activation: str = setting("tanh", "hidden activation, a Keras name (the paper: a scaled tanh)",
                              check=keras.activations.get)
    subsampling: Literal["average", "max"] = setting("average", "pooling: average (the paper's subsampling) or max")
    PROFILES = {"smoke": {"epochs": 1}, "full": {"dataset": "tfds:mnist", "epochs": 20, "batch_size": 128}}
    DRY_RUN = {"epochs": 1}  # --dry-run: budgets only


CLAIMS = [
    Claim("C5.2", "LeNet-5 (2 conv -> flatten -> 3 dense + softmax, about 60k parameters) recognises handwritten "
                  "digits.",
          rule=all_of(equals("parameters", 61_706),
                      any_of(all_of(is_true("on_digits"), at_least("test_accuracy", 0.97)),
                             all_of(is_true("on_mnist"), at_least("test_accuracy", 0.99))))),
]


def plot_curves(history: dict) -> plt.Figure:
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.8))
    epochs = range(1, len(history["loss"]) + 1)
    ax_loss.plot(epochs, history["loss"], label="train")
    ax_loss.plot(epochs, history["val_loss"], label="test")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", yscale="log", title="LeNet-5 loss")
    ax_acc.plot(epochs, history["accuracy"], label="train")
    ax_acc.plot(epochs, history["val_accuracy"], label="test")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="LeNet-5 accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    return fig


@reproduction("lenet", title="LeNet-5 on handwritten digits", claims=CLAIMS, config=Config)
def run(ctx):
    cfg = ctx.config
    kind = digit_dataset_kind(cfg.dataset)
    data = load_arrays(cfg.dataset, image_size=32, channels=1, data_dir=cfg.data_dir or None)
    x_train, x_test = to_unit_float(data.x_train), to_unit_float(data.x_test)
    ctx.progress(f"{cfg.dataset}: {len(x_train)} training and {len(x_test)} test images, 32×32×1")

    with ctx.scope():
        model = lenet5(input_shape=(32, 32, 1), classes=len(data.class_names), activation=cfg.activation,
                       subsampling=cfg.subsampling)
        model.compile(keras.optimizers.Adam(cfg.learning_rate), "sparse_categorical_crossentropy",
                      metrics=["accuracy"])
    history = ctx.fit(model, x_train, data.y_train, epochs=cfg.epochs, batch_size=cfg.batch_size,
                      validation_data=(x_test, data.y_test), label="lenet5")
    test_loss, test_accuracy = model.evaluate(x_test, data.y_test, verbose=0)

    curves = pd.DataFrame({"epoch": range(1, cfg.epochs + 1), **{k: v for k, v in history.history.items()}})
    ctx.table("training_curves", curves, keys=["epoch"])
    layers = pd.DataFrame([{"layer": layer.name, "kind": type(layer).__name__,
                            "output_shape": str(tuple(layer.output.shape[1:])), "parameters": layer.count_params()}
                           for layer in model.layers[1:]])
    ctx.table("architecture", layers, keys=["layer"])
    ctx.figure("training_curves", plot_curves(history.history))
    ctx.save_model("lenet5", model, preprocessing={"scale": 1 / 255})  # to_unit_float: x / 255
    ctx.measure("C5.2", parameters=model.count_params(), on_digits=kind == "digits", on_mnist=kind == "mnist",
                test_accuracy=float(test_accuracy), test_loss=float(test_loss),
                train_accuracy=float(history.history["accuracy"][-1]), test_images=len(x_test))
