"""Keras's own generic tests (keras 3.15 ``optimizers/optimizer_test.py``, ``optimizer_sparse_test.py``,
``testing.TestCase.run_layer_test``), adapted to every custom object this package registers.

Keras checks its built-in optimisers against hand-computed SGD numbers; here each behaviour is
checked against the same optimiser without the feature (clipping = the plain optimiser fed the
clipped gradient, accumulation = one step on the mean gradient, and so on), so one test covers all
six optimisers. Layers go through ``run_layer_test`` (build, shapes, serialisation, training, mixed
precision); losses through Keras's loss contract (reductions, sample weights, serialisation, fit).

The same file runs under JAX in a fresh process (the last test), since Keras fixes its backend at
the first import.
"""
from __future__ import annotations

import os
import pickle
import sys
import warnings
from unittest import mock

import keras
import numpy as np
import pytest
from keras import ops
from keras.src import testing

import keras_repro  # noqa: F401  (registration)
from keras_repro import activations, layers, losses
from keras_repro import optimizers as O

from conftest import REPO, assert_ok

BACKEND = keras.backend.backend()
LR = 0.1
OPTIMIZERS = {
    "Momentum": (O.Momentum, {"momentum": 0.5}),
    "Nesterov": (O.Nesterov, {"momentum": 0.5}),
    "EMA": (O.EMA, {"beta": 0.5}),
    "Rprop": (O.Rprop, {}),
    "RMSprop": (O.RMSprop, {}),
    "Adam": (O.Adam, {}),
}
# Rprop adapts one step size per weight from gradient signs; the learning rate only seeds them, so a
# schedule or a callable cannot be honoured and is refused.
CONSTANT_RATE_ONLY = {"Rprop"}
NAMES = sorted(OPTIMIZERS)


def make(optimizer: str, **kwargs):
    cls, defaults = OPTIMIZERS[optimizer]
    return cls(**{"learning_rate": LR, **defaults, **kwargs})


def grads_sequence(n: int = 6, shape=(2, 3), seed: int = 0) -> list[np.ndarray]:
    return [g.astype("float32") for g in np.random.default_rng(seed).normal(size=(n, *shape))]


START = np.array([[0.9, -0.4, 0.3], [0.5, 1.2, -0.7]], "float32")


def path(optimizer, grads, start=START, before_step=None) -> np.ndarray:
    """The values a variable takes when ``optimizer`` applies ``grads`` one after another."""
    v = keras.Variable(start)
    out = []
    for k, g in enumerate(grads):
        if before_step is not None:
            before_step(optimizer, k)
        optimizer.apply([ops.convert_to_tensor(g)], [v])
        out.append(ops.convert_to_numpy(v.value).copy())
    return np.array(out)


def close(a, b, atol=1e-6, rtol=1e-5):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64), atol=atol, rtol=rtol)


def test_every_registered_object_is_covered():
    mine = {k for k in keras.saving.get_custom_objects() if k.startswith("keras_repro>")}
    covered = {f"keras_repro>{n}" for n in OPTIMIZERS} | {f"keras_repro>{n}" for n in LAYER_CASES} \
        | {f"keras_repro>{n}" for n in LOSS_CASES} | {"keras_repro>heaviside"}
    assert mine == covered, f"add generic tests for: {sorted(mine - covered)}"


# -- optimizers: optimizer_test.py ------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_iterations_counter(name):
    optimizer = make(name)
    v = keras.Variable(START)
    assert int(optimizer.iterations) == 0
    for k in (1, 2):
        optimizer.apply_gradients([(ops.ones(v.shape), v)])
        assert int(optimizer.iterations) == k


