"""keras_repro.measures.boolean: truth tables and the LP certificate of (non-)separability."""
from __future__ import annotations

import numpy as np
import pytest

from keras_repro.measures.boolean import separability_certificate, truth_table


@pytest.mark.parametrize("gate,separable", [("AND", True), ("OR", True), ("XOR", False)])
def test_lp_certificate_tells_separable_from_not(gate, separable):
    x, y = truth_table(gate)
    cert = separability_certificate(x, y)
    assert cert.separable is separable
    if not separable:
        assert cert.farkas is not None and cert.farkas_residual < 1e-9
        assert np.allclose(cert.farkas, 0.25)  # XOR's only witness: equal weight on all four points
