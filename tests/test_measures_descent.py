"""keras_repro.measures.descent: descent on surfaces, the measures read from trajectories and
loss curves, and the training-loop pieces that record them."""
from __future__ import annotations

import json

import keras
import numpy as np
import pytest
from conftest import assert_ok, run_python

from keras_repro import optimizers as O
from keras_repro.measures import descent, surfaces
from keras_repro.measures.descent import is_non_increasing


def test_steps_to_tolerance_requires_staying_below():
    assert descent.steps_to_tolerance([1.0, 0.5, 0.05, 0.2, 0.01, 0.001], 0.1) == 4
    assert descent.steps_to_tolerance([0.01, 0.02], 0.1) == 0
    assert descent.steps_to_tolerance([1.0, 0.05, 0.5], 0.1) is None
    assert descent.steps_to_tolerance([1.0, np.nan, 0.01], 0.1) == 2
    assert descent.steps_to_tolerance([1.0, 0.01, np.inf], 0.1) is None


def test_relative_excess():
    np.testing.assert_allclose(descent.relative_excess([3.0, 2.0, 1.0], offset=1.0), [1.0, 0.5, 0.0])


def test_sign_flip_fraction():
    assert descent.sign_flip_fraction([1, -1, 1, -1, 1]) == 1.0
    assert descent.sign_flip_fraction([5, 4, 3, 2]) == 0.0
    assert descent.sign_flip_fraction([0, 1, 1, 2, 1]) == pytest.approx(0.5)  # the zero update is skipped
    assert np.isnan(descent.sign_flip_fraction([1, 2]))


def test_overshoot():
    assert descent.overshoot([1.0, 0.5, -0.3, 0.1], 0.0) == pytest.approx(0.3)
    assert descent.overshoot([-2.0, -1.0, 0.0], 0.0) == 0.0
    assert descent.overshoot([3.0, 0.0, 2.0], 2.0) == pytest.approx(2.0)
    with pytest.raises(ValueError):
        descent.overshoot([0.0, 1.0], 0.0)


def test_loglog_slope():
    n = np.array([1e3, 1e4, 1e5])
    assert descent.loglog_slope(n, 3e-6 * n) == pytest.approx(1.0)
    assert descent.loglog_slope(n, n ** 2) == pytest.approx(2.0)
    assert descent.loglog_slope(n, 0.01 + 0 * n) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="positive"):
        descent.loglog_slope([1, 2], [1, 0])


def test_curve_noise_ignores_trends_and_sees_jitter():
    t = np.arange(100, dtype=float)
    assert descent.curve_noise(3.0 - 0.01 * t) == pytest.approx(0.0, abs=1e-20)
    jitter = descent.curve_noise(3.0 - 0.01 * t + 0.1 * (-1.0) ** t)
    assert jitter > 0.005
    with pytest.raises(ValueError, match="window"):
        descent.curve_noise(t, window=4)


def test_direction_spread():
    g = np.array([[1.0, 0.0], [0.0, 2.0]])
    assert descent.direction_spread(-0.1 * g, g) == pytest.approx(0.0)
    assert descent.direction_spread(np.array([[0.0, 1.0], [1.0, 0.0]]), g) == pytest.approx(1.0)
    assert descent.direction_spread(g, g) == pytest.approx(2.0)


def test_best_per_and_log_grid():
    import pandas as pd

    table = pd.DataFrame([{"m": "a", "steps": None, "loss": 1e-3}, {"m": "a", "steps": 30, "loss": 0.5},
                          {"m": "a", "steps": 30, "loss": 0.1}, {"m": "b", "steps": None, "loss": 0.5},
                          {"m": "b", "steps": None, "loss": 0.1}, {"m": "c", "steps": 7, "loss": 0.2}])
    best = descent.best_per(table, "m", ["steps", "loss"])
    assert best.loc["a"].tolist() == [30, 0.1] and best.loc["b", "loss"] == 0.1 and best.loc["c", "steps"] == 7
    assert descent.log_grid(1e-4, 1e-2, 3) == (1e-4, 1e-3, 1e-2)
    with pytest.raises(ValueError, match="low"):
        descent.log_grid(0.0, 1.0, 3)


def test_descend_is_gradient_descent_in_closed_form():
    q = surfaces.Quadratic([1.0, 10.0])
    path = descent.descend(q, keras.optimizers.SGD(0.05), [1.0, 1.0], 20)
    t = np.arange(21)[:, None]
    np.testing.assert_allclose(path, (1 - 0.05 * np.array([1.0, 10.0])) ** t, rtol=1e-5)


