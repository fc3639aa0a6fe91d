"""Section 4: the landscape/trajectory library and the reproductions' measurement functions and rules."""
from __future__ import annotations

import json

import keras
import numpy as np
import pytest
from conftest import assert_ok, run_python

import keras_repro  # noqa: F401
from keras_repro import optimizers as O
from keras_repro.measures import descent, surfaces
from reproductions import adam_sweep, adaptive_steps, gd_variants, momentum_methods


# --- measures -------------------------------------------------------------------------------------
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


# --- surfaces and descent -------------------------------------------------------------------------
def test_least_squares_quadratic_is_the_data_loss():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(50, 3)), rng.normal(size=50)
    surface = surfaces.Quadratic.least_squares(x, y)
    for w in rng.normal(size=(4, 3)):
        assert surfaces.evaluate(surface, w) == pytest.approx(0.5 * np.mean((x @ w - y) ** 2), rel=1e-5)
    np.testing.assert_allclose(surface.curvatures, np.linalg.eigvalsh(x.T @ x / 50))


def test_surfaces():
    q = surfaces.Quadratic([1.0, 100.0])
    assert q.condition_number == 100.0
    assert surfaces.evaluate(q, [[1.0, 1.0], [0.0, 0.1]]).tolist() == pytest.approx([50.5, 0.5])
    r = surfaces.Rosenbrock()
    assert surfaces.evaluate(r, [1.0, 1.0]) == 0.0 and surfaces.evaluate(r, [0.0, 0.0]) == 1.0
    with pytest.raises(ValueError, match="positive definite"):
        surfaces.Quadratic([1.0, -1.0])
    with pytest.raises(ValueError, match="symmetric"):
        surfaces.Quadratic(np.array([[1.0, 2.0], [0.0, 1.0]]))


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


# --- the training loop -----------------------------------------------------------------------------
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


# --- gd_variants -------------------------------------------------------------------------------------
def test_flip_labels_changes_exactly_the_fraction():
    y = np.repeat(np.arange(10), 20)
    flipped = gd_variants.flip_labels(y, 0.2, 10, np.random.default_rng(0))
    assert np.sum(flipped != y) == 40 and flipped.min() >= 0 and flipped.max() <= 9


def test_softmax_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(7, 3)), rng.integers(0, 4, 7)
    theta = rng.normal(size=3 * 4 + 4)
    _, grad = gd_variants.softmax_loss_and_gradient(theta, x, y, 4)
    numeric = np.array([(gd_variants.softmax_loss_and_gradient(theta + e, x, y, 4)[0]
                         - gd_variants.softmax_loss_and_gradient(theta - e, x, y, 4)[0]) / 2e-6
                        for e in np.eye(len(theta)) * 1e-6])
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)


def test_elongated_regression_has_condition_number_100():
    x, _, _ = gd_variants.elongated_regression(256, 0.5, np.random.default_rng(2))
    h = x.astype("float64").T @ x.astype("float64") / len(x)
    np.testing.assert_allclose(h, np.diag([1.0, 100.0]), atol=1e-3)


def test_gd_variants_rules():
    rules = {c.id: c.rule for c in gd_variants.CLAIMS}
    assert rules["C4.0"]({"loglog_slope": 0.95}) and not rules["C4.0"]({"loglog_slope": 0.5})
    noisy = {"loss_noise_ratio_clean": 10.0, "loss_noise_ratio_flipped": 10.0, "direction_spread_ratio_clean": 1.5,
             "direction_spread_ratio_flipped": 1.5}
    assert rules["C4.1"](noisy) and not rules["C4.1"]({**noisy, "direction_spread_ratio_flipped": 0.9})
    zig = {"steep_flip_fraction_minibatch": 0.9, "flat_progress_per_step_minibatch": 0.02}
    assert rules["C4.2"](zig)
    assert not rules["C4.2"]({**zig, "steep_flip_fraction_minibatch": 0.4})
    assert not rules["C4.2"]({**zig, "flat_progress_per_step_minibatch": 0.2})


# --- momentum_methods --------------------------------------------------------------------------------
def test_momentum_grids_give_every_method_the_same_budget():
    cfg = momentum_methods.Config()
    grids = momentum_methods.grids(cfg)
    assert len({len(g) for g in grids.values()}) == 1
    assert len(grids[momentum_methods.GD]) == cfg.momentum_lr_count * len(cfg.momenta)
    rates = [lr for lr, _ in grids[momentum_methods.GD]]
    assert min(rates) == pytest.approx(cfg.lr_low) and max(rates) == pytest.approx(cfg.lr_high)


def test_numpy_heavy_ball_matches_the_optimisers():
    q = surfaces.Quadratic([1.0, 10.0])
    start = np.array([-1.0, 1.0])
    stale = momentum_methods.heavy_ball(q.hessian, start, 0.005, 0.8, 30, stale=True)
    np.testing.assert_allclose(stale, descent.descend(q, O.Momentum(0.005, 0.8), start, 30), rtol=1e-5, atol=1e-7)
    fresh = momentum_methods.heavy_ball(q.hessian, start, 0.005, 0.8, 30, stale=False)
    np.testing.assert_allclose(fresh, descent.descend(q, O.Nesterov(0.005, 0.8), start, 30), rtol=1e-5, atol=1e-7)


