"""full_batch_fit: ``steps`` full-batch steps, the same numbers as Keras's own fit on the data tiled ``chunk``
times, on every backend. On TensorFlow Keras is fed a batched dataset of the tiled arrays (the runtime's array
fits; Keras's array adapter gathers each batch by index in a parallel map: on a 2-2-1 network that was 40% of a
step)."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import assert_ok, run_python

CODE = """
    import numpy as np, keras
    from keras_repro.suite.runtime import Runtime, full_batch_fit

    def model(seed):
        keras.utils.set_random_seed(seed)
        inputs = keras.Input((3,))
        h = keras.layers.Dense(4, activation="tanh")(inputs)
        m = keras.Model(inputs, keras.layers.Dense(1)(h))
        m.compile(keras.optimizers.Adam(0.05), "mse", metrics=["mae"])
        return m

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(7, 3)), rng.normal(size=(7, 1)).astype("float32")  # float64 inputs, as given
    runtime = Runtime(log=lambda m: None, verbosity=0)
    fed = []
    original = keras.Model.fit
    def spy(self, data=None, *args, **kwargs):  # what Keras is given to train on
        fed.append(type(data).__module__.split(".")[0])
        return original(self, data, *args, **kwargs)
    for steps, asked, chunk in ((60, 20, 20), (45, 100, 45), (1, 5, 1), (90, 40, 30)):  # chunk: steps per epoch
        ours, theirs = model(1), model(1)
        keras.Model.fit = spy
        try:
            history = full_batch_fit(runtime, ours, x, y, steps, chunk=asked, progress=False).history
        finally:
            keras.Model.fit = original
        theirs.steps_per_execution = 1 if keras.backend.backend() == "torch" else chunk
        expected = original(theirs, np.concatenate([x] * chunk), np.concatenate([y] * chunk), batch_size=len(x),
                            epochs=steps // chunk, shuffle=False, verbose=0).history
        assert history == expected, (history, expected)
        assert all(np.array_equal(a, b) for a, b in zip(ours.get_weights(), theirs.get_weights()))
    print("fed", sorted(set(fed)), "same")
"""


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_full_batch_fit_gives_keras_numbers(backend):
    out = assert_ok(run_python(CODE, backend=backend))
    assert "same" in out
    # TensorFlow: a tf.data dataset of one repeated batch; elsewhere the tiled arrays
    assert f"fed ['{'tensorflow' if backend == 'tensorflow' else 'numpy'}']" in out


def test_full_batch_fit_refuses_no_steps():
    from keras_repro.suite.runtime import Runtime, full_batch_fit

    with pytest.raises(ValueError, match="steps must be >= 1"):
        full_batch_fit(Runtime(log=lambda m: None, verbosity=0), None, np.zeros((2, 1)), np.zeros(2), 0)


@pytest.mark.parametrize("steps, chunk", [(150, 100), (7, 4), (200, 100)])
def test_full_batch_fit_runs_exactly_the_steps_asked(steps, chunk):
    # 150 steps in epochs of 100 ran 200 (the last epoch was a whole chunk): a budget overrun
    import keras

    from keras_repro.suite.runtime import Runtime, full_batch_fit

    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    model.compile(keras.optimizers.SGD(0.01), "mse")
    history = full_batch_fit(Runtime(log=lambda m: None, verbosity=0), model, np.ones((3, 2)), np.ones((3, 1)),
                             steps, chunk=chunk, progress=False)
    assert int(model.optimizer.iterations) == steps
    assert len(history.epoch) * model.steps_per_execution == steps
