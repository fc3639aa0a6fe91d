"""reproductions/layer_null_space.py: its helpers on known inputs, and its rules
(including cases where they must fail)."""
from __future__ import annotations

import numpy as np


def test_layer_null_vectors_annihilate_inputs_with_bias():
    from reproductions.layer_null_space import null_vectors

    rng = np.random.default_rng(2)
    inputs = rng.normal(size=(6, 3)) @ rng.normal(size=(3, 8))  # 6 examples spanning 3 of 8 dimensions
    nulls = null_vectors(inputs)
    assert nulls.shape[1] == 9 - 4  # 8 inputs + bias, rank 3 + bias direction
    augmented = np.hstack([inputs, np.ones((6, 1))])
    assert np.abs(augmented @ nulls).max() < 1e-9