def test_describe_path_and_best_rows():
    q = surfaces.Quadratic([1.0, 100.0])
    path = np.array([[-1.0, 1.0], [-0.5, -0.5], [-0.1, 0.1], [0.0, 0.0]])
    summary = momentum_methods.describe_path(q, path, 1e-6)
    assert summary["steps_to_tolerance"] == 3 and summary["steep_overshoot"] == pytest.approx(0.5)
    assert summary["steep_flip_fraction"] == pytest.approx(1.0) and not summary["diverged"]
    blown = momentum_methods.describe_path(q, np.array([[-1.0, 1.0], [np.inf, np.nan]]), 1e-6)
    assert blown["diverged"] and blown["steps_to_tolerance"] is None
    import pandas as pd

    table = pd.DataFrame([{"method": "a", "steps_to_tolerance": None, "final_excess": 1e-3},
                          {"method": "a", "steps_to_tolerance": 30, "final_excess": 0.0},
                          {"method": "b", "steps_to_tolerance": None, "final_excess": 0.5},
                          {"method": "b", "steps_to_tolerance": None, "final_excess": 0.1}])
    best = momentum_methods.best_rows(table)
    assert best.loc["a", "steps_to_tolerance"] == 30 and best.loc["b", "final_excess"] == 0.1
    assert momentum_methods.speedup(300, 100) == 3.0 and momentum_methods.speedup(300, None) == 0.0


def test_momentum_rules():
    rules = {c.id: c.rule for c in momentum_methods.CLAIMS}
    assert rules["C4.3"]({"quadratic_speedup_notes_momentum": 4.0})
    assert not rules["C4.3"]({"quadratic_speedup_notes_momentum": 0.36})
    assert rules["C4.4"]({"overshoot_reduction": 0.4, "extra_steps": 0})
    assert not rules["C4.4"]({"overshoot_reduction": 0.4, "extra_steps": 4})
    assert not rules["C4.4"]({"overshoot_reduction": -0.1, "extra_steps": -10})
    assert rules["C4.5"]({"flip_reduction": 0.2, "step_ratio_gd_over_ema": 5.0})
    assert not rules["C4.5"]({"flip_reduction": 0.0, "step_ratio_gd_over_ema": 5.0})


# --- adaptive_steps and adam_sweep ---------------------------------------------------------------------
def test_effective_rates_rebuild_rmsprop_state():
    q = surfaces.Quadratic([1.0, 100.0])
    optimizer = O.RMSprop(0.01)
    path = descent.descend(q, optimizer, [1.0, 1.0], 12)
    rebuilt = adaptive_steps.effective_rates(q, path, 12, 0.01, 0.9, 1e-7)
    # the last factor of the geometric mean is the optimiser's own final state
    final = 0.01 / np.sqrt(keras.ops.convert_to_numpy(optimizer.mean_squares[0]) + 1e-7)
    logs = np.log(rebuilt) * 12
    previous = np.log(adaptive_steps.effective_rates(q, path, 11, 0.01, 0.9, 1e-7)) * 11
    np.testing.assert_allclose(np.exp(logs - previous), final, rtol=1e-4)


def test_badly_scaled_regression_spans_the_scales():
    cfg = adaptive_steps.Config()
    x, y, scales = adaptive_steps.badly_scaled_regression(cfg, np.random.default_rng(0))
    assert scales.max() / scales.min() == pytest.approx(100.0)
    np.testing.assert_allclose(x.std(axis=0) / scales, 1.0, atol=0.1)


def test_adaptive_and_adam_rules():
    rules = {c.id: c.rule for c in adaptive_steps.CLAIMS + adam_sweep.CLAIMS}
    rprop = {"fullbatch_rprop_loss_ratio": 0.01, "minibatch_rprop_over_fullbatch_rprop": 5.0,
             "minibatch_rprop_over_minibatch_rmsprop": 3.0}
    assert rules["C4.6"](rprop) and not rules["C4.6"]({**rprop, "minibatch_rprop_over_minibatch_rmsprop": 1.5})
    assert not rules["C4.6"]({**rprop, "fullbatch_rprop_loss_ratio": 0.5})
    assert rules["C4.7"]({"feature_scale_ratio": 100.0, "rmsprop_speedup": 3.5})
    assert not rules["C4.7"]({"feature_scale_ratio": 10.0, "rmsprop_speedup": 30.0})
    adam = {"lenet_gap_at_3e-4": 0.005, "mlp_gap_at_3e-4": 0.0, "custom_vs_keras_max_abs_diff": 0.0}
    assert rules["C4.8"](adam) and not rules["C4.8"]({**adam, "mlp_gap_at_3e-4": 0.039})
    assert not rules["C4.8"]({**adam, "custom_vs_keras_max_abs_diff": 1e-3})
