"""Array fits on TensorFlow are fed as a batched tf.data dataset: the same batches, the same numbers as Keras.

Keras's array adapter builds a fresh iterator of its index-gathering pipeline every epoch, and one for
every validation pass: ~25 ms of eager work an epoch, as much as 45 steps of a small MLP. With a global
seed, its shuffle draws the same permutation in every epoch (and every fit of that many examples), so the
runtime can feed the same batches from a dataset of the permuted arrays. These tests compare every
weight and every history value with Keras's own ``model.fit`` on the arrays."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from keras_repro.suite.runtime import Runtime

pytestmark = pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="the TensorFlow path")


def _model(seed: int, dropout: float = 0.0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((5,))
    h = keras.layers.Dense(16, activation="relu")(inputs)
    h = keras.layers.Dropout(dropout)(h) if dropout else h
    model = keras.Model(inputs, keras.layers.Dense(3)(h))
    model.compile(keras.optimizers.Adam(0.01), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def _fed(monkeypatch) -> list[str]:
    """What each ``Model.fit`` call is given to train on: "pydataset" or the top-level module of its type."""
    fed, original = [], keras.Model.fit

    def spy(self, data=None, *args, **kwargs):
        fed.append("pydataset" if isinstance(data, keras.utils.PyDataset) else type(data).__module__.split(".")[0])
        return original(self, data, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", spy)
    return fed


def test_array_fits_give_keras_numbers(monkeypatch):
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = rng.normal(size=(203, 5))  # float64, as given: Keras casts it to float32
    y = rng.integers(0, 3, 203)
    xv, yv = rng.normal(size=(61, 5)).astype("float32"), rng.integers(0, 3, 61)
    runtime = Runtime(log=lambda m: None, verbosity=0)
    original_fit = keras.Model.fit
    fed = _fed(monkeypatch)
    cases = [dict(epochs=3, batch_size=32, validation_data=(xv, yv)),  # 203 = 6 x 32 + 11: a partial batch
             dict(epochs=2, batch_size=16, shuffle=False),
             dict(epochs=3, batch_size=32),  # a second fit of 203 examples (the permutation is kept)
             dict(epochs=2, batch_size=50, validation_data=(xv, yv), dropout=0.5),
             # 26 batches an epoch, 16 steps per call: the second call of an epoch must stop at its end
             dict(epochs=3, batch_size=8)]
    for seed, case in enumerate(cases):
        case = dict(case)
        dropout = case.pop("dropout", 0.0)
        ours, theirs = _model(seed, dropout), _model(seed, dropout)
        keras.utils.set_random_seed(100 + seed)
        history = runtime.fit(ours, x, y, progress=False, **case).history
        keras.utils.set_random_seed(100 + seed)
        theirs.steps_per_execution = ours.steps_per_execution  # steps together: tested elsewhere
        expected = original_fit(theirs, x, y, verbose=0, **case).history
        assert history == expected, (case, history, expected)
        assert all(np.array_equal(a, b) for a, b in zip(ours.get_weights(), theirs.get_weights())), case
    # a pipeline to train on and validation arrays: the validation passes are batched once
    ours, theirs = _model(7), _model(7)
    pipeline = lambda: tf.data.Dataset.from_tensor_slices((x.astype("float32"), y)).batch(40)  # noqa: E731
    history = runtime.fit(ours, pipeline(), epochs=2, validation_data=(xv, yv), validation_batch_size=20,
                          progress=False).history
    theirs.steps_per_execution = ours.steps_per_execution
    expected = original_fit(theirs, pipeline(), epochs=2, validation_data=(xv, yv), validation_batch_size=20,
                            shuffle=False, verbose=0).history
    assert history == expected, (history, expected)
    assert all(np.array_equal(a, b) for a, b in zip(ours.get_weights(), theirs.get_weights()))
    assert set(fed) == {"tensorflow"}  # every fit was fed a tf.data dataset, none the arrays


def test_unseeded_shuffled_fits_keep_keras_arrays(monkeypatch):
    # without a global seed each epoch's permutation is new: one dataset would repeat the first
    import tensorflow as tf

    model = _model(0)
    fed = _fed(monkeypatch)
    tf.random.set_seed(None)
    try:
        Runtime(log=lambda m: None, verbosity=0).fit(model, np.ones((40, 5)), np.zeros(40), epochs=2, progress=False)
    finally:
        keras.utils.set_random_seed(0)
    assert fed == ["numpy"]


def test_other_backends_keep_the_arrays(monkeypatch):
    # JAX and torch reshuffle every epoch (NumPy, torch): their fits keep Keras's own array path
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    args, kwargs = Runtime(log=lambda m: None, verbosity=0)._arrays_as_dataset(
        (np.ones((4, 2)), np.ones(4)), {"epochs": 2, "validation_data": (np.ones((2, 2)), np.ones(2))})
    assert all(isinstance(a, np.ndarray) for a in args)
    assert isinstance(kwargs["validation_data"], tuple)


def test_batches_are_cut_whole_not_gathered_example_by_example():
    # ``from_tensor_slices(x).batch(n)`` assembles every batch from n one-example elements: for full-batch
    # fits of thousands of examples (universal_approximation's 100 steps per call) that cost more than the
    # step. The batches are cut from the whole arrays in one copy each (``rebatch``), validation too.
    runtime = Runtime(log=lambda m: None, verbosity=0)
    x, y = np.ones((10, 3), "float32"), np.arange(10)
    (dataset,), kwargs = runtime._arrays_as_dataset((x, y), {"batch_size": 4, "shuffle": False,
                                                              "validation_data": (x, y)})
    def chain(d):  # the dataset's transformations, from the last to its source
        return [type(d).__name__] + (chain(d._input_dataset) if hasattr(d, "_input_dataset") else [])

    for d in (dataset, kwargs["validation_data"]):
        assert "_BatchDataset" not in chain(d) and chain(d)[-1] == "_TensorDataset", chain(d)  # one element: all
        assert [len(b[0]) for b in d] == [4, 4, 2] and int(d.cardinality()) == 3  # Keras knows the epoch's length
        assert d.element_spec[0].shape.as_list() == [None, 3]  # as .batch gives (and Keras's adapter)
