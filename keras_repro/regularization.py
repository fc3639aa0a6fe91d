"""Measurements for section 6 of the notes (regularisation and normalisation).

Small functions that the reproductions ``l2_smoothing``, ``l1_selection``, ``dropout``,
``dropconnect``, ``batchnorm`` and ``overfitting_levers`` compose, each testable on known inputs:

- :func:`local_minima` / :func:`cosine_ridge_minima`: the local minima of ``cos(a) + λa²`` (C6.2);
- :func:`feature_selection`: which weights a penalty zeroes (C6.3);
- :func:`relative_error`: Monte-Carlo expectation against an inference output (C6.4);
- :func:`digits_split`, :class:`GapRecorder`, :func:`classification_scores`: the overfitting gap
  (validation loss − training loss, both in inference mode) of small classifiers (C6.1, C6.4, C6.5);
- :class:`StepsToTarget`: training steps until a validation accuracy is reached (C6.6);
- :func:`batchnorm_inference`, :func:`moving_statistics`: BatchNorm's inference formula and the
  moving statistics the notes (EMA of the std) and Keras (EMA of the variance) keep (C6.6).

The gap is measured on the loss because on a small training set the training accuracy of every
variant reaches 100 %, so an accuracy gap only repeats the validation accuracy.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import keras
import numpy as np
from scipy.optimize import brentq

# -- C6.2: local minima of a 1-D loss -------------------------------------------------------------


def local_minima(derivative: Callable[[np.ndarray], np.ndarray], low: float, high: float,
                 step: float = 1e-3) -> np.ndarray:
    """Interior local minima of a smooth function on ``[low, high]`` from its ``derivative``.

    A minimum is where the derivative changes sign from negative to non-negative between two grid
    points ``step`` apart; each one is refined with Brent's method. Minima closer together than
    ``step`` (two sign changes in one cell) would be missed, so ``step`` must be finer than the
    spacing of the critical points.
    """
    if not high > low or step <= 0:
        raise ValueError(f"need low < high and step > 0. Received: low={low}, high={high}, step={step}")
    grid = np.linspace(low, high, int(round((high - low) / step)) + 1)
    slope = derivative(grid)
    cells = np.flatnonzero((slope[:-1] < 0) & (slope[1:] >= 0))
    return np.array([grid[i + 1] if slope[i + 1] == 0 else brentq(derivative, grid[i], grid[i + 1]) for i in cells])


def cosine_ridge_slope(lam: float) -> Callable[[np.ndarray], np.ndarray]:
    """``L'(a)`` for the notes' example ``L(a) = cos(a) + λa²``: ``-sin(a) + 2λa``."""
    return lambda a: -np.sin(a) + 2.0 * lam * a


def cosine_ridge_minima(lam: float, half_width: float, step: float = 1e-3) -> np.ndarray:
    """Local minima of ``cos(a) + λa²`` on ``[-half_width, half_width]``.

    ``L''(a) = 2λ - cos(a)``, so for ``λ > 1/2`` the function is strictly convex and ``a = 0`` is
    its only minimum; for ``λ < 1/2``, ``L''(0) < 0`` makes ``a = 0`` a maximum with a minimum on
    each side.
    """
    return local_minima(cosine_ridge_slope(lam), -half_width, half_width, step)


def is_non_increasing(values) -> bool:
    values = np.asarray(values)
    return bool(np.all(np.diff(values) <= 0))


# -- C6.3: feature selection ----------------------------------------------------------------------


def feature_selection(weights, true_weights, zero_tol: float = 1e-3, keep_ratio: float = 0.5) -> dict:
    """How a learned weight vector treats informative (``true_weights != 0``) and noise features.

    Returns ``noise_zero_fraction`` (share of noise weights with ``|w| < zero_tol``),
    ``informative_kept`` (every informative weight has the true sign and at least ``keep_ratio`` of
    the true magnitude) and ``informative_min_ratio`` (smallest ``w / w_true`` over informative ones).
    """
    weights, true_weights = np.ravel(weights), np.ravel(true_weights)
    if weights.shape != true_weights.shape:
        raise ValueError(f"weights and true_weights differ in shape: {weights.shape} vs {true_weights.shape}")
    informative = true_weights != 0
    if informative.all() or not informative.any():
        raise ValueError("true_weights must contain both informative (non-zero) and noise (zero) entries")
    ratio = weights[informative] / true_weights[informative]
    return {
        "noise_zero_fraction": float(np.mean(np.abs(weights[~informative]) < zero_tol)),
        "informative_kept": bool(np.all(ratio >= keep_ratio)),
        "informative_min_ratio": float(ratio.min()),
    }


# -- C6.4: Monte-Carlo expectation ----------------------------------------------------------------


def relative_error(estimate, reference) -> float:
    """``‖estimate − reference‖ / ‖reference‖`` (Euclidean norms over all elements)."""
    estimate, reference = np.asarray(estimate, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    norm = np.linalg.norm(reference)
    if norm == 0:
        raise ValueError("the reference is zero: a relative error is undefined")
    return float(np.linalg.norm(estimate - reference) / norm)


def monte_carlo_mean(sample: Callable[[np.ndarray], np.ndarray], x: np.ndarray, n_samples: int,
                     chunk: int = 1000) -> np.ndarray:
    """Mean of ``sample(batch)`` over ``n_samples`` independent draws for each row of ``x``.

    ``x`` is tiled ``chunk`` times per call, so a stochastic layer draws ``chunk`` masks per row at
    once; returns an array shaped like ``sample(x)``.
    """
    if n_samples < 1 or chunk < 1:
        raise ValueError(f"n_samples and chunk must be positive. Received: n_samples={n_samples}, chunk={chunk}")
    total, done = None, 0
    while done < n_samples:
        k = min(chunk, n_samples - done)
        out = np.asarray(sample(np.tile(x, (k,) + (1,) * (x.ndim - 1))), dtype=np.float64)
        part = out.reshape((k, x.shape[0]) + out.shape[1:]).sum(axis=0)
        total = part if total is None else total + part
        done += k
    return total / n_samples


def bernoulli_mc_error(x, kernel, keep_prob: float, samples: int, reference, scale: float = 1.0) -> float:
    """Expected relative error of a ``samples``-draw Monte-Carlo mean of ``z = (x ⊙ m ⊙ scale) · W``
    with ``m ~ Bernoulli(keep_prob)`` drawn per element of ``x`` (dropout) or per weight (DropConnect:
    the same variance, since each product ``x_i·W_ij`` is kept independently either way).

    ``Var[z_j] = Σ_i p(1 − p)·(scale·x_i)²·W_ij²`` for one draw; the expected error is the root of
    the summed variances over ``samples``, divided by ``‖reference‖`` as in :func:`relative_error`.
    """
    x, kernel = np.asarray(x, np.float64), np.asarray(kernel, np.float64)
    variance = keep_prob * (1 - keep_prob) * (scale * x) ** 2 @ kernel**2
    return float(np.sqrt(variance.sum() / samples) / np.linalg.norm(reference))


# -- C6.1, C6.4, C6.5: the overfitting gap of small classifiers -----------------------------------


@dataclass(frozen=True)
class Split:
    """Flattened 8×8 digits scaled to [0, 1]: a small training set, a validation set, a test set."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def digits_split(per_class: int, n_val: int, seed: int) -> Split:
    """scikit-learn's digits (1797 images, 64 features): ``per_class`` training examples of each
    digit, ``n_val`` validation examples, the rest for test (drawn with ``seed``)."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    y = y.astype("int32")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    train = np.concatenate([order[y[order] == c][:per_class] for c in range(10)])
    if len(train) != 10 * per_class:
        raise ValueError(f"not enough examples for per_class={per_class}")
    rest = np.setdiff1d(order, train, assume_unique=True)
    rest = rest[rng.permutation(len(rest))]
    if n_val >= len(rest):
        raise ValueError(f"n_val={n_val} leaves no test examples ({len(rest)} remain after training)")
    train = train[rng.permutation(len(train))]
    val, test = rest[:n_val], rest[n_val:]
    return Split(x[train], y[train], x[val], y[val], x[test], y[test])


def classification_scores(probabilities, labels) -> tuple[float, float]:
    """(cross-entropy, accuracy) of predicted class ``probabilities`` for integer ``labels``."""
    p = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(labels)
    picked = np.clip(p[np.arange(len(labels)), labels], 1e-7, 1.0)
    return float(-np.mean(np.log(picked))), float(np.mean(p.argmax(axis=1) == labels))


def inference_outputs(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """Inference-mode outputs of ``model`` (no dropout), without ``predict``'s progress bar."""
    return keras.ops.convert_to_numpy(model(x, training=False))


