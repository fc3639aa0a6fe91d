"""ClassicDropout and DropConnect: conventions, Monte-Carlo expectations, validation, serialisation."""
from __future__ import annotations

import keras
import numpy as np
import pytest
from conftest import assert_ok, run_python

import keras_repro  # noqa: F401  (registration)
from keras_repro.layers import ClassicDropout, DropConnect
from keras_repro.measures.monte_carlo import bernoulli_mc_error, monte_carlo_mean, relative_error


def numpy_of(tensor):
    return keras.ops.convert_to_numpy(tensor)


# -- ClassicDropout --------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [0, 0.0, -0.1, 1.5, True, "0.5", None])
def test_classic_dropout_rejects_bad_keep_prob(bad):
    with pytest.raises(ValueError, match=f"Received: keep_prob={bad!r}"):
        ClassicDropout(bad)


def test_classic_dropout_inference_multiplies_by_keep_prob():
    x = np.random.default_rng(0).normal(size=(5, 7)).astype("float32")
    np.testing.assert_allclose(numpy_of(ClassicDropout(0.3)(x)), 0.3 * x, rtol=1e-6)


def test_classic_dropout_training_keeps_units_unscaled_with_probability_keep_prob():
    x = np.full((400, 250), 2.0, dtype="float32")
    y = numpy_of(ClassicDropout(0.3, seed=1)(x, training=True))
    assert set(np.unique(y)) <= {0.0, 2.0}  # kept units are not rescaled (unlike keras.layers.Dropout)
    kept = np.mean(y == 2.0)
    assert abs(kept - 0.3) < 4 * np.sqrt(0.3 * 0.7 / y.size)


def test_classic_dropout_keep_prob_one_is_identity_in_training():
    x = np.arange(12, dtype="float32").reshape(3, 4)
    np.testing.assert_array_equal(numpy_of(ClassicDropout(1.0)(x, training=True)), x)


@pytest.mark.parametrize("keep_prob", [0.2, 0.5, 0.9])
def test_monte_carlo_expectation_of_training_output_is_inference_output_for_both_conventions(keep_prob):
    x = np.random.default_rng(1).normal(size=(3, 40)).astype("float32")
    kernel = np.random.default_rng(2).normal(size=(40, 5))
    classic, inverted = ClassicDropout(keep_prob, seed=3), keras.layers.Dropout(1 - keep_prob, seed=3)
    for layer, scale in ((classic, 1.0), (inverted, 1 / keep_prob)):
        mean = monte_carlo_mean(lambda b: numpy_of(layer(b, training=True)) @ kernel, x, 40_000, chunk=10_000)
        reference = numpy_of(layer(x, training=False)) @ kernel
        # within 4 standard errors of the Monte-Carlo mean (a wrong scale would be off by (1 - p)/p)
        assert relative_error(mean, reference) < 4 * bernoulli_mc_error(x, kernel, keep_prob, 40_000, reference, scale)
    # the conventions differ by the scale keep_prob only
    np.testing.assert_allclose(numpy_of(classic(x)), keep_prob * numpy_of(inverted(x)), rtol=1e-6)


def test_classic_dropout_masks_are_reproducible_from_the_seed_and_change_between_calls():
    x = np.ones((8, 50), dtype="float32")
    a, b = ClassicDropout(0.5, seed=7), ClassicDropout(0.5, seed=7)
    first_a, first_b = numpy_of(a(x, training=True)), numpy_of(b(x, training=True))
    np.testing.assert_array_equal(first_a, first_b)
    assert not np.array_equal(first_a, numpy_of(a(x, training=True)))


def test_classic_dropout_config_round_trip():
    layer = ClassicDropout(0.25, seed=3, name="drop")
    clone = ClassicDropout.from_config(layer.get_config())
    assert (clone.keep_prob, clone.seed, clone.name) == (0.25, 3, "drop")
    assert clone.get_config() == layer.get_config()


# -- DropConnect -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, message", [
    ({"units": 0}, "Received: units=0"), ({"units": 2.5}, "Received: units=2.5"),
    ({"units": 3, "keep_prob": 0}, "Received: keep_prob=0"), ({"units": 3, "keep_prob": 1.01}, "Received: keep_prob=1.01"),
])
def test_dropconnect_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DropConnect(**kwargs)


def test_dropconnect_rejects_inputs_that_are_not_matrices():
    with pytest.raises(ValueError, match="Received: input_shape"):
        DropConnect(3)(np.ones((2, 3, 4), dtype="float32"))


def dropconnect_with_weights(units: int, inputs: int, keep_prob: float, activation=None, seed=0) -> DropConnect:
    layer = DropConnect(units, keep_prob, activation=activation, seed=seed)
    layer.build((None, inputs))
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(size=(inputs, units)).astype("float32"), rng.normal(size=units).astype("float32")])
    return layer


