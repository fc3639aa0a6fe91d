"""reproductions/neuron_hyperplane.py: its helpers on known inputs, and its rules
(including cases where they must fail)."""
from __future__ import annotations

import numpy as np


def test_hyperplane_side_matches_a_hand_case():
    from reproductions.neuron_hyperplane import side_of_hyperplane, step_neuron

    w, b = np.array([1.0, 0.0], dtype=np.float32), -1.0  # plane x0 = 1, w points to +x0
    x = np.array([[2.0, 5.0], [0.0, -3.0]], dtype=np.float32)
    assert side_of_hyperplane(x, w, b).tolist() == [1, 0]
    assert step_neuron(w, b).predict(x, verbose=0).ravel().tolist() == [1.0, 0.0]
