"""reproductions/gd_variants.py: its helpers on known inputs, and its rules
(including cases where they must fail)."""
from __future__ import annotations

import numpy as np

from reproductions import gd_variants


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
