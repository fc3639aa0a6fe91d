"""PyDataset fits on TensorFlow are fed from a tf.data dataset: the same batches, the same numbers as Keras.

Keras feeds a ``keras.utils.PyDataset`` to TensorFlow through ``tf.data.Dataset.from_generator``: every batch
is a Python call from a TensorFlow thread, which on this project's 2-core machine contends with the training
step (2.7 s against 2.0 s for 5 epochs of DropConnect's MLP). A PyDataset that declares its batch layout
fixed (``fixed_batches = True``: ``(x, y)`` NumPy batches, as many every epoch, all of ``batch_size`` but
the last) is fed instead from variables that a callback fills at each epoch's start, asking the PyDataset
for its batches in the order and at the moments Keras's adapter would (two peeked batches first, Python's
``random.shuffle`` of the batch indices, ``on_epoch_end``). These tests compare every weight, every history
value, and the random states left behind, with Keras's own ``model.fit`` on the PyDataset."""
from __future__ import annotations

import random

import keras
import numpy as np
import pytest

from keras_repro.measures.gap import RepeatedArrays
from keras_repro.suite.runtime import Runtime
from test_arrays_as_dataset import _fed, _model

pytestmark = pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="the TensorFlow path")


def _noise(x, rng):
    return x + rng.normal(scale=0.1, size=x.shape)


class _StopAfter(keras.callbacks.Callback):
    """Stops training at the end of epoch ``epoch`` (as early stopping would)."""

    def __init__(self, epoch: int):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            self.model.stop_training = True


class _Recorder(keras.callbacks.Callback):
    """What the PyDataset's own generator holds at each epoch's end (its next draw)."""

    def __init__(self, data):
        super().__init__()
        self.data, self.draws = data, []

    def on_epoch_end(self, epoch, logs=None):
        self.draws.append(self.data.rng.bit_generator.state["state"]["state"])


def test_fixed_batch_pydataset_fits_give_keras_numbers(monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(52, 5)).astype("float32")
    y = rng.integers(0, 3, 52)
    runtime = Runtime(log=lambda m: None, verbosity=0)
    original_fit = keras.Model.fit
    fed = _fed(monkeypatch)
    cases = [  # 52 x 8 = 416 = 26 x 16: 26 batches an epoch, 16 steps per call: the second call stops at its end
        dict(batch_size=16, repeats=8, epochs=3),
        dict(batch_size=10, repeats=3, epochs=3, transform=_noise),  # 156 = 15 x 10 + 6: a partial batch
        dict(batch_size=32, repeats=2, epochs=2, shuffle=False, dropout=0.5),
        dict(batch_size=8, repeats=1, epochs=5, stop_after=1, transform=_noise),  # stopped after 2 epochs
    ]
    for seed, case in enumerate(cases):
        case = dict(case)
        dropout, stop_after = case.pop("dropout", 0.0), case.pop("stop_after", None)
        fit_kwargs = {k: case.pop(k) for k in ("epochs", "shuffle") if k in case}
        outcomes = []
        for trainer in ("ours", "keras"):
            model = _model(seed, dropout)
            keras.utils.set_random_seed(100 + seed)
            data = RepeatedArrays(x, y, seed=seed, **case)
            recorder = _Recorder(data)
            callbacks = [recorder] + ([_StopAfter(stop_after)] if stop_after is not None else [])
            if trainer == "ours":
                history = runtime.fit(model, data, callbacks=callbacks, progress=False, **fit_kwargs).history
                steps = model.steps_per_execution
            else:
                model.steps_per_execution = steps  # steps together: tested elsewhere
                history = original_fit(model, data, callbacks=callbacks, verbose=0, **fit_kwargs).history
            # what the fit leaves behind: Python's and NumPy's generators, the PyDataset's own
            after = (random.random(), np.random.random(), data.rng.random(), recorder.draws)
            outcomes.append((history, model.get_weights(), after))
        (history, weights, after), (expected, expected_weights, expected_after) = outcomes
        assert history == expected, (case, history, expected)
        assert all(np.array_equal(a, b) for a, b in zip(weights, expected_weights)), case
        assert after == expected_after, case
    assert fed == ["tensorflow"] * len(cases)  # every fit of ours was fed a tf.data dataset, none the PyDataset


def test_other_pydatasets_are_fed_as_they_are(monkeypatch):
    # a PyDataset that does not declare its batch layout fixed may change it from epoch to epoch
    class Plain(keras.utils.PyDataset):
        def __len__(self):
            return 3

        def __getitem__(self, index):
            return np.ones((4, 5), "float32"), np.zeros(4, "int64")

    fed = _fed(monkeypatch)
    Runtime(log=lambda m: None, verbosity=0).fit(_model(0), Plain(), epochs=2, progress=False)
    assert fed == ["pydataset"]


def test_other_backends_keep_the_pydataset(monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    data = RepeatedArrays(np.ones((4, 2), "float32"), np.ones(4), 2)
    args, kwargs, callbacks = Runtime(log=lambda m: None, verbosity=0)._batches_as_dataset((data,), {"epochs": 2}, [])
    assert args == (data,) and callbacks == []