@pytest.mark.parametrize("name", NAMES)
def test_empty_gradients(name):
    v, v2 = keras.Variable(START), keras.Variable(START)
    with pytest.raises(ValueError, match="No gradients provided for any variable"):
        make(name).apply_gradients([(None, v)])
    g = grads_sequence(1)[0]
    with pytest.warns(Warning):
        make(name).apply_gradients([(None, v), (ops.convert_to_tensor(g), v2)])
    close(v.value, START)
    close(v2.value, path(make(name), [g])[-1])


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("clip", ["clipnorm", "clipvalue", "global_clipnorm"])
def test_clipping_is_the_plain_optimizer_fed_clipped_gradients(name, clip):
    grads = [10 * g for g in grads_sequence()]
    if clip == "clipvalue":
        clipped = [np.clip(g, -1, 1) for g in grads]
    else:  # one variable: its norm is the global norm
        clipped = [g / max(1.0, float(np.linalg.norm(g))) for g in grads]
    close(path(make(name, **{clip: 1.0}), grads), path(make(name), clipped), atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_only_one_clipping_argument(name):
    with pytest.raises(ValueError, match="Only one of `clipnorm`, `clipvalue` and `global_clipnorm`"):
        make(name, clipnorm=0.1, clipvalue=0.1)


@pytest.mark.parametrize("name", NAMES)
def test_ema_of_weights_and_overwrite(name):
    grads = grads_sequence(3)
    plain = path(make(name), grads)
    optimizer = make(name, use_ema=True, ema_momentum=0.9, ema_overwrite_frequency=3)
    v = keras.Variable(START)
    average = plain[0]  # the average starts at the weights after the first step
    for k, g in enumerate(grads):
        optimizer.apply([ops.convert_to_tensor(g)], [v])
        if k:
            average = 0.9 * average + 0.1 * plain[k]
        close(optimizer._model_variables_moving_average[0].value, average, atol=1e-5)
        close(v.value, plain[k] if k < 2 else average, atol=1e-5)  # overwritten with the average on step 3


@pytest.mark.parametrize("name", NAMES)
def test_ema_with_model_fit_ends_on_the_average(name):
    optimizer = make(name, use_ema=True, ema_momentum=0.9)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(2, kernel_initializer="ones", use_bias=False)])
    model.compile(loss="mse", optimizer=optimizer, run_eagerly=True)
    model.fit(np.ones((1, 1), "float32"), np.zeros((1, 2), "float32"), batch_size=1, epochs=2, verbose=0)
    weights = ops.convert_to_numpy(model.trainable_variables[0].value)
    close(weights, optimizer._model_variables_moving_average[0].value)
    assert np.all(weights < 1.0)


@pytest.mark.parametrize("name", NAMES)
def test_constraints_are_applied(name):
    v = keras.Variable(np.random.default_rng(0).random((2, 2)) - 1.0)
    v.constraint = keras.constraints.NonNeg()
    make(name, learning_rate=1e-4).apply_gradients([(ops.zeros((2, 2)), v)])
    assert float(np.min(ops.convert_to_numpy(v.value))) == 0.0


