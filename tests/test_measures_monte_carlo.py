"""keras_repro.measures.monte_carlo: Monte-Carlo means and their predicted error."""
from __future__ import annotations

import numpy as np
import pytest

from keras_repro.measures.monte_carlo import bernoulli_mc_error, monte_carlo_mean, relative_error


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
