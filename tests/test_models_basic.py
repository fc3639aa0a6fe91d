"""keras_repro.models.basic: the fully connected builders (mlp, sigmoid_sum)."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from keras_repro.layers import ClassicDropout, DropConnect
from keras_repro.models import mlp, sigmoid_sum


def test_mlp_names_its_layers_in_order():
    model = mlp(4, (8, 8), 3, name="net")
    assert [layer.name for layer in model.layers] == ["net_input", "net_dense1", "net_dense2", "net_out"]
    assert model.output_shape == (None, 3)
    assert mlp(4, (), 3).count_params() == 4 * 3 + 3  # no hidden layer: softmax or linear regression
    with pytest.raises(ValueError, match="hidden=\\[8, 0\\]"):
        mlp(4, (8, 0))


def test_mlp_draws_the_same_initial_weights_as_the_same_layers_built_by_hand():
    # the reproductions' hand-built MLPs were replaced by mlp(): one seed must still give one set of weights
    keras.utils.set_random_seed(7)
    by_hand = keras.Sequential([keras.Input((6,)), keras.layers.Dense(5, activation="tanh"), keras.layers.Dense(3)])
    keras.utils.set_random_seed(7)
    built = mlp(6, (5,), 3, activation="tanh")
    for a, b in zip(by_hand.get_weights(), built.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_mlp_dropout_as_a_rate_or_a_layer_and_on_the_inputs():
    inverted = mlp(4, (8, 8), 2, dropout=0.25, name="inv")
    assert [type(inverted.get_layer(f"inv_dropout{i}")) for i in (1, 2)] == [keras.layers.Dropout] * 2
    assert inverted.get_layer("inv_dropout1").rate == 0.25
    classic = mlp(4, (8,), 2, dropout=lambda name: ClassicDropout(0.6, name=name),
                  input_dropout=lambda name: ClassicDropout(0.8, name=name), name="classic")
    names = [layer.name for layer in classic.layers]
    assert names == ["classic_input", "classic_input_dropout", "classic_dense1", "classic_dropout1", "classic_out"]
    assert classic.get_layer("classic_input_dropout").keep_prob == 0.8


def test_mlp_drop_connect_replaces_every_layer_after_the_first():
    model = mlp(4, (8, 8), 2, drop_connect=0.5, name="dc")
    kinds = {layer.name: type(layer) for layer in model.layers[1:]}
    assert kinds == {"dc_dense1": keras.layers.Dense, "dc_dense2": DropConnect, "dc_out": DropConnect}
    assert model.get_layer("dc_out").keep_prob == 0.5


def test_mlp_regularises_every_kernel_and_round_trips(tmp_path):
    model = mlp(4, (8,), 2, kernel_regularizer=keras.regularizers.L2(0.1), drop_connect=0.5,
                dropout=lambda name: ClassicDropout(0.5, name=name))
    model(np.ones((1, 4), "float32"))
    assert len(model.losses) == 2
    model.save(tmp_path / "mlp.keras")
    loaded = keras.saving.load_model(tmp_path / "mlp.keras", safe_mode=True)
    x = np.random.default_rng(0).random((3, 4)).astype("float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_sigmoid_sum_shape_and_validation():
    model = sigmoid_sum(8, domain=(-2, 2), seed=3)
    assert model.count_params() == 8 * 3 + 1
    with pytest.raises(ValueError, match="n_units=0"):
        sigmoid_sum(0)
    with pytest.raises(ValueError, match="domain"):
        sigmoid_sum(3, domain=(1, 1))
