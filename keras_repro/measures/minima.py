"""Local minima of a one-dimensional loss, found from its derivative (C6.2: ``cos(a) + λa²``)."""
from __future__ import annotations

from typing import Callable

import numpy as np
from scipy.optimize import brentq


def local_minima(derivative: Callable[[np.ndarray], np.ndarray], low: float, high: float,
                 step: float = 1e-3) -> np.ndarray:
    """Interior local minima of a smooth function on ``[low, high]`` from its ``derivative``.

    A minimum is where the derivative changes sign from negative to non-negative between two grid
    points ``step`` apart; each one is refined with Brent's method. Minima closer together than
    ``step`` (two sign changes in one cell) would be missed, so ``step`` must be finer than the
    spacing of the critical points.
    """
    if not high > low or step <= 0:
        raise ValueError(f"need low < high and step > 0. Received: low={low}, high={high}, step={step}")
    grid = np.linspace(low, high, int(round((high - low) / step)) + 1)
    slope = derivative(grid)
    cells = np.flatnonzero((slope[:-1] < 0) & (slope[1:] >= 0))
    return np.array([grid[i + 1] if slope[i + 1] == 0 else brentq(derivative, grid[i], grid[i + 1]) for i in cells])


def cosine_ridge_slope(lam: float) -> Callable[[np.ndarray], np.ndarray]:
    """``L'(a)`` for the notes' example ``L(a) = cos(a) + λa²``: ``-sin(a) + 2λa``."""
    return lambda a: -np.sin(a) + 2.0 * lam * a


def cosine_ridge_minima(lam: float, half_width: float, step: float = 1e-3) -> np.ndarray:
    """Local minima of ``cos(a) + λa²`` on ``[-half_width, half_width]``.

    ``L''(a) = 2λ - cos(a)``, so for ``λ > 1/2`` the function is strictly convex and ``a = 0`` is
    its only minimum; for ``λ < 1/2``, ``L''(0) < 0`` makes ``a = 0`` a maximum with a minimum on
    each side.
    """
    return local_minima(cosine_ridge_slope(lam), -half_width, half_width, step)
