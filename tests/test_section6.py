"""Section 6 measurements (keras_repro.measures) and the reproductions' rules and helpers."""
from __future__ import annotations

import keras
import numpy as np
import pytest

import keras_repro  # noqa: F401
from keras_repro.measures.batchnorm import batchnorm_inference, moving_statistics
from keras_repro.measures.classification import StepsToTarget, classification_scores, inference_outputs
from keras_repro.measures.descent import is_non_increasing
from keras_repro.measures.gap import RepeatedArrays, digits_split, fit_tracking_gap
from keras_repro.measures.minima import cosine_ridge_minima, local_minima
from keras_repro.measures.monte_carlo import bernoulli_mc_error, monte_carlo_mean, relative_error
from keras_repro.measures.paired import describe_paired, paired_comparison
from keras_repro.measures.selection import feature_selection
from keras_repro.suite.config import make_config


def no_progress_fit(model, *args, label="", **kwargs):
    return model.fit(*args, verbose=0, **kwargs)


# -- C6.2 --------------------------------------------------------------------------------------------


def test_local_minima_of_cosine_are_the_odd_multiples_of_pi():
    minima = local_minima(lambda a: -np.sin(a), -10, 10, 1e-3)
    np.testing.assert_allclose(minima, [-3 * np.pi, -np.pi, np.pi, 3 * np.pi], atol=1e-9)


def test_local_minima_ignores_maxima_and_the_interval_ends():
    assert len(local_minima(lambda a: -np.sin(a), -1, 1, 1e-3)) == 0  # cos: a maximum at 0
    np.testing.assert_allclose(local_minima(np.sin, -1, 1, 1e-3), [0.0], atol=1e-12)  # -cos: a minimum
    assert len(local_minima(lambda a: 2 * a, 1, 2, 1e-3)) == 0       # a² on [1, 2]: minimum at the end only


def test_local_minima_rejects_a_bad_interval():
    with pytest.raises(ValueError, match="Received: low=1, high=0"):
        local_minima(np.sin, 1, 0)


@pytest.mark.parametrize("lam, expected", [(0.0, 6), (0.499, 2), (0.5, 1), (0.501, 1), (0.6, 1), (3.0, 1)])
def test_cosine_ridge_minima_counts(lam, expected):
    minima = cosine_ridge_minima(lam, half_width=20)  # 0: ±π, ±3π, ±5π (7π > 20)
    assert len(minima) == expected
    np.testing.assert_allclose(minima, -minima[::-1], atol=1e-9)  # L is even


def test_minimum_just_below_one_half_solves_sin_a_equals_2_lambda_a():
    a = cosine_ridge_minima(0.49, half_width=5)[1]
    assert a > 0 and np.sin(a) == pytest.approx(0.98 * a)


def test_is_non_increasing():
    assert is_non_increasing([5, 5, 3, 1, 1])
    assert not is_non_increasing([5, 3, 4])


# -- C6.3 --------------------------------------------------------------------------------------------

TRUE_W = np.array([1.5, -2.0, 0, 0, 0, 0, 0, 0, 0, 0])


def test_feature_selection_of_a_lasso_like_solution():
    w = np.array([1.4, -1.9, 0, 0, 0, 5e-4, -2e-4, 0, 0, 0.01])
    out = feature_selection(w, TRUE_W)
    assert out == {"noise_zero_fraction": 7 / 8, "informative_kept": True,
                   "informative_min_ratio": pytest.approx(1.4 / 1.5)}


@pytest.mark.parametrize("w", [
    [0.5, -1.9, 0, 0, 0, 0, 0, 0, 0, 0],   # shrunk below half the true magnitude
    [-1.5, -2.0, 0, 0, 0, 0, 0, 0, 0, 0],  # wrong sign
])
def test_feature_selection_notices_a_lost_informative_feature(w):
    assert not feature_selection(np.array(w), TRUE_W)["informative_kept"]


def test_feature_selection_of_a_ridge_like_solution_zeroes_nothing():
    w = np.array([1.4, -1.9, 0.02, -0.03, 0.01, 0.05, -0.02, 0.04, 0.01, -0.01])
    assert feature_selection(w, TRUE_W)["noise_zero_fraction"] == 0.0


def test_feature_selection_needs_both_kinds_of_features():
    with pytest.raises(ValueError, match="both informative"):
        feature_selection(np.ones(3), np.ones(3))


# -- C6.4 --------------------------------------------------------------------------------------------


def test_relative_error():
    assert relative_error([3.0, 4.0], [3.0, 0.0]) == pytest.approx(4 / 3)
    with pytest.raises(ValueError, match="zero"):
        relative_error([1.0], [0.0])


