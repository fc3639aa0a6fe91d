"""keras_repro.measures.selection: which weights a penalty zeroes and which it keeps."""
from __future__ import annotations

import numpy as np
import pytest

from keras_repro.measures.selection import feature_selection

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
