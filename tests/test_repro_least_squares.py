"""reproductions/least_squares.py: its helpers on known inputs, and its rules
(including cases where they must fail)."""
from __future__ import annotations

import numpy as np


def test_null_space_of_a_wide_problem():
    from reproductions.least_squares import null_space_of_gram

    x = np.random.default_rng(1).normal(size=(5, 12))
    _, nulls = null_space_of_gram(x)
    assert nulls.shape == (12, 7)
    assert np.abs(x @ nulls).max() < 1e-10
