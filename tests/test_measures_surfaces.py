"""keras_repro.measures.surfaces: quadratics (from data too) and the Rosenbrock valley."""
from __future__ import annotations

import numpy as np
import pytest

from keras_repro.measures import surfaces


def test_least_squares_quadratic_is_the_data_loss():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(50, 3)), rng.normal(size=50)
    surface = surfaces.Quadratic.least_squares(x, y)
    for w in rng.normal(size=(4, 3)):
        assert surfaces.evaluate(surface, w) == pytest.approx(0.5 * np.mean((x @ w - y) ** 2), rel=1e-5)
    np.testing.assert_allclose(surface.curvatures, np.linalg.eigvalsh(x.T @ x / 50))


def test_surfaces():
    q = surfaces.Quadratic([1.0, 100.0])
    assert q.condition_number == 100.0
    assert surfaces.evaluate(q, [[1.0, 1.0], [0.0, 0.1]]).tolist() == pytest.approx([50.5, 0.5])
    r = surfaces.Rosenbrock()
    assert surfaces.evaluate(r, [1.0, 1.0]) == 0.0 and surfaces.evaluate(r, [0.0, 0.0]) == 1.0
    with pytest.raises(ValueError, match="positive definite"):
        surfaces.Quadratic([1.0, -1.0])
    with pytest.raises(ValueError, match="symmetric"):
        surfaces.Quadratic(np.array([[1.0, 2.0], [0.0, 1.0]]))
