"""keras_repro.measures.flops: multiply-adds by hand and against published figures."""
from __future__ import annotations

import keras
import pytest

from keras_repro.measures.flops import layer_multiply_adds, multiply_adds, shapes_only
from keras_repro.models import googlenet, resnet, vgg16


def test_multiply_adds_by_hand():
    inputs = keras.Input((8, 8, 4))
    x = keras.layers.Conv2D(6, 3, name="conv")(inputs)                 # 6×6 outputs × 3·3·4 × 6
    y = keras.layers.Conv2D(8, 1, groups=2, name="grouped")(x)         # 6×6 × 1·1·(6/2) × 8
    z = keras.layers.Dense(5, name="dense")(keras.layers.Flatten()(y))  # 288 × 5
    counts = multiply_adds(keras.Model(inputs, z))
    assert counts == {"conv": 36 * 36 * 6, "grouped": 36 * 3 * 8, "dense": 288 * 5}


def test_multiply_adds_match_published_figures():
    assert 1.5e9 <= sum(multiply_adds(googlenet()).values()) <= 1.6e9   # "1.5 billion multiply-adds"
    assert sum(multiply_adds(resnet(50)).values()) == pytest.approx(4.09e9, rel=0.01)  # torchvision: 4.09
    assert sum(multiply_adds(vgg16()).values()) == pytest.approx(15.47e9, rel=0.01)  # torchvision: 15.47


def test_multiply_adds_need_a_fixed_input_size():
    model = resnet(18, input_shape=(None, None, 3), width_multiplier=0.125)
    with pytest.raises(ValueError, match="fixed input size"):
        layer_multiply_adds(model.get_layer("conv1_conv"))


def test_shapes_only_counts_like_a_built_model_and_initialises_nothing_ever():
    from keras.src.backend.common import global_state

    built = resnet(18, width_multiplier=0.25)
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        with shapes_only():
            counted = resnet(18, width_multiplier=0.25)
        assert counted.count_params() == built.count_params()
        assert multiply_adds(counted) == multiply_adds(built)
        assert keras.config.dtype_policy().name == "mixed_bfloat16"  # clear_session() would have reset it
    finally:
        keras.config.set_dtype_policy("float32")
    assert not global_state.get_global_attribute("uninitialized_variables")
    keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])  # leaves a StatelessScope: would initialise them
    assert all(w._value is None for w in counted.weights)
