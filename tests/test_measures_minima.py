"""keras_repro.measures.minima: local minima of a 1-D loss from its derivative."""
from __future__ import annotations

import numpy as np
import pytest

from keras_repro.measures.minima import cosine_ridge_minima, local_minima


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