@pytest.mark.parametrize("name", NAMES)
def test_static_loss_scaling(name):
    grads = grads_sequence()
    optimizer = make(name, loss_scale_factor=1024.0)
    assert float(optimizer.scale_loss(1.0)) == 1024.0
    close(path(optimizer, [1024.0 * g for g in grads]), path(make(name), grads), atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_inside_loss_scale_optimizer(name):
    grads = grads_sequence()
    wrapped = keras.optimizers.LossScaleOptimizer(make(name))
    scaled = [float(wrapped.initial_scale) * g for g in grads]
    if BACKEND == "jax":  # the wrapper's eager apply leaks a tracer on JAX; fit() uses stateless_apply
        v = keras.Variable(START)
        wrapped.build([v])
        state, values, steps = wrapped.variables, [v.value], []
        for g in scaled:
            values, state = wrapped.stateless_apply(state, [ops.convert_to_tensor(g)], values)
            steps.append(ops.convert_to_numpy(values[0]))
        close(steps, path(make(name), grads), atol=1e-5)
    else:
        close(path(wrapped, scaled), path(make(name), grads), atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_set_weights_copies_the_state(name):
    grads = grads_sequence(4)
    first = make(name)
    x = keras.Variable(START)
    for g in grads[:3]:
        first.apply([ops.convert_to_tensor(g)], [x])
    second = make(name)
    with pytest.raises(ValueError, match="You are calling"):
        second.set_weights(first.variables)
    y = keras.Variable(ops.convert_to_numpy(x.value))
    second.build([y])
    second.set_weights([ops.convert_to_numpy(w.value) for w in first.variables])
    first.apply([ops.convert_to_tensor(grads[3])], [x])
    second.apply([ops.convert_to_tensor(grads[3])], [y])
    close(x.value, y.value)


@pytest.mark.parametrize("name", NAMES)
def test_gradient_accumulation_is_one_step_on_the_mean(name):
    grads = grads_sequence(6)
    optimizer = make(name, gradient_accumulation_steps=3)
    assert optimizer.gradient_accumulation_steps == 3
    accumulated = path(optimizer, grads)
    plain = path(make(name), [np.mean(grads[0:3], axis=0), np.mean(grads[3:6], axis=0)])
    close(accumulated[0], START)
    close(accumulated[1], START)
    close(accumulated[2], plain[0], atol=1e-5)
    close(accumulated[5], plain[1], atol=1e-5)
    assert int(optimizer._iterations) == 6 and int(optimizer.iterations) == 2


@pytest.mark.parametrize("name", NAMES)
def test_gradient_accumulation_with_weight_decay(name):
    rng = np.random.default_rng(1)
    one, three = make(name, weight_decay=0.05), make(name, weight_decay=0.05, gradient_accumulation_steps=3)
    v1, v3 = keras.Variable([[0.9], [0.5]]), keras.Variable([[0.9], [0.5]])
    for _ in range(2):
        g3 = rng.random((3, 2, 1)).astype("float32")
        one.apply_gradients([(ops.convert_to_tensor(g3.mean(axis=0)), v1)])
        for g in g3:
            three.apply_gradients([(ops.convert_to_tensor(g), v3)])
    close(v1.value, v3.value, atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_weight_decay_shrinks_before_the_step(name):
    g = grads_sequence(1)
    decayed = START - START * 0.05 * LR
    close(path(make(name, weight_decay=0.05), g), path(make(name), g, start=decayed), atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_callable_learning_rate(name):
    grads = grads_sequence()
    close(path(make(name, learning_rate=lambda: LR), grads), path(make(name), grads))


@pytest.mark.parametrize("name", NAMES)
def test_learning_rate_schedule_is_honoured(name):
    schedule = keras.optimizers.schedules.ExponentialDecay(LR, decay_steps=1, decay_rate=0.5)
    if name in CONSTANT_RATE_ONLY:
        with pytest.raises(ValueError, match="initial step size"):
            make(name, learning_rate=schedule)
        return
    grads = grads_sequence()
    by_hand = path(make(name), grads, before_step=lambda opt, k: setattr(opt, "learning_rate", LR * 0.5 ** k))
    close(path(make(name, learning_rate=schedule), grads), by_hand, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_setting_the_learning_rate_later(name):
    optimizer = make(name)
    v = keras.Variable(START)
    optimizer.learning_rate = 0.05  # before the first step: every optimiser takes it
    assert float(ops.convert_to_numpy(optimizer.learning_rate)) == pytest.approx(0.05)
    optimizer.apply([ops.ones(v.shape)], [v])
    if name in CONSTANT_RATE_ONLY:  # its steps already adapt; a new rate would be silently ignored
        with pytest.raises(ValueError, match="initial step size"):
            optimizer.learning_rate = 0.01
        with pytest.raises(ValueError, match="initial step size"):
            optimizer.learning_rate = keras.optimizers.schedules.ExponentialDecay(LR, 1, 0.5)
        assert float(ops.convert_to_numpy(optimizer.learning_rate)) == pytest.approx(0.05)
    else:
        optimizer.learning_rate = 0.01
        assert float(ops.convert_to_numpy(optimizer.learning_rate)) == pytest.approx(0.01)


@pytest.mark.parametrize("name", NAMES)
def test_overwrite_with_gradient(name):
    v, v2 = keras.Variable(START), keras.Variable(START)
    v.overwrite_with_gradient = True
    g = grads_sequence(1)[0]
    make(name).apply_gradients([(ops.convert_to_tensor(g), v), (ops.convert_to_tensor(g), v2)])
    close(v.value, g)
    close(v2.value, path(make(name), [g])[-1])


@pytest.mark.parametrize("name", NAMES)
def test_pickle_round_trip(name):
    optimizer = make(name)
    assert pickle.loads(pickle.dumps(optimizer)).get_config() == optimizer.get_config()


@pytest.mark.parametrize("name", NAMES)
def test_serialize_keeps_name_and_config(name):
    optimizer = make(name, name=f"my_{name.lower()}", clipnorm=2.0, weight_decay=0.01)
    again = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert type(again) is type(optimizer) and again.name == f"my_{name.lower()}"
    assert again.get_config() == optimizer.get_config()


@pytest.mark.skipif(BACKEND != "tensorflow", reason="tf.train.Checkpoint is TensorFlow's")
@pytest.mark.parametrize("name", NAMES)
def test_tf_checkpointing(name, tmp_path):
    import tensorflow as tf

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    model.compile(make(name), "mse")
    x, y = np.random.default_rng(0).random((2, 1, 2)).astype("float32")
    model.train_on_batch(x, y)
    reference = model.predict(x, verbose=0)
    saved = tf.train.Checkpoint(model, optimizer=model.optimizer).save(str(tmp_path / "ckpt"))
    for _ in range(3):  # Rprop rests a weight for one step after its gradient changes sign
        model.train_on_batch(x, y)
    assert not np.allclose(model.predict(x, verbose=0), reference, atol=1e-4)
    tf.train.Checkpoint(model, optimizer=model.optimizer).restore(saved)
    close(model.predict(x, verbose=0), reference, atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_mixed_precision_fit_wraps_in_loss_scaling(name):
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Dense(1, dtype="float32")])
        model.compile(make(name), "mse")
        rng = np.random.default_rng(0)
        model.fit(rng.random((16, 4)).astype("float32"), rng.random((16, 1)).astype("float32"), batch_size=8,
                  epochs=1, verbose=0)
    finally:
        keras.config.set_dtype_policy("float32")
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert all(np.isfinite(ops.convert_to_numpy(w.value)).all() for w in model.trainable_variables)


# -- optimizers: optimizer_sparse_test.py -----------------------------------------------------------

def sparse_gradient(values: np.ndarray, rows: tuple[int, ...], shape: tuple[int, ...]):
    """A sparse gradient as the backend's embedding layers produce it (tuple dense_shape on TF)."""
    if BACKEND == "tensorflow":
        import tensorflow as tf

        return tf.IndexedSlices(ops.convert_to_tensor(values), rows, shape)
    if BACKEND == "jax":
        import jax.experimental.sparse as jax_sparse

        return jax_sparse.BCOO((ops.convert_to_tensor(values), tuple((r,) for r in rows)), shape=shape)
    pytest.skip(f"no sparse gradients on {BACKEND}")


@pytest.mark.parametrize("name", NAMES)
def test_sparse_gradients_give_the_dense_result(name):
    shape, rows = (5, 3, 2), (0, 2, 4)
    sparse_opt, dense_opt = make(name), make(name)
    var_sparse, var_dense = keras.Variable(np.ones(shape, "float32")), keras.Variable(np.ones(shape, "float32"))
    stateless = BACKEND == "jax"
    if stateless:
        sparse_opt.build([var_sparse])
        dense_opt.build([var_dense])
    sparse_state, dense_state = sparse_opt.variables, dense_opt.variables
    sparse_values, dense_values = [var_sparse.value], [var_dense.value]
    for i in range(5):
        grad = sparse_gradient(np.ones((3, 3, 2), "float32") * (10.0 - i) * (-1) ** i, rows, shape)
        dense = ops.convert_to_tensor(grad, sparse=False)
        if stateless:
            sparse_values, sparse_state = sparse_opt.stateless_apply(sparse_state, [grad], sparse_values)
            dense_values, dense_state = dense_opt.stateless_apply(dense_state, [dense], dense_values)
            close(sparse_values[0], dense_values[0])
        else:
            sparse_opt.apply([grad], [var_sparse])
            dense_opt.apply([dense], [var_dense])
            close(var_sparse.value, var_dense.value)
    moved = ops.convert_to_numpy(sparse_values[0] if stateless else var_sparse.value)
    assert not np.allclose(moved[list(rows)], 1.0) and np.allclose(moved[[1, 3]], 1.0)


@pytest.mark.parametrize("name", NAMES)
def test_sparse_updates_go_through_the_optimizer_assign(name):
    """Optimisers must call ``self.assign*`` (never ``variable.assign*``), as Keras's sparse test checks."""
    variable = keras.Variable(np.ones((5, 10), "float32"))
    optimizer = make(name)
    grad = sparse_gradient(0.5 * np.ones((3, 10), "float32"), (0, 2, 4), (5, 10))
    variable_class = variable._value.__class__ if BACKEND == "tensorflow" else variable.__class__

    def direct_assign(var, value):
        if len(var.shape):
            pytest.fail("the optimiser calls assign on a variable directly; use self.assign(variable, value)")

    with mock.patch.object(variable_class, "assign", autospec=True, side_effect=direct_assign), \
            mock.patch.object(variable_class, "assign_add", autospec=True, side_effect=direct_assign), \
            mock.patch.object(variable_class, "assign_sub", autospec=True, side_effect=direct_assign), \
            mock.patch.object(optimizer, "assign", autospec=True), \
            mock.patch.object(optimizer, "assign_add", autospec=True), \
            mock.patch.object(optimizer, "assign_sub", autospec=True), \
            mock.patch.object(optimizer, "_apply_weight_decay", autospec=True):
        optimizer.apply([grad], [variable])


# -- layers and activations: run_layer_test ---------------------------------------------------------

class _KerasCase(testing.TestCase):
    def runTest(self):  # noqa: N802  (unittest's name)
        pass


LAYER_CASES = {
    "ClassicDropout": dict(layer_cls=layers.ClassicDropout, init_kwargs={"keep_prob": 0.5, "seed": 1},
                           input_shape=(4, 3, 5), expected_output_shape=(4, 3, 5),
                           expected_num_trainable_weights=0, expected_num_non_trainable_weights=0,
                           expected_num_seed_generators=1),
    "DropConnect": dict(layer_cls=layers.DropConnect, init_kwargs={"units": 3, "keep_prob": 0.8, "seed": 2,
                                                                   "activation": "relu"},
                        input_shape=(4, 5), expected_output_shape=(4, 3), expected_num_trainable_weights=2,
                        expected_num_non_trainable_weights=0, expected_num_seed_generators=1),
    "GroupedConv2D": dict(layer_cls=layers.GroupedConv2D, init_kwargs={"filters": 8, "kernel_size": 3, "groups": 4,
                                                                       "padding": "same"},
                          input_shape=(2, 6, 6, 4), expected_output_shape=(2, 6, 6, 8),
                          expected_num_trainable_weights=2, expected_num_non_trainable_weights=0),
}


@pytest.mark.parametrize("name", sorted(LAYER_CASES))
def test_run_layer_test(name):
    _KerasCase().run_layer_test(**LAYER_CASES[name])


def test_heaviside_in_an_activation_layer():
    x = ops.convert_to_tensor([[-1.0, 0.0, 2.0]], "float32")
    _KerasCase().run_layer_test(keras.layers.Activation, {"activation": activations.heaviside},
                                input_data=x, expected_output=ops.convert_to_tensor([[0.0, 0.0, 1.0]], "float32"),
                                run_training_check=False)


# -- losses: Keras's loss contract -----------------------------------------------------------------

def _localization_batch(rng, n=6):
    y_true = np.concatenate([rng.integers(0, 2, (n, 1)), rng.random((n, 4)) * 0.5 + 0.1], axis=1)
    return y_true.astype("float32"), rng.normal(size=(n, 5)).astype("float32")


def _pixel_batch(rng, n=6):
    return rng.integers(0, 2, (n, 4, 4, 1)).astype("float32"), rng.normal(size=(n, 4, 4, 1)).astype("float32")


LOSS_CASES = {
    "LocalizationLoss": (losses.LocalizationLoss, {"box_loss": "log"}, _localization_batch, 5),
    "SummedPixelBCE": (losses.SummedPixelBCE, {}, _pixel_batch, (4, 4, 1)),
}


@pytest.mark.parametrize("name", sorted(LOSS_CASES))
def test_loss_reductions_and_sample_weights(name):
    cls, kwargs, batch, _ = LOSS_CASES[name]
    y_true, y_pred = batch(np.random.default_rng(0))
    per_example = ops.convert_to_numpy(cls(reduction=None, **kwargs)(y_true, y_pred))
    assert per_example.shape == (len(y_true),) and np.isfinite(per_example).all()
    close(cls(reduction="sum", **kwargs)(y_true, y_pred), per_example.sum(), rtol=1e-5)
    close(cls(**kwargs)(y_true, y_pred), per_example.mean(), rtol=1e-5)  # sum_over_batch_size
    weights = np.array([1, 0, 2, 0, 1, 0], "float32")
    close(cls(reduction="sum", **kwargs)(y_true, y_pred, sample_weight=weights), (per_example * weights).sum(),
          rtol=1e-5)
    close(cls(**kwargs)(y_true, y_pred, sample_weight=np.zeros(6, "float32")), 0.0)


@pytest.mark.parametrize("name", sorted(LOSS_CASES))
def test_loss_serialization_and_dtype(name):
    cls, kwargs, batch, _ = LOSS_CASES[name]
    loss = cls(reduction="sum", name="custom", **kwargs)
    again = keras.losses.deserialize(keras.losses.serialize(loss))
    assert type(again) is cls and again.get_config() == loss.get_config()
    y_true, y_pred = batch(np.random.default_rng(1))
    assert keras.backend.standardize_dtype(cls(dtype="float16", **kwargs)(y_true, y_pred.astype("float16")).dtype) \
        == "float16"


@pytest.mark.parametrize("name", sorted(LOSS_CASES))
def test_loss_trains_a_model(name):
    cls, kwargs, batch, out_shape = LOSS_CASES[name]
    y_true, _ = batch(np.random.default_rng(2), n=16)
    x = np.random.default_rng(3).normal(size=(16, 4)).astype("float32")
    width = int(np.prod(out_shape))
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(width),
                              keras.layers.Reshape(out_shape if isinstance(out_shape, tuple) else (width,))])
    model.compile("adam", cls(**kwargs))
    history = model.fit(x, y_true, epochs=3, batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


# -- the same tests on JAX --------------------------------------------------------------------------

@pytest.mark.skipif(BACKEND != "tensorflow" or os.environ.get("KERAS_GENERIC_NESTED") == "1",
                    reason="runs the file once more, under JAX, from the TensorFlow run")
def test_the_same_tests_pass_on_jax():
    import subprocess

    env = {**os.environ, "KERAS_BACKEND": "jax", "KERAS_GENERIC_NESTED": "1", "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    with warnings.catch_warnings():
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=", "-p", "no:xdist",
                               __file__], capture_output=True, text=True, timeout=900, cwd=REPO, env=env)
    proc.stdout = proc.stdout[-6000:]
    assert_ok(proc)
