"""GroupedConv2D: the grouped convolution computed as one block-diagonal dense convolution (fast on CPUs)
gives Conv2D(groups)'s outputs and gradients, with Conv2D's weights, and round-trips through .keras."""
from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

from keras_repro.layers import GroupedConv2D


def _pair(implementation, groups=4, strides=1):
    reference = keras.layers.Conv2D(12, 3, strides=strides, padding="same", groups=groups)
    ours = GroupedConv2D(12, 3, strides=strides, padding="same", groups=groups, implementation=implementation)
    x = np.random.default_rng(0).normal(size=(3, 7, 7, 8)).astype("float32")
    reference.build(x.shape)
    ours.build(x.shape)
    ours.set_weights(reference.get_weights())  # the same kernel shape: (3, 3, 8 / groups, 12)
    return reference, ours, x


@pytest.mark.parametrize("implementation", ["block_diagonal", "grouped", "auto"])
@pytest.mark.parametrize("groups, strides", [(4, 1), (2, 2), (1, 1)])
def test_outputs_equal_conv2d_with_groups(implementation, groups, strides):
    reference, ours, x = _pair(implementation, groups, strides)
    assert ours.kernel.shape == reference.kernel.shape == (3, 3, 8 // groups, 12)
    np.testing.assert_allclose(ops.convert_to_numpy(ours(x)), ops.convert_to_numpy(reference(x)), atol=1e-5)


def test_the_block_diagonal_form_is_what_runs_on_a_cpu():
    _, ours, _ = _pair("auto")
    assert ours._block_mask is not None  # no GPU in the test environment
    mask = ours._block_mask
    assert mask.shape == (8, 12) and mask.sum() == 8 * 12 / 4  # one block per group, zeros elsewhere
    assert mask[:2, :3].all() and not mask[:2, 3:].any()


def test_gradients_equal_conv2d_with_groups():
    reference, ours, x = _pair("block_diagonal")
    grads = []
    for layer in (reference, ours):
        model = keras.Sequential([keras.Input(x.shape[1:]), layer])
        model.compile(keras.optimizers.SGD(0.1), "mse")
        model.train_on_batch(x, np.ones((3, 7, 7, 12), "float32"))
        grads.append([np.array(w) for w in layer.weights])
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_round_trip_through_a_keras_file(tmp_path):
    inputs = keras.Input((7, 7, 8))
    model = keras.Model(inputs, GroupedConv2D(12, 3, groups=4, implementation="block_diagonal", name="g")(inputs))
    x = np.random.default_rng(1).normal(size=(2, 7, 7, 8)).astype("float32")
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    assert isinstance(loaded.get_layer("g"), GroupedConv2D) and loaded.get_layer("g").implementation == "block_diagonal"
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


def test_a_bad_implementation_is_one_clear_error():
    with pytest.raises(ValueError, match="`implementation` must be one of"):
        GroupedConv2D(4, 3, groups=2, implementation="fast")
