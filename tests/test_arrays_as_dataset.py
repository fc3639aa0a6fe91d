"""Array fits on TensorFlow are fed as a batched tf.data dataset: the same batches, the same numbers as Keras.

Keras's array adapter builds a fresh iterator of its index-gathering pipeline every epoch, and one for
every validation pass: ~25 ms of eager work an epoch, as much as 45 steps of a small MLP. With a global
seed, its shuffle draws the same permutation in every epoch (and every fit of that many examples), so the
runtime can feed the same batches from a dataset of the permuted arrays. These tests compare every
weight and every history value with Keras's own ``model.fit`` on the arrays."""
from __future__ import annotations

import pytest

from conftest import assert_ok, run_python

CODE = """
    import numpy as np, keras, tensorflow as tf
    from keras_repro.suite.runtime import Runtime

    def model(seed, dropout=0.0):
        keras.utils.set_random_seed(seed)
        inputs = keras.Input((5,))
        h = keras.layers.Dense(16, activation="relu")(inputs)
        h = keras.layers.Dropout(dropout)(h) if dropout else h
        m = keras.Model(inputs, keras.layers.Dense(3)(h))
        m.compile(keras.optimizers.Adam(0.01), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
        return m

    rng = np.random.default_rng(0)
    x = rng.normal(size=(203, 5))  # float64, as given: Keras casts it to float32
    y = rng.integers(0, 3, 203)
    xv, yv = rng.normal(size=(61, 5)).astype("float32"), rng.integers(0, 3, 61)
    fed = []
    original = keras.Model.fit
    def spy(self, data=None, *args, **kwargs):
        fed.append(type(data).__module__.split(".")[0])
        return original(self, data, *args, **kwargs)

    runtime = Runtime(log=lambda m: None, verbosity=0)
    cases = [dict(epochs=3, batch_size=32, validation_data=(xv, yv)),  # 203 = 6 x 32 + 11: a partial batch
             dict(epochs=2, batch_size=16, shuffle=False),
             dict(epochs=3, batch_size=32),  # a second fit of 203 examples (the permutation is kept)
             dict(epochs=2, batch_size=50, validation_data=(xv, yv), dropout=0.5),
             # 26 batches an epoch, 16 steps per call: the second call of an epoch must stop at its end
             dict(epochs=3, batch_size=8)]
    for seed, case in enumerate(cases):
        case = dict(case)
        dropout = case.pop("dropout", 0.0)
        ours, theirs = model(seed, dropout), model(seed, dropout)
        keras.utils.set_random_seed(100 + seed)
        keras.Model.fit = spy
        try:
            history = runtime.fit(ours, x, y, progress=False, **case).history
        finally:
            keras.Model.fit = original
        keras.utils.set_random_seed(100 + seed)
        theirs.steps_per_execution = ours.steps_per_execution  # steps together: tested elsewhere
        expected = theirs.fit(x, y, verbose=0, **case).history
        assert history == expected, (case, history, expected)
        assert all(np.array_equal(a, b) for a, b in zip(ours.get_weights(), theirs.get_weights())), case
    # a pipeline to train on and validation arrays: the validation passes are batched once
    ours, theirs = model(7), model(7)
    pipeline = lambda: tf.data.Dataset.from_tensor_slices((x.astype("float32"), y)).batch(40)  # noqa: E731
    history = runtime.fit(ours, pipeline(), epochs=2, validation_data=(xv, yv), validation_batch_size=20,
                          progress=False).history
    theirs.steps_per_execution = ours.steps_per_execution
    expected = theirs.fit(pipeline(), epochs=2, validation_data=(xv, yv), validation_batch_size=20,
                          verbose=0).history
    assert history == expected, (history, expected)
    assert all(np.array_equal(a, b) for a, b in zip(ours.get_weights(), theirs.get_weights()))
    print("fed", sorted(set(fed)), "same")
"""


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_array_fits_give_keras_numbers(backend):
    out = assert_ok(run_python(CODE, backend=backend))
    assert "same" in out
    # TensorFlow: one tf.data pipeline per fit; elsewhere the arrays as given (JAX reshuffles every epoch)
    assert f"fed ['{'tensorflow' if backend == 'tensorflow' else 'numpy'}']" in out


UNSEEDED = """
    import numpy as np, keras, tensorflow as tf
    from keras_repro.suite.runtime import Runtime

    tf.random.set_seed(None)  # no global seed: Keras's shuffle differs from epoch to epoch
    inputs = keras.Input((2,))
    m = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    m.compile("sgd", "mse")
    fed = []
    original = keras.Model.fit
    def spy(self, data=None, *args, **kwargs):
        fed.append(type(data).__module__.split(".")[0])
        return original(self, data, *args, **kwargs)
    keras.Model.fit = spy
    Runtime(log=lambda m: None, verbosity=0).fit(m, np.ones((40, 2)), np.ones((40, 1)), epochs=2, progress=False)
    print("fed", fed)
"""


def test_unseeded_shuffled_fits_keep_keras_arrays():
    # without a global seed each epoch's permutation is new: one pipeline would repeat the first
    assert "fed ['numpy']" in assert_ok(run_python(UNSEEDED, backend="tensorflow"))