def test_monte_carlo_mean_of_a_deterministic_function_is_exact_and_keeps_rows_apart():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_allclose(monte_carlo_mean(lambda b: 2 * b, x, 7, chunk=3), 2 * x)


def test_bernoulli_mc_error_matches_the_spread_of_repeated_estimates():
    rng = np.random.default_rng(0)
    x, kernel = np.array([[1.0, 2.0, -1.0]]), np.array([[1.0], [0.5], [0.5]])
    reference = 0.3 * x @ kernel
    errors = [relative_error((x * (rng.random((200, 3)) < 0.3)).mean(0) @ kernel, reference[0])
              for _ in range(2000)]
    expected = bernoulli_mc_error(x, kernel, 0.3, 200, reference)
    assert np.sqrt(np.mean(np.square(errors))) == pytest.approx(expected, rel=0.05)


# -- the overfitting gap -------------------------------------------------------------------------------


def test_digits_split_is_balanced_disjoint_and_seeded():
    split = digits_split(per_class=5, n_val=100, seed=1)
    assert split.x_train.shape == (50, 64) and np.bincount(split.y_train).tolist() == [5] * 10
    assert len(split.x_val) == 100 and len(split.x_train) + len(split.x_val) + len(split.x_test) == 1797
    assert 0 <= split.x_train.min() and split.x_train.max() <= 1
    again = digits_split(per_class=5, n_val=100, seed=1)
    np.testing.assert_array_equal(split.x_val, again.x_val)
    assert not np.array_equal(split.x_val, digits_split(per_class=5, n_val=100, seed=2).x_val)


def test_classification_scores():
    p = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    loss, accuracy = classification_scores(p, np.array([0, 1, 1]))
    assert loss == pytest.approx(-np.mean(np.log([0.9, 0.8, 0.4])))
    assert accuracy == pytest.approx(2 / 3)


def test_repeated_arrays_covers_every_example_repeats_times_and_transforms_batches():
    x, y = np.arange(10, dtype="float32")[:, None], np.arange(10)
    data = RepeatedArrays(x, y, batch_size=4, repeats=3, seed=0, transform=lambda b, rng: b + 100)
    assert len(data) == 8
    batches = [data[i] for i in range(len(data))]
    seen = np.concatenate([b[1] for b in batches])
    assert np.bincount(seen).tolist() == [3] * 10
    assert all(np.array_equal(bx[:, 0] - 100, by) for bx, by in batches)


def small_classifier():
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(10, activation="softmax")])
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    return model


def test_fit_tracking_gap_records_inference_mode_gaps_every_epoch():
    split = digits_split(per_class=5, n_val=100, seed=0)
    rows = fit_tracking_gap(no_progress_fit, small_classifier(), split, epochs=3, repeats=2, batch_size=16, seed=0)
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    last = rows[-1]
    assert last["loss_gap"] == pytest.approx(last["val_loss"] - last["train_loss"])
    assert last["acc_gap"] == pytest.approx(last["train_acc"] - last["val_acc"])
    assert rows[-1]["train_loss"] < rows[0]["train_loss"]


def test_steps_to_target_stops_at_the_first_evaluation_that_reaches_it():
    split = digits_split(per_class=20, n_val=200, seed=0)
    data = RepeatedArrays(split.x_train, split.y_train, 20, repeats=5, seed=0)
    reached = StepsToTarget(split.x_val, split.y_val, target=0.5, every=5)
    small_classifier().fit(data, epochs=10, verbose=0, callbacks=[reached])
    assert reached.steps is not None and reached.steps % 5 == 0
    assert reached.curve[-1] == (reached.steps, pytest.approx(reached.curve[-1][1]))
    assert reached.curve[-1][1] >= 0.5 and all(a < 0.5 for _, a in reached.curve[:-1])
    never = StepsToTarget(split.x_val, split.y_val, target=1.0, every=10)
    small_classifier().fit(data, epochs=1, verbose=0, callbacks=[never])
    assert never.steps is None and len(never.curve) == len(data) // 10


