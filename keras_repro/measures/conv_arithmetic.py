"""Convolution arithmetic: output sizes, receptive fields and weight counts of stacked kernels.

Two ways to every number: the closed form the notes and the VGG paper state, and a measurement on
real Keras layers (an output's shape, the support of an impulse response, ``count_params``), so a
reproduction can check one against the other.
"""
from __future__ import annotations

from typing import Sequence

import keras
import numpy as np
from keras import ops


def conv_output_size(n: int, k: int, p: int = 0, s: int = 1) -> int:
    """``floor((n + 2p − k) / s) + 1``: the side of a convolution's (or pooling's) output."""
    if n < 1 or k < 1 or p < 0 or s < 1:
        raise ValueError(f"need n, k, s >= 1 and p >= 0. Received: n={n}, k={k}, p={p}, s={s}")
    if n + 2 * p < k:
        raise ValueError(f"the kernel is larger than the padded input. Received: n={n}, k={k}, p={p}")
    return (n + 2 * p - k) // s + 1


def same_padding_output_size(n: int, k: int, s: int = 1) -> int:
    """Keras/TF ``padding="same"``: total padding ``max((ceil(n/s) − 1)·s + k − n, 0)``, split low/high.

    With that total padding ``P`` the formula reads ``floor((n + P − k)/s) + 1`` and always gives
    ``ceil(n / s)``; for ``s = 1`` and odd ``k`` it is the symmetric ``p = (k − 1)/2``.
    """
    total = max((-(-n // s) - 1) * s + k - n, 0)
    return (n + total - k) // s + 1


def receptive_field(layers: Sequence[tuple[int, int]]) -> int:
    """Receptive field (in input pixels, per side) of a stack of ``(kernel, stride)`` layers.

    ``r ← r + (k − 1)·j`` and ``j ← j·s`` from the input up: two stacked 3×3/1 convolutions see 5×5,
    three see 7×7.
    """
    field, jump = 1, 1
    for kernel, stride in layers:
        field += (kernel - 1) * jump
        jump *= stride
    return field


def measured_receptive_field(kernels: Sequence[int], side: int = 31) -> int:
    """The receptive field of stacked stride-1 convolutions, measured on Keras ``Conv2D`` layers.

    Every kernel is all ones (no cancellation can hide a dependency); the response of the stack to a
    single bright pixel is non-zero exactly on the output pixels whose receptive field contains it,
    and that support is as wide as the receptive field.
    """
    image = np.zeros((1, side, side, 1), "float32")
    image[0, side // 2, side // 2, 0] = 1.0
    x = ops.convert_to_tensor(image)
    for i, k in enumerate(kernels):
        layer = keras.layers.Conv2D(1, k, padding="same", use_bias=False, kernel_initializer="ones", name=f"rf_conv{i}")
        x = layer(x)
    response = ops.convert_to_numpy(x)[0, :, :, 0]
    rows = np.flatnonzero(np.abs(response).max(axis=1) > 0)
    return int(rows[-1] - rows[0] + 1)


def stacked_conv_weights(kernels: Sequence[int], channels: int) -> int:
    """Weights (no biases) of stacked ``k×k`` convolutions with ``channels`` in and out, from Keras layers."""
    inputs = keras.Input((None, None, channels))
    x = inputs
    for i, k in enumerate(kernels):
        x = keras.layers.Conv2D(channels, k, padding="same", use_bias=False, name=f"stack_conv{i}")(x)
    return int(keras.Model(inputs, x).count_params())


# -- measured on Keras layers -------------------------------------------------------------------------
def measured_output_side(n: int, k: int, p: int = 0, s: int = 1, *, layer: str = "conv", padding: str = "explicit",
                         channels: int = 1, filters: int = 1) -> tuple[int, int]:
    """(side, channels) of a real Keras layer's output on an ``n×n×channels`` input.

    ``layer``: ``"conv"`` (``Conv2D(filters, k, strides=s)``), ``"max"`` or ``"avg"`` pooling (``k×k``,
    stride ``s``). ``padding="explicit"``: ``ZeroPadding2D(p)`` then ``padding="valid"``;
    ``padding="same"``: Keras's ``padding="same"`` (``p`` is ignored).
    """
    if layer not in ("conv", "max", "avg"):
        raise ValueError(f"layer must be 'conv', 'max' or 'avg'. Received: layer={layer!r}")
    if padding not in ("explicit", "same"):
        raise ValueError(f"padding must be 'explicit' or 'same'. Received: padding={padding!r}")
    x = ops.zeros((1, n, n, channels))
    if padding == "explicit" and p:
        x = keras.layers.ZeroPadding2D(p)(x)
    mode = "valid" if padding == "explicit" else "same"
    if layer == "conv":
        op = keras.layers.Conv2D(filters, k, strides=s, padding=mode)
    else:
        pool = keras.layers.MaxPooling2D if layer == "max" else keras.layers.AveragePooling2D
        op = pool(k, strides=s, padding=mode)
    shape = op(x).shape
    if shape[1] != shape[2]:
        raise AssertionError(f"square input gave a non-square output {tuple(shape)}")
    return int(shape[1]), int(shape[3])


def channels_changed(layer: keras.layers.Layer, x: np.ndarray, channel: int, delta: float = 1.0) -> list[int]:
    """Output channels of ``layer`` that change when input ``channel`` of ``x`` (NHWC) is raised by ``delta``."""
    bumped = np.array(x, copy=True)
    bumped[..., channel] += delta
    before = ops.convert_to_numpy(layer(ops.convert_to_tensor(x)))
    after = ops.convert_to_numpy(layer(ops.convert_to_tensor(bumped)))
    changed = np.abs(after - before).reshape(-1, before.shape[-1]).max(axis=0) > 0
    return [int(c) for c in np.flatnonzero(changed)]
