"""Models of one architecture train on one compiled twin (issue 14: fewer retraces): the same numbers, each
model keeps its own state, and a model that differs in anything its training reads gets its own twin."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from keras_repro.layers import ClassicDropout
from keras_repro.measures.gap import RepeatedArrays
from keras_repro.suite.runtime import Runtime, _twin_key
from conftest import assert_ok, run_python


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 6)).astype("float32")
    return x, (x[:, 0] > 0).astype("int64") + (x[:, 1] > 1).astype("int64")


def _model(seed: int, units: int = 16, rate: float = 0.05, activation: str = "relu", name: str | None = None,
           optimizer=None):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((6,))
    h = keras.layers.Dense(units, activation=activation, name=name)(inputs)
    h = ClassicDropout(0.8)(h)
    h = keras.layers.BatchNormalization()(h)
    h = keras.layers.Dropout(0.3)(h)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(h))
    model.compile(optimizer or keras.optimizers.Adam(rate), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _train(monkeypatch, reuse: str, seeds=(0, 1, 2), rates=(0.05, 0.02, 0.05), data="arrays", **fit):
    monkeypatch.setenv("REPRO_REUSE_TRAINING", reuse)
    runtime = Runtime(log=lambda message: None, verbosity=0)
    x, y = _data()
    out = []
    for seed, rate in zip(seeds, rates):
        model = _model(seed, rate=rate)
        if data == "arrays":
            history = runtime.fit(model, x, y, batch_size=16, epochs=3, validation_data=(x[:30], y[:30]), **fit)
        else:  # the reproductions' repeated passes (a PyDataset with its own seeded shuffles)
            history = runtime.fit(model, RepeatedArrays(x, y, 16, 2, seed=seed), epochs=3,
                                  validation_data=(x[:30], y[:30]))
        out.append((model, history))
    return runtime, out


@pytest.mark.parametrize("data, shuffle", [("arrays", False), ("arrays", True), ("pydataset", None)])
def test_training_on_a_twin_gives_the_same_numbers(monkeypatch, data, shuffle):
    fit = {} if shuffle is None else {"shuffle": shuffle}
    runtime, twinned = _train(monkeypatch, "1", data=data, **fit)
    plain_runtime, plain = _train(monkeypatch, "0", data=data, **fit)
    # the first model trains itself; the next two (one at another learning rate) train on one twin
    assert runtime.facts["fits_on_twins"] == 2 and runtime.facts["twins"] == 1
    assert "fits_on_twins" not in plain_runtime.facts
    for i, ((model, history), (plain_model, plain_history)) in enumerate(zip(twinned, plain)):
        assert (model.train_function is None) == (i > 0) and plain_model.train_function is not None
        assert history.history == plain_history.history
        for a, b in zip(model.get_weights(), plain_model.get_weights()):  # BatchNorm's statistics included
            np.testing.assert_array_equal(a, b)
        assert int(model.optimizer.iterations.numpy()) == int(plain_model.optimizer.iterations.numpy()) == (
            24 if data == "arrays" else 45)
        for a, b in zip(model.optimizer.variables, plain_model.optimizer.variables):
            np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))


def test_each_model_keeps_its_own_state_and_trains_on(monkeypatch):
    runtime, ((first, _), (second, _), (third, _)) = _train(monkeypatch, "1", shuffle=False)
    kept = [w.copy() for w in second.get_weights()]
    x, y = _data()
    more = runtime.fit(third, x, y, batch_size=16, epochs=1, shuffle=False)  # continues from its own state
    for a, b in zip(second.get_weights(), kept):
        np.testing.assert_array_equal(a, b)
    assert int(third.optimizer.iterations.numpy()) == 32 and len(more.history["loss"]) == 1
    assert more.model is third and runtime.facts["fits_on_twins"] == 3


def test_what_the_training_reads_decides_the_twin():
    key = _twin_key
    base = key(_model(0))
    assert base is not None
    # names, initial values and a constant learning rate: the same training function
    assert key(_model(1, name="renamed")) == key(_model(2, rate=0.3)) == base
    frozen = _model(3)
    frozen.layers[1].trainable = False
    frozen.compile(keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy", metrics=["accuracy"])
    others = [_model(4, units=8), _model(5, activation="tanh"), frozen,
              _model(6, optimizer=keras.optimizers.Adam(0.05, beta_1=0.5)), _model(7, optimizer="sgd")]
    keys = [key(m) for m in others]
    assert None not in keys and len(set(keys + [base])) == len(others) + 1
    lambda_model = keras.Sequential([keras.Input((6,)), keras.layers.Lambda(lambda t: 2 * t), keras.layers.Dense(3)])
    lambda_model.compile("adam", "mse")
    assert key(lambda_model) is None  # its configuration does not say what it computes

    class Own(keras.Model):
        def call(self, inputs):
            return inputs

    own = Own()
    own.compile("adam", "mse")
    own.build((None, 6))
    assert key(own) is None


def test_the_runtime_keeps_a_few_twins(monkeypatch):
    monkeypatch.setenv("REPRO_REUSE_TRAINING", "1")
    monkeypatch.setattr("keras_repro.suite.runtime.TWINS_KEPT", 2)
    runtime = Runtime(log=lambda message: None, verbosity=0)
    x, y = _data()
    for units in (4, 5, 6, 4, 5, 6, 4):  # three kinds, each seen again
        runtime.fit(_model(units, units=units), x, y, batch_size=16, epochs=1, shuffle=False)
    assert runtime.facts["twins"] == 4 and runtime.facts["fits_on_twins"] == 4 and len(runtime._twins) == 2


def test_a_callback_that_may_hold_the_model_keeps_it_off_twins(monkeypatch):
    monkeypatch.setenv("REPRO_REUSE_TRAINING", "1")
    runtime = Runtime(log=lambda message: None, verbosity=0)
    x, y = _data()

    class Watches(keras.callbacks.Callback):
        pass

    class ReadsSelfModel(keras.callbacks.Callback):
        reads_only_self_model = True

        def on_epoch_end(self, epoch, logs=None):
            self.seen = self.model

    for seed in (0, 1):
        watched = _model(seed)
        runtime.fit(watched, x, y, batch_size=16, epochs=1, callbacks=[Watches()])
        assert watched.train_function is not None and "fits_on_twins" not in runtime.facts
    for seed in (2, 3):
        reader = ReadsSelfModel()
        runtime.fit(_model(seed), x, y, batch_size=16, epochs=1, callbacks=[reader, keras.callbacks.History()])
    assert runtime.facts["fits_on_twins"] == 1 and reader.seen is next(iter(runtime._twins.values()))


def test_jax_trains_twins_to_the_same_numbers():
    # On JAX a model's first fit takes a batch to build its metrics (one more NumPy permutation of shuffled
    # arrays, or a PyDataset's first batch): the twin takes it too.
    code = """
        import numpy as np, keras
        from keras_repro.suite.runtime import Runtime, _twin_key
        from keras_repro.measures.gap import RepeatedArrays
        import sys; sys.path.insert(0, "tests")  # as pytest runs this module: tests/ on the path
        from test_twins import _data, _model
        x, y = _data()
        runs = {}
        for reuse in ("1", "0"):
            import os; os.environ["REPRO_REUSE_TRAINING"] = reuse
            runtime = Runtime(log=lambda m: None, verbosity=0)
            models = [_model(0), _model(1, rate=0.02), _model(2), _model(3), _model(4)]
            histories = [runtime.fit(m, x, y, batch_size=16, epochs=2, shuffle=True).history for m in models[:3]]
            histories += [runtime.fit(m, RepeatedArrays(x, y, 16, 2, seed=3), epochs=2).history for m in models[3:]]
            # read after all fits: a model's arrays must outlive the twin's later steps (JAX donates buffers)
            predictions = [m.predict(x, verbose=0) for m in models]
            runs[reuse] = [(h, m.get_weights(), p) for h, m, p in zip(histories, models, predictions)]
            print(reuse, runtime.facts.get("fits_on_twins"))
        for (h1, w1, p1), (h0, w0, p0) in zip(runs["1"], runs["0"]):
            assert h1 == h0, (h1, h0)
            assert all(np.array_equal(a, b) for a, b in zip(w1, w0)) and np.array_equal(p1, p0)
        print("same")
    """
    out = assert_ok(run_python(code, backend="jax"))
    assert "1 3" in out and "0 None" in out and "same" in out  # the PyDataset's fits run other steps per call


def test_fits_of_other_batch_shapes_keep_apart(monkeypatch):
    # a training function retraced for several shapes runs more generic code: what a step costs changes
    # (gd_variants times full-batch steps at several data-set sizes on one architecture)
    import tensorflow as tf

    monkeypatch.setenv("REPRO_REUSE_TRAINING", "1")
    runtime = Runtime(log=lambda message: None, verbosity=0)
    x, y = _data()
    for seed, batch in enumerate((16, 16, 40, 40, 120)):
        runtime.fit(_model(seed), x, y, batch_size=batch, epochs=1, shuffle=False)
    assert runtime.facts["twins"] == 2 and runtime.facts["fits_on_twins"] == 2
    for seed, n in enumerate((60, 60, 90)):
        full = tf.data.Dataset.from_tensors((x[:n], y[:n])).repeat()
        runtime.fit(_model(10 + seed), full, steps_per_epoch=2, epochs=1)
    assert runtime.facts["twins"] == 3 and runtime.facts["fits_on_twins"] == 3


def test_a_model_trained_on_a_twin_evaluates_its_own_weights(monkeypatch):
    runtime, ((_, _), (model, _), (_, _)) = _train(monkeypatch, "1", shuffle=False)
    x, y = _data()
    plain = _model(9)
    plain.set_weights(model.get_weights())
    assert model.evaluate(x, y, verbose=0) == plain.evaluate(x, y, verbose=0)
    np.testing.assert_array_equal(model.predict(x, verbose=0), plain.predict(x, verbose=0))
    shifted = [w + 0.1 for w in model.get_weights()]  # the twin holds other values meanwhile: each call copies
    model.set_weights(shifted)
    plain.set_weights(shifted)
    np.testing.assert_array_equal(model.predict(x[:7], verbose=0), plain.predict(x[:7], verbose=0))
    assert model.evaluate(x, y, verbose=0) == plain.evaluate(x, y, verbose=0)


def test_a_model_compiled_again_evaluates_by_its_new_compilation(monkeypatch):
    runtime, ((_, _), (model, _), (_, _)) = _train(monkeypatch, "1", shuffle=False)
    x, y = _data()
    model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy",
                  metrics=["accuracy", keras.metrics.SparseTopKCategoricalAccuracy(k=2, name="top2")])
    scores = model.evaluate(x, y, verbose=0, return_dict=True)
    assert set(scores) == {"loss", "accuracy", "top2"}