def test_paired_comparison_and_its_description():
    import pandas as pd

    table = pd.DataFrame({"variant": ["a", "b"] * 3, "seed": [0, 0, 1, 1, 2, 2], "gap": [1.0, 2.0, 1.0, 1.5, 3.0, 2.0]})
    out = paired_comparison(table, "gap", "variant", "a", "b")
    std = np.std([-1.0, -0.5, 1.0], ddof=1)
    assert out == {"mean": pytest.approx(-0.5 / 3), "lower_in": 2, "pairs": 3, "std": pytest.approx(std),
                   "t": pytest.approx((-0.5 / 3) / (std / np.sqrt(3)))}
    assert out["t"] > -2  # one lucky seed does not make a significant decrease
    assert "lower in 2 of 3 seeds" in describe_paired("gap", out) and "not significant" in describe_paired("gap", out)
    clear = paired_comparison(table.assign(gap=[1.0, 2.0, 1.1, 2.0, 0.9, 2.0]), "gap", "variant", "a", "b")
    assert clear["lower_in"] == 3 and "more than two standard errors" in describe_paired("gap", clear)
    assert clear["t"] < -2


# -- C6.6 --------------------------------------------------------------------------------------------


def test_batchnorm_inference_formula_matches_keras_after_training_updates():
    layer = keras.layers.BatchNormalization(epsilon=1e-3, momentum=0.5)
    rng = np.random.default_rng(0)
    for _ in range(5):
        layer(rng.normal(3.0, 2.0, size=(32, 4)).astype("float32"), training=True)
    layer.gamma.assign(np.array([1.0, 2.0, 0.5, -1.0], "float32"))
    layer.beta.assign(np.array([0.0, 1.0, -1.0, 2.0], "float32"))
    x = rng.normal(size=(10, 4)).astype("float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x, training=False)), batchnorm_inference(x, layer),
                               atol=1e-5)
    assert not np.allclose(batchnorm_inference(x, layer), x)  # the moving statistics moved


def test_moving_statistics_as_keras_updates_them():
    out = moving_statistics([[2.0], [4.0]], [[4.0], [16.0]], momentum=0.5)
    # mean: 0 → 1 → 2.5; variance: 1 → 2.5 → 9.25; std: 1 → 1.5 → 2.75
    np.testing.assert_allclose([out["mean"][0], out["variance"][0], out["std"][0]], [2.5, 9.25, 2.75])


def test_ema_of_std_is_below_root_of_ema_of_variance_when_batches_vary():
    rng = np.random.default_rng(0)
    variances = rng.uniform(0.5, 2.0, size=(500, 3))
    out = moving_statistics(np.zeros((500, 3)), variances, momentum=0.9)
    assert np.all(out["std"] < np.sqrt(out["variance"]))


# -- the reproductions' rules and helpers ---------------------------------------------------------------


def claim(module_name):
    import importlib

    module = importlib.import_module(f"reproductions.{module_name}")
    (only,) = module.CLAIMS
    return module, only


def test_l2_rule_passes_and_fails():
    _, c = claim("l2_smoothing")
    good = {"counts_non_increasing": True, "max_minima_above_half": 1, "min_minima_above_half": 1,
            "min_minima_below_half": 2}
    assert c.rule(good)
    assert not c.rule({**good, "counts_non_increasing": False})
    assert not c.rule({**good, "max_minima_above_half": 3})
    assert not c.rule({**good, "min_minima_below_half": 1})  # the bound would not be tight


def test_l1_rule_passes_and_fails():
    _, c = claim("l1_selection")
    good = {"l1_noise_zero_fraction": 0.95, "l1_informative_kept": True, "l2_noise_zero_fraction": 0.02}
    assert c.rule(good)
    assert not c.rule({**good, "l1_noise_zero_fraction": 0.85})
    assert not c.rule({**good, "l1_informative_kept": False})
    assert not c.rule({**good, "l2_noise_zero_fraction": 0.95})


def test_l1_full_batch_gives_the_requested_number_of_steps():
    module, _ = claim("l1_selection")
    x, y = np.ones((4, 2)), np.ones((4, 1))
    xs, ys, epochs = module.full_batch(x, y, steps=95, chunks=10)
    assert epochs == 10 and len(xs) // 4 == 10 and len(ys) == len(xs)


def test_l1_regression_has_informative_and_noise_features():
    module, _ = claim("l1_selection")
    cfg = make_config(module.Config, "smoke")
    x, y, true_w = module.make_regression(np.random.default_rng(0), cfg)
    assert x.shape == (cfg.n_samples, cfg.informative + cfg.noise_features)
    assert np.count_nonzero(true_w) == cfg.informative and np.all(np.abs(true_w[:cfg.informative]) >= 1)
    residual = y[:, 0] - x @ true_w
    assert residual.std() == pytest.approx(cfg.noise_std, rel=0.2)


