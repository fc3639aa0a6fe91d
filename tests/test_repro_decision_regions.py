"""reproductions/decision_regions.py: its helpers on known inputs, and its rules
(including cases where they must fail)."""
from __future__ import annotations

import numpy as np


def test_connected_components_of_a_mask():
    from reproductions.decision_regions import count_components

    mask = np.zeros((10, 10), dtype=bool)
    mask[1:3, 1:3] = True
    assert count_components(mask) == 1
    mask[6:8, 6:9] = True
    assert count_components(mask) == 2