class GapRecorder(keras.callbacks.Callback):
    """Records inference-mode loss and accuracy on the training and validation sets every ``every``
    epochs (and after the last), so the gap does not include the dropout noise of the training loss.

    ``self.rows``: dicts with ``epoch``, ``train_loss``, ``val_loss``, ``train_acc``, ``val_acc``,
    ``loss_gap`` (val − train loss) and ``acc_gap`` (train − val accuracy).
    """

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


def fit_tracking_gap(fit: Callable, model: keras.Model, split: Split, *, epochs: int, repeats: int,
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


def paired_comparison(table, value: str, column: str, treated, control, pair: str = "seed") -> dict:
    """``value`` of the rows where ``column == treated`` minus those where ``column == control``,
    paired by ``pair`` (e.g. the seed): the mean difference, in how many pairs the treated value is
    lower, and the standard deviation of the differences (to see whether a mean is within noise)."""
    a = table[table[column] == treated].set_index(pair)[value]
    b = table[table[column] == control].set_index(pair)[value]
    difference = (a - b.reindex(a.index)).to_numpy(dtype=float)
    std = float(difference.std(ddof=1)) if len(difference) > 1 else float("nan")
    # t = mean / standard error: the rules ask for t < -2, i.e. a decrease beyond the seed-to-seed noise
    # (a mean below 0 alone can be one lucky seed).
    t = float(difference.mean() / (std / np.sqrt(len(difference)))) if len(difference) > 1 and std > 0 else \
        (float("-inf") if difference.mean() < 0 else float("inf")) if len(difference) > 1 else float("nan")
    return {"mean": float(difference.mean()), "lower_in": int(np.sum(difference < 0)), "pairs": len(difference),
            "std": std, "t": t}


def describe_paired(name: str, comparison: dict) -> str:
    """One sentence for a claim's note: the paired difference and whether it is within the seed spread."""
    text = (f"{name}: mean difference {comparison['mean']:+.4g}, lower in {comparison['lower_in']} of "
            f"{comparison['pairs']} seeds")
    if comparison["pairs"] > 1:
        within = abs(comparison["mean"]) < 2 * comparison["std"] / np.sqrt(comparison["pairs"])
        text += f" (std of the paired differences {comparison['std']:.3g}; " + \
            ("within two standard errors of 0, so not significant at this number of seeds)" if within else
             "more than two standard errors from 0)")
    return text + "."


# -- C6.6: steps to a target accuracy; BatchNorm's statistics -------------------------------------


class StepsToTarget(keras.callbacks.Callback):
    """Evaluates validation accuracy every ``every`` training steps and stops training at ``target``.

    ``self.curve``: (step, accuracy) pairs; ``self.steps``: the first evaluated step whose accuracy
    reached ``target``, or ``None`` if the budget ran out first.
    """

    def __init__(self, x_val: np.ndarray, y_val: np.ndarray, target: float, every: int):
        super().__init__()
        if not 0 < target <= 1 or every < 1:
            raise ValueError(f"need 0 < target <= 1 and every >= 1. Received: target={target}, every={every}")
        self.x_val, self.y_val, self.target, self.every = x_val, y_val, target, every
        self.curve: list[tuple[int, float]] = []
        self.steps: int | None = None
        self._step = 0

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        if self._step % self.every:
            return
        _, accuracy = classification_scores(inference_outputs(self.model, self.x_val), self.y_val)
        self.curve.append((self._step, accuracy))
        if accuracy >= self.target and self.steps is None:
            self.steps = self._step
            self.model.stop_training = True


def batchnorm_inference(x, layer: keras.layers.BatchNormalization) -> np.ndarray:
    """The inference formula with the layer's moving statistics, in NumPy float64:
    ``(x − moving_mean) / sqrt(moving_variance + ε) · γ + β`` (over the last axis)."""
    mean = np.asarray(layer.moving_mean.numpy(), np.float64)
    var = np.asarray(layer.moving_variance.numpy(), np.float64)
    gamma = np.asarray(layer.gamma.numpy(), np.float64) if layer.scale else 1.0
    beta = np.asarray(layer.beta.numpy(), np.float64) if layer.center else 0.0
    return (np.asarray(x, np.float64) - mean) / np.sqrt(var + layer.epsilon) * gamma + beta


def moving_statistics(batch_means, batch_variances, momentum: float) -> dict:
    """EMAs of per-batch statistics as Keras updates them (``m ← momentum·m + (1 − momentum)·x``,
    starting from mean 0 and variance 1): the mean, the variance (what Keras keeps) and the
    standard deviation (what the notes write, ``x_std = EMA(x_std_batch)``), per feature."""
    mean = np.zeros(np.shape(batch_means)[1])
    var, std = np.ones_like(mean), np.ones_like(mean)
    for m, v in zip(np.asarray(batch_means, np.float64), np.asarray(batch_variances, np.float64)):
        mean = momentum * mean + (1 - momentum) * m
        var = momentum * var + (1 - momentum) * v
        std = momentum * std + (1 - momentum) * np.sqrt(v)
    return {"mean": mean, "variance": var, "std": std}


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