def test_dropout_rule_passes_and_fails():
    _, c = claim("dropout")
    good = {"mc_rel_error_classic": 0.003, "mc_rel_error_inverted": 0.004, "converted_max_abs_diff": 1e-7,
            "trained_test_acc_diff": 0.01, "gap_dropout_minus_none": -0.05, "gap_dropout_minus_none_t": -3.0}
    assert c.rule(good)
    for key, bad in (("mc_rel_error_classic", 0.02), ("converted_max_abs_diff", 1e-3), ("trained_test_acc_diff", 0.05),
                     ("gap_dropout_minus_none", 0.01), ("gap_dropout_minus_none_t", -1.0)):
        assert not c.rule({**good, key: bad}), key


def test_inverted_network_converted_to_the_classic_convention_predicts_the_same():
    module, _ = claim("dropout")
    keras.utils.set_random_seed(0)
    inverted = module.network(16, "inverted", 0.6)
    x = np.random.default_rng(0).random((20, 64)).astype("float32")
    converted = module.to_classic(inverted, 16, 0.6)
    np.testing.assert_allclose(inference_outputs(converted, x), inference_outputs(inverted, x), atol=1e-6)
    plain = module.network(16, "classic", 0.6)  # the same weights without the ÷p would not agree
    plain.set_weights(inverted.get_weights())
    assert not np.allclose(inference_outputs(plain, x), inference_outputs(inverted, x), atol=1e-3)


def test_dropout_mc_check_on_an_untrained_network():
    module, _ = claim("dropout")
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(1).random((3, 64)).astype("float32")
    for kind in ("classic", "inverted"):
        out = module.mc_check(module.network(16, kind, 0.5), x, 20_000)
        assert out["mc_rel_error"] < 4 * out["mc_expected_rel_error"]


def test_salt_and_pepper_noise_set_pixels_to_paper_or_ink():
    module, _ = claim("dropout")
    x = np.full((50, 64), 0.5)
    salt = module.set_pixels(0.0, 0.8)(x, np.random.default_rng(0))
    pepper = module.set_pixels(1.0, 0.8)(x, np.random.default_rng(0))
    assert set(np.unique(salt)) == {0.0, 0.5} and set(np.unique(pepper)) == {0.5, 1.0}
    assert np.mean(salt == 0) == pytest.approx(0.2, abs=0.03)


def test_dropconnect_rule_and_mc_check():
    module, c = claim("dropconnect")
    good = {"dropconnect_train_acc": 0.99, "gap_dropconnect_minus_none": -0.02, "mc_rel_error": 0.004,
            "gap_dropconnect_minus_none_t": -2.5}
    assert c.rule(good)
    assert not c.rule({**good, "gap_dropconnect_minus_none_t": -1.5})  # a decrease within the seed noise
    assert not c.rule({**good, "dropconnect_train_acc": 0.5})
    assert not c.rule({**good, "gap_dropconnect_minus_none": 0.02})
    keras.utils.set_random_seed(0)
    out = module.mc_check(module.network(16, "dropconnect", 0.5), np.random.default_rng(1).random((2, 64)), 20_000)
    assert out["mc_rel_error"] < 4 * out["mc_expected_rel_error"]


def test_batchnorm_rule_passes_and_fails():
    module, c = claim("batchnorm")
    good = {"train_mean_max_abs": 1e-6, "train_std_max_dev": 1e-4, "inference_max_abs_diff": 1e-7,
            "steps_bn_minus_plain": -200, "best_steps_bn_minus_plain": -100}
    assert c.rule(good)
    assert not c.rule({**good, "train_std_max_dev": 0.01})
    assert not c.rule({**good, "inference_max_abs_diff": 1e-3})
    assert not c.rule({**good, "best_steps_bn_minus_plain": 0.0})
    assert module._difference(np.inf, np.inf) == 0.0 and module._difference(100, np.inf) == -np.inf


def test_batchnorm_checks_on_a_briefly_trained_network():
    module, _ = claim("batchnorm")
    cfg = make_config(module.Config, "smoke", {"ema_passes": 2})
    split = digits_split(per_class=20, n_val=50, seed=0)
    keras.utils.set_random_seed(0)
    model = module.network(cfg, batchnorm=True, learning_rate=0.1)
    model.fit(split.x_train, split.y_train, batch_size=cfg.batch_size, epochs=2, verbose=0)
    out = module.check_batchnorm(model, cfg, split, np.random.default_rng(0))
    assert out["train_mean_max_abs"] < 1e-4 and out["inference_max_abs_diff"] < 1e-5
    assert out["train_affine_max_abs_diff"] < 1e-4 and out["gamma_max_change"] > 0
    assert out["train_std_max_dev_eps_1e-3"] > out["train_std_max_dev"]
    assert 0 <= out["ema_std_rel_diff_mean"] <= out["ema_std_rel_diff_max"] < 1
