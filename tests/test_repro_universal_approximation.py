"""reproductions/universal_approximation.py: the slope a jump needs, and C2.1's precondition."""
from __future__ import annotations

import numpy as np
from scipy.special import expit

from keras_repro.suite import claims
from reproductions import universal_approximation as ua


def test_slope_needed_matches_the_error_a_sigmoid_leaves_at_a_jump():
    # one jump of height 2 smoothed by a sigmoid of slope a leaves ∫ (2σ(ax) − 2H(x))² dx = 2(ln 2 − 1/2)·4/a
    a = 50.0
    x = np.linspace(-1, 1, 4_000_001)
    integral = np.sum((2 * expit(a * x) - 2 * (x > 0)) ** 2) * (x[1] - x[0])
    assert abs(integral - 2 * (np.log(2) - 0.5) * 4 / a) < 1e-4
    # three such jumps over [-1, 1] reach the RMS bound exactly at the slope _slope_needed gives
    bound = 0.08
    needed = ua._slope_needed("square_wave", bound)
    assert np.isclose(np.sqrt(3 * 2 * (np.log(2) - 0.5) * 4 / needed / 2), bound)


def test_a_fit_without_steep_enough_sigmoids_is_inconclusive_not_a_failure():
    (claim,) = ua.CLAIMS
    failed_fit = {"max_spearman_l2_vs_n": -0.96, "sine_sup_error_at_max_n": 2e-5,
                  "square_wave_l2_ratio_max_n_to_1": 0.16, "sawtooth_l2_ratio_max_n_to_1": 0.22}
    short = claims.evaluate(claim, {**failed_fit, "square_wave_steep_sigmoids_per_jump": 1.0,
                                    "sawtooth_steep_sigmoids_per_jump": 0.0}, profile="default")
    assert (short.verdict, short.reason) == (claims.INCONCLUSIVE, claims.PRECONDITION_UNMET)
    able = claims.evaluate(claim, {**failed_fit, "square_wave_steep_sigmoids_per_jump": 1.0,
                                   "sawtooth_steep_sigmoids_per_jump": 1.3}, profile="default")
    assert (able.verdict, able.reason) == (claims.NOT_REPRODUCED, claims.CLAIM_CONTRADICTED)
