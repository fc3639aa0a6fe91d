"""Feature selection: which weights a penalty drives to zero and which it keeps (C6.3)."""
from __future__ import annotations

import numpy as np


def feature_selection(weights, true_weights, zero_tol: float = 1e-3, keep_ratio: float = 0.5) -> dict:
    """How a learned weight vector treats informative (``true_weights != 0``) and noise features.

    Returns ``noise_zero_fraction`` (share of noise weights with ``|w| < zero_tol``),
    ``informative_kept`` (every informative weight has the true sign and at least ``keep_ratio`` of
    the true magnitude) and ``informative_min_ratio`` (smallest ``w / w_true`` over informative ones).
    """
    weights, true_weights = np.ravel(weights), np.ravel(true_weights)
    if weights.shape != true_weights.shape:
        raise ValueError(f"weights and true_weights differ in shape: {weights.shape} vs {true_weights.shape}")
    informative = true_weights != 0
    if informative.all() or not informative.any():
        raise ValueError("true_weights must contain both informative (non-zero) and noise (zero) entries")
    ratio = weights[informative] / true_weights[informative]
    return {
        "noise_zero_fraction": float(np.mean(np.abs(weights[~informative]) < zero_tol)),
        "informative_kept": bool(np.all(ratio >= keep_ratio)),
        "informative_min_ratio": float(ratio.min()),
    }