@pytest.mark.parametrize("make", [lambda **k: O.Momentum(momentum=0.8, **k), lambda **k: O.Rprop(**k),
                                  lambda **k: O.Adam(**k), lambda **k: O.RMSprop(**k)],
                         ids=["Momentum", "Rprop", "Adam", "RMSprop"])
def test_sweep_rows_are_independent_runs(make):
    surface, rates, start = surfaces.Rosenbrock(), (1e-4, 3e-4, 1e-3), [-1.5, 2.0]
    together = descent.sweep(surface, make, rates, start, 40)
    for i, lr in enumerate(rates):
        np.testing.assert_allclose(together[:, i], descent.descend(surface, make(learning_rate=lr), start, 40), rtol=1e-6)


def test_sweep_rejects_bad_rates():
    with pytest.raises(ValueError, match="positive"):
        descent.sweep(surfaces.Rosenbrock(), O.Adam, [1e-3, -1.0], [0.0, 0.0], 3)


def test_descend_on_jax():
    out = assert_ok(run_python("""
        import json, keras, numpy as np
        import keras_repro
        from keras_repro import optimizers as O
        from keras_repro.measures import descent, surfaces
        q = surfaces.Quadratic([1.0, 10.0])
        gd = descent.descend(q, keras.optimizers.SGD(0.05), [1.0, 1.0], 20)
        swept = descent.sweep(q, lambda **k: O.Nesterov(momentum=0.5, **k), (0.01, 0.05), [1.0, 1.0], 15)
        single = descent.descend(q, O.Nesterov(0.05, 0.5), [1.0, 1.0], 15)
        print(json.dumps({"backend": keras.backend.backend(), "gd": gd.tolist(),
                          "gap": float(np.abs(swept[:, 1] - single).max())}))
    """, "jax"))
    result = json.loads(out.strip().splitlines()[-1])
    assert result["backend"] == "jax"
    np.testing.assert_allclose(result["gd"], (1 - 0.05 * np.array([1.0, 10.0])) ** np.arange(21)[:, None], rtol=1e-5)
    assert result["gap"] < 1e-6


def _take(dataset, n):
    return [tuple(np.asarray(t) for t in item) for item in dataset.take(n)]


def test_batches_full_minibatch_and_sgd():
    x, y = np.arange(12, dtype="float32").reshape(6, 2), np.arange(6)
    full = _take(descent.batches(x, y, 6, seed=0), 2)
    assert all(np.array_equal(b[1], y) for b in full)
    epoch = _take(descent.batches(x, y, 2, seed=0), 3)
    assert sorted(np.concatenate([b[1] for b in epoch]).tolist()) == list(range(6))  # each example once per epoch
    assert all(len(b[1]) == 1 for b in _take(descent.batches(x, y, 1, seed=0), 4))
    with pytest.raises(ValueError, match="batch_size"):
        descent.batches(x, y, 7, seed=0)


def test_recorders_in_fit():
    x = np.random.default_rng(0).normal(size=(16, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, kernel_initializer="zeros")])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    weights, timer, losses = descent.WeightRecorder(max_steps=5), descent.StepTimer(), descent.LossPerStep(stop_below=None)
    model.fit(descent.batches(x, y, 16, seed=0), steps_per_epoch=1, epochs=5, shuffle=False,
              callbacks=[weights, timer, losses], verbose=0)
    assert weights.trajectory.shape == (6, 4) and np.all(weights.trajectory[0] == 0)
    np.testing.assert_allclose(weights.trajectory[-1], descent.flat_weights(model))
    assert len(timer.seconds) == 5 and min(timer.seconds) > 0
    assert len(losses.losses) == 5 and losses.losses[-1] < losses.losses[0]
    stopper = descent.LossPerStep(stop_below=losses.losses[2])
    model2 = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, kernel_initializer="zeros")])
    model2.compile(keras.optimizers.SGD(0.1), "mse")
    model2.fit(descent.batches(x, y, 16, seed=0), steps_per_epoch=1, epochs=5, shuffle=False, callbacks=[stopper], verbose=0)
    assert len(stopper.losses) == 3


def test_is_non_increasing():
    assert is_non_increasing([5, 5, 3, 1, 1])
    assert not is_non_increasing([5, 3, 4])
