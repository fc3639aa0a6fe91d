"""keras_repro.measures.conv_arithmetic: output sizes, receptive fields and weight counts,
closed form against Keras layers."""
from __future__ import annotations

import math

import keras
import numpy as np
import pytest

import keras_repro  # noqa: F401
from keras_repro.measures.conv_arithmetic import (channels_changed, conv_output_size, measured_output_side,
                                                  measured_receptive_field, receptive_field, same_padding_output_size,
                                                  stacked_conv_weights)


@pytest.mark.parametrize("n, k, p, s, expected", [(224, 11, 2, 4, 55), (32, 5, 0, 1, 28), (28, 5, 2, 1, 28),
                                                  (7, 3, 0, 2, 3), (8, 2, 0, 2, 4), (5, 7, 1, 1, 1)])
def test_conv_output_size_known_values(n, k, p, s, expected):
    assert conv_output_size(n, k, p, s) == expected
    assert measured_output_side(n, k, p, s, layer="conv") == (expected, 1)
    assert measured_output_side(n, k, p, s, layer="max")[0] == expected


def test_conv_output_size_rejects_impossible_shapes():
    with pytest.raises(ValueError, match="k=9"):
        conv_output_size(5, 9, 1, 1)
    with pytest.raises(ValueError, match="s=0"):
        conv_output_size(5, 3, 0, 0)
    with pytest.raises(ValueError, match="layer='median'"):
        measured_output_side(5, 3, layer="median")


@pytest.mark.parametrize("n, k, s", [(7, 3, 2), (8, 3, 2), (13, 5, 3), (32, 4, 1), (5, 11, 4)])
def test_same_padding_gives_ceil_n_over_s(n, k, s):
    assert same_padding_output_size(n, k, s) == math.ceil(n / s)
    assert measured_output_side(n, k, s=s, padding="same") == (math.ceil(n / s), 1)


def test_kernels_give_channels():
    assert measured_output_side(9, 3, 1, 1, channels=3, filters=16) == (9, 16)


def test_receptive_field_of_stacked_3x3_equals_one_larger_kernel():
    assert receptive_field([(3, 1), (3, 1)]) == 5 == measured_receptive_field([3, 3]) == measured_receptive_field([5])
    assert receptive_field([(3, 1)] * 3) == 7 == measured_receptive_field([3, 3, 3]) == measured_receptive_field([7])
    assert receptive_field([(3, 2), (3, 1)]) == 7  # a stride widens what the next layer sees
    assert measured_receptive_field([1]) == 1


@pytest.mark.parametrize("channels", [1, 4, 16])
def test_stacked_3x3_weights_are_18_c_squared_vs_25_c_squared(channels):
    assert stacked_conv_weights([3, 3], channels) == 18 * channels ** 2
    assert stacked_conv_weights([5], channels) == 25 * channels ** 2
    assert stacked_conv_weights([3, 3, 3], channels) == 27 * channels ** 2 < stacked_conv_weights([7], channels)


def test_pooling_changes_only_the_perturbed_channel_and_convolution_changes_all():
    x = np.random.default_rng(0).normal(size=(1, 6, 6, 4)).astype("float32")
    for c in range(4):
        assert channels_changed(keras.layers.MaxPooling2D(2), x, c) == [c]
        assert channels_changed(keras.layers.AveragePooling2D(2), x, c) == [c]
    assert channels_changed(keras.layers.Conv2D(4, 3, padding="same"), x, 1) == [0, 1, 2, 3]
