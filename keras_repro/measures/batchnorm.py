"""BatchNorm's inference formula and the moving statistics the notes and Keras keep (C6.6).

The notes keep an EMA of the batch standard deviation (``x_std = EMA(x_std_batch)``); Keras keeps an
EMA of the variance. :func:`moving_statistics` computes both, :func:`batchnorm_inference` applies a
layer's own statistics in float64.
"""
from __future__ import annotations

import keras
import numpy as np


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
