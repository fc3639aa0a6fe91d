"""The overfitting gap of small classifiers: validation loss − training loss, both in inference mode.

Used by C6.1, C6.4 and C6.5 on :func:`keras_repro.data.digits_split`'s small training sets: :func:`fit_tracking_gap`
trains on it (:class:`RepeatedArrays`: several passes per Keras epoch) while :class:`GapRecorder`
measures the gap, and :func:`plot_gap_curves` draws it.

The gap is measured on the loss because on a small training set the training accuracy of every
variant reaches 100 %, so an accuracy gap only repeats the validation accuracy.
"""
from __future__ import annotations

from typing import Callable

import keras
import numpy as np

from keras_repro.data.embedded import DigitsSplit
from keras_repro.measures.classification import classification_scores, inference_outputs


class GapRecorder(keras.callbacks.Callback):
    """Records inference-mode loss and accuracy on the training and validation sets every ``every``
    epochs (and after the last), so the gap does not include the dropout noise of the training loss.

    ``self.rows``: dicts with ``epoch``, ``train_loss``, ``val_loss``, ``train_acc``, ``val_acc``,
    ``loss_gap`` (val − train loss) and ``acc_gap`` (train − val accuracy).
    """

    reads_only_self_model = True  # the runtime may train a twin of the model (Runtime._twin_for)

    def __init__(self, train: tuple[np.ndarray, np.ndarray], val: tuple[np.ndarray, np.ndarray], every: int = 1):
        super().__init__()
        if every < 1:
            raise ValueError(f"every must be >= 1. Received: every={every}")
        self.train, self.val, self.every = train, val, every
        self.rows: list[dict] = []

    def on_epoch_end(self, epoch, logs=None):
        last = epoch + 1 == self.params.get("epochs")
        if (epoch + 1) % self.every == 0 or last or self.model.stop_training:
            self.rows.append({"epoch": epoch + 1, **measure_gap(self.model, self.train, self.val)})


class RepeatedArrays(keras.utils.PyDataset):
    """Mini-batches from ``repeats`` shuffled passes over ``(x, y)`` per epoch, optionally transformed.

    On a training set of a few hundred examples, Keras's fixed cost per epoch outweighs the
    training itself, so one epoch of ``fit`` here is ``repeats`` passes. ``transform(x_batch, rng)``
    (e.g. noise augmentation) is applied afresh to every batch, drawing from a NumPy generator
    seeded with ``seed``.
    """

    # Every epoch: (x, y) NumPy batches, len(self) of them, each of batch_size examples but the last. The runtime
    # may then feed them on TensorFlow from a tf.data dataset (Runtime._batches_as_dataset).
    fixed_batches = True

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, repeats: int = 1, seed: int = 0,
                 transform: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None):
        super().__init__()
        if batch_size < 1 or repeats < 1:
            raise ValueError(f"batch_size and repeats must be >= 1. Received: batch_size={batch_size}, "
                             f"repeats={repeats}")
        self.x, self.y, self.batch_size, self.repeats, self.transform = x, y, batch_size, repeats, transform
        self.rng = np.random.default_rng(seed)
        self.on_epoch_end()

    def on_epoch_end(self):
        self.order = np.concatenate([self.rng.permutation(len(self.x)) for _ in range(self.repeats)])

    def __len__(self):
        return -(-len(self.order) // self.batch_size)

    def __getitem__(self, index):
        rows = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        x = self.x[rows]
        if self.transform is not None:
            x = self.transform(x, self.rng).astype(self.x.dtype)
        return x, self.y[rows]


def fit_tracking_gap(fit: Callable, model: keras.Model, split: DigitsSplit, *, epochs: int, repeats: int,
                     batch_size: int, seed: int, label: str = "", transform=None) -> list[dict]:
    """Train a compiled ``model`` on ``split``'s training set with ``fit`` (``ctx.fit``) and return
    :class:`GapRecorder`'s rows, one per epoch (each epoch = ``repeats`` passes)."""
    data = RepeatedArrays(split.x_train, split.y_train, batch_size, repeats, seed, transform)
    recorder = GapRecorder((split.x_train, split.y_train), (split.x_val, split.y_val))
    fit(model, data, epochs=epochs, callbacks=[recorder], label=label)
    return recorder.rows


def measure_gap(model: keras.Model, train: tuple[np.ndarray, np.ndarray], val: tuple[np.ndarray, np.ndarray]) -> dict:
    train_loss, train_acc = classification_scores(inference_outputs(model, train[0]), train[1])
    val_loss, val_acc = classification_scores(inference_outputs(model, val[0]), val[1])
    return {"train_loss": train_loss, "val_loss": val_loss, "train_acc": train_acc, "val_acc": val_acc,
            "loss_gap": val_loss - train_loss, "acc_gap": train_acc - val_acc}


def plot_gap_curves(curves, second: str, second_label: str):
    """Two panels from per-epoch rows (``variant, seed, epoch, loss_gap, <second>``), means over seeds:
    the overfitting gap, and ``second`` (e.g. ``val_loss`` or ``val_acc``)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for k, (name, part) in enumerate(curves.groupby("variant", sort=False)):
        mean = part.groupby("epoch")[["loss_gap", second]].mean()
        axes[0].plot(mean.index, mean["loss_gap"], color=f"C{k}", label=name)
        axes[1].plot(mean.index, mean[second], color=f"C{k}", label=name)
    axes[0].set(xlabel="epoch", ylabel="validation − training loss", title="overfitting gap (mean over seeds)")
    axes[1].set(xlabel="epoch", ylabel=second_label, title=f"{second_label} (mean over seeds)")
    axes[0].legend()
    return fig