def test_dropconnect_inference_uses_keep_prob_times_the_weights():
    layer = dropconnect_with_weights(4, 6, 0.7, activation="relu")
    kernel, bias = layer.get_weights()
    x = np.random.default_rng(5).normal(size=(9, 6)).astype("float32")
    np.testing.assert_allclose(numpy_of(layer(x)), np.maximum(x @ (0.7 * kernel) + bias, 0), rtol=1e-5, atol=1e-6)


def test_dropconnect_drops_single_weights_with_a_fresh_mask_per_example():
    layer = dropconnect_with_weights(5, 3, 0.4)
    kernel, bias = layer.get_weights()
    x = np.zeros((2000, 3), dtype="float32")
    x[:, 1] = 1.0  # each output j is bias_j + W_1j·m_j with m_j the example's own mask
    y = numpy_of(layer(x, training=True))
    dropped = np.isclose(y, bias, atol=1e-6)
    assert np.all(dropped | np.isclose(y, kernel[1] + bias, atol=1e-5))  # weights unscaled, bias never dropped
    assert abs(np.mean(~dropped) - 0.4) < 4 * np.sqrt(0.4 * 0.6 / dropped.size)
    assert len({row.tobytes() for row in dropped}) > 16  # masks differ between examples of one batch


def test_dropconnect_monte_carlo_expectation_of_pre_activation_is_inference_output():
    layer = dropconnect_with_weights(4, 10, 0.5, seed=2)
    x = np.random.default_rng(3).normal(size=(3, 10)).astype("float32")
    mean = monte_carlo_mean(lambda b: numpy_of(layer(b, training=True)), x, 40_000, chunk=10_000)
    reference = numpy_of(layer(x))
    kernel = layer.get_weights()[0]
    assert relative_error(mean, reference) < 4 * bernoulli_mc_error(x, kernel, 0.5, 40_000, reference)


def test_dropconnect_config_round_trip():
    layer = DropConnect(3, 0.6, activation="tanh", use_bias=False, kernel_regularizer=keras.regularizers.L2(0.01),
                        seed=4, name="dc")
    clone = DropConnect.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    assert clone.activation is keras.activations.tanh and clone.kernel_regularizer.l2 == pytest.approx(0.01)


# -- saving and backends ---------------------------------------------------------------------------

MODEL_CODE = """
import keras, numpy as np
import keras_repro
from keras_repro.layers import ClassicDropout, DropConnect
keras.utils.set_random_seed(0)
inputs = keras.Input((6,))
x = ClassicDropout(0.8, seed=1)(inputs)
x = DropConnect(8, 0.5, activation="relu", seed=2)(x)
x = ClassicDropout(0.5, seed=3)(x)
model = keras.Model(inputs, keras.layers.Dense(2)(x))
model.compile(keras.optimizers.Adam(0.01), "mse")
rng = np.random.default_rng(0)
x_data = rng.normal(size=(256, 6)).astype("float32")
y_data = np.stack([x_data[:, 0] + x_data[:, 1], x_data[:, 2]], 1).astype("float32")
before = model.evaluate(x_data, y_data, verbose=0)
model.fit(x_data, y_data, epochs=30, batch_size=32, verbose=0)
after = model.evaluate(x_data, y_data, verbose=0)
assert after < 0.7 * before, (before, after)
"""


def test_model_with_both_layers_trains_and_loads_in_another_program_with_safe_mode(tmp_path):
    path = tmp_path / "model.keras"
    assert_ok(run_python(MODEL_CODE + f"""
model.save({str(path)!r})
np.save({str(tmp_path / 'x.npy')!r}, x_data[:16])
np.save({str(tmp_path / 'y.npy')!r}, keras.ops.convert_to_numpy(model(x_data[:16], training=False)))
"""))
    out = assert_ok(run_python(f"""
import keras, numpy as np
import keras_repro
model = keras.saving.load_model({str(path)!r}, safe_mode=True)
x, y = np.load({str(tmp_path / 'x.npy')!r}), np.load({str(tmp_path / 'y.npy')!r})
np.testing.assert_allclose(keras.ops.convert_to_numpy(model(x, training=False)), y, rtol=1e-5, atol=1e-6)
print(sorted(type(l).__name__ for l in model.layers))
"""))
    assert "ClassicDropout" in out and "DropConnect" in out


def test_layers_run_and_train_on_the_jax_backend():
    out = assert_ok(run_python(MODEL_CODE + """
layer = ClassicDropout(0.5, seed=0)
y = keras.ops.convert_to_numpy(layer(np.ones((100, 100), "float32"), training=True))
assert set(np.unique(y)) <= {0.0, 1.0} and 0.4 < y.mean() < 0.6
print(keras.backend.backend(), "ok")
""", backend="jax"))
    assert "jax ok" in out
