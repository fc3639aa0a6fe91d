"""The runtime runs several training steps per call into the backend (``steps_per_execution``) where nothing
watches single batches: the same steps, the same numbers, less time returning to Python (issue 14)."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from keras_repro.suite.runtime import STEPS_TOGETHER, Runtime


def _fit(monkeypatch, together: str | None, callbacks=(), epochs=3, **kwargs):
    if together is None:
        monkeypatch.delenv("REPRO_STEPS_TOGETHER", raising=False)
    else:
        monkeypatch.setenv("REPRO_STEPS_TOGETHER", together)
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dropout(0.3, seed=1), keras.layers.Dense(3, activation="softmax")])
    model.compile(keras.optimizers.SGD(0.05, momentum=0.9), "sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 6)).astype("float32")
    y = (x[:, 0] > 0).astype("int64") + (x[:, 1] > 1).astype("int64")
    runtime = Runtime(log=lambda message: None, verbosity=0)
    history = runtime.fit(model, x, y, batch_size=16, epochs=epochs, shuffle=False, callbacks=list(callbacks),
                          validation_data=(x[:50], y[:50]), **kwargs)
    return model, history, runtime


def test_several_steps_per_call_give_the_same_numbers(monkeypatch):
    together, history, runtime = _fit(monkeypatch, None)
    assert together.steps_per_execution == min(STEPS_TOGETHER, 13) == runtime.facts["steps_together"]
    one, one_history, one_runtime = _fit(monkeypatch, "1")
    assert one.steps_per_execution == 1 and "steps_together" not in one_runtime.facts
    np.testing.assert_allclose(history.history["loss"], one_history.history["loss"], rtol=1e-6)
    np.testing.assert_allclose(history.history["val_accuracy"], one_history.history["val_accuracy"])
    for a, b in zip(together.get_weights(), one.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_an_epoch_shorter_than_the_group_runs_its_steps(monkeypatch):
    model, _, _ = _fit(monkeypatch, None, steps_per_epoch=3, epochs=2)
    assert model.steps_per_execution == 3
    assert int(model.optimizer.iterations.numpy()) == 6


@pytest.mark.parametrize("source", ["endless dataset", "arrays", "finite dataset"])
def test_an_epoch_that_the_group_does_not_divide_runs_exactly_its_steps(monkeypatch, source):
    """Keras runs whole groups of ``steps_per_execution`` steps while the data last: 20 steps per epoch
    grouped by 16 ran 32 on an endless dataset (overfitting_levers' augmentation fits trained 80 steps an
    epoch instead of 70). The same steps and numbers as one step per call, every epoch."""
    import tensorflow as tf

    rng = np.random.default_rng(1)
    x = rng.normal(size=(320, 6)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    steps = 20 if source == "endless dataset" else None

    def fit(together):
        if source == "endless dataset":
            data = (tf.data.Dataset.from_tensor_slices((x, y)).batch(16).repeat(),)
        elif source == "finite dataset":  # 21 batches an epoch, the last one partial
            data = (tf.data.Dataset.from_tensor_slices((x[:313], y[:313])).batch(15),)
        else:  # 20 batches an epoch, the last one partial
            data = (x[:313], y[:313])
        monkeypatch.setenv("REPRO_STEPS_TOGETHER", together)
        keras.utils.set_random_seed(3)
        model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"),
                                  keras.layers.Dense(2, activation="softmax")])
        model.compile(keras.optimizers.SGD(0.05, momentum=0.9), "sparse_categorical_crossentropy")
        kwargs = {"steps_per_epoch": steps} if steps else {}
        if source == "arrays":
            kwargs.update(batch_size=16, shuffle=False)
        history = Runtime(log=lambda message: None, verbosity=0).fit(model, *data, epochs=2, **kwargs)
        return model, history

    grouped, grouped_history = fit(str(STEPS_TOGETHER))
    one, one_history = fit("1")
    per_epoch = {"endless dataset": 20, "arrays": 20, "finite dataset": 21}[source]
    assert int(one.optimizer.iterations.numpy()) == 2 * per_epoch
    assert int(grouped.optimizer.iterations.numpy()) == 2 * per_epoch
    assert grouped.steps_per_execution > 1
    np.testing.assert_allclose(grouped_history.history["loss"], one_history.history["loss"], rtol=1e-6)
    for a, b in zip(grouped.get_weights(), one.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


class _EveryBatch(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seen = 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1


@pytest.mark.parametrize("hook", ["train batch", "epoch only"])
def test_a_callback_that_watches_batches_keeps_one_step_per_call(monkeypatch, hook):
    if hook == "train batch":
        watcher = _EveryBatch()
        model, _, _ = _fit(monkeypatch, None, callbacks=[watcher], epochs=1)
        assert model.steps_per_execution == 1 and watcher.seen == 13  # every one of the 13 batches
    else:
        model, _, _ = _fit(monkeypatch, None, callbacks=[keras.callbacks.EarlyStopping(patience=2)], epochs=1)
        assert model.steps_per_execution == min(STEPS_TOGETHER, 13)


def test_a_deep_model_keeps_one_step_per_call():
    # Tracing a step inside a loop costs a deep model seconds more (ResNet-56: +3 to 6 s per architecture on
    # TensorFlow), and its steps are long, so the per-call saving (~1 ms a step) would not pay it back.
    from keras_repro.suite.runtime import DEEP_LAYERS

    def stack(layers: int):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((4,))] + [keras.layers.Dense(4) for _ in range(layers)])
        model.compile("sgd", "mse")
        return model

    runtime = Runtime(log=lambda message: None, verbosity=0)
    x, y = np.ones((64, 4), "float32"), np.ones((64, 4), "float32")
    shallow, deep = stack(DEEP_LAYERS), stack(DEEP_LAYERS + 1)
    runtime.fit(shallow, x, y, batch_size=8, epochs=1, progress=False)
    runtime.fit(deep, x, y, batch_size=8, epochs=1, progress=False)
    assert (shallow.steps_per_execution, deep.steps_per_execution) == (8, 1)
