"""Loss surfaces: exact functions of the weights that descent runs on, and their pictures.

:class:`Quadratic` (diagonal or full Hessian; :meth:`Quadratic.least_squares` turns a linear
regression into one) and :class:`Rosenbrock`. A surface maps points of shape ``(..., d)`` to losses
of shape ``(...)`` with ``keras.ops``, so it runs on every backend. :func:`plot_trajectories` draws
a 2-D surface's contours with descent paths on them.
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np
from keras import ops


class Quadratic:
    """``f(w) = ½ (w − w*)ᵀ H (w − w*) + f*``.

    Args:
        hessian: a vector of curvatures (diagonal ``H``, the axes are the eigenvectors) or a
            symmetric positive definite matrix.
        minimum: ``w*``; zeros by default.
        offset: ``f*``, the loss at the minimum.
    """

    def __init__(self, hessian: Sequence[float] | np.ndarray, minimum: Sequence[float] | None = None,
                 offset: float = 0.0):
        hessian = np.asarray(hessian, dtype="float64")
        if hessian.ndim == 1:
            hessian = np.diag(hessian)
        if hessian.ndim != 2 or hessian.shape[0] != hessian.shape[1] or not np.allclose(hessian, hessian.T):
            raise ValueError(f"hessian must be a vector or a symmetric square matrix. Received: shape={hessian.shape}")
        curvatures = np.linalg.eigvalsh(hessian)
        if curvatures.min() <= 0:
            raise ValueError(f"hessian must be positive definite. Received: eigenvalues={curvatures.tolist()}")
        self.hessian = hessian
        self.curvatures = curvatures
        self.minimum = np.zeros(len(hessian)) if minimum is None else np.asarray(minimum, dtype="float64")
        self.offset = float(offset)

    @classmethod
    def least_squares(cls, x: np.ndarray, y: np.ndarray) -> "Quadratic":
        """The loss ``½·mean((x·w − y)²)`` of a linear model without bias, as an exact quadratic.

        ``H = xᵀx/N``, ``w* = argmin`` (least squares) and ``f* = ½·mean((x·w* − y)²)``: the same
        function of ``w`` as the data-based loss, without touching the N examples at every step.
        """
        x, y = np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64").reshape(-1)
        w_star = np.linalg.lstsq(x, y, rcond=None)[0]
        return cls(x.T @ x / len(x), w_star, 0.5 * float(np.mean((x @ w_star - y) ** 2)))

    @property
    def dimension(self) -> int:
        return len(self.minimum)

    @property
    def condition_number(self) -> float:
        return float(self.curvatures.max() / self.curvatures.min())

    def __call__(self, w):
        error = ops.subtract(w, ops.cast(self.minimum, "float32"))
        curved = ops.matmul(error, ops.cast(self.hessian, "float32"))
        return ops.add(ops.multiply(0.5, ops.sum(ops.multiply(error, curved), axis=-1)), self.offset)


class Rosenbrock:
    """``f(x, y) = (a − x)² + b·(y − x²)²``: a curved, flat-bottomed valley, minimum ``(a, a²)``."""

    dimension = 2

    def __init__(self, a: float = 1.0, b: float = 100.0):
        if not b > 0:
            raise ValueError(f"b must be > 0. Received: b={b!r}")
        self.a, self.b = float(a), float(b)
        self.minimum = np.array([self.a, self.a ** 2])
        self.offset = 0.0

    def __call__(self, w):
        x, y = w[..., 0], w[..., 1]
        return ops.add(ops.square(ops.subtract(self.a, x)), ops.multiply(self.b, ops.square(ops.subtract(y, ops.square(x)))))


def evaluate(surface: Callable, points: np.ndarray) -> np.ndarray:
    """The surface's loss at ``points`` (any leading shape), as float64 NumPy."""
    return ops.convert_to_numpy(surface(ops.convert_to_tensor(np.asarray(points, dtype="float32")))).astype("float64")


def plot_trajectories(ax, surface: Callable, paths: Mapping[str, np.ndarray], *, xlim: tuple[float, float],
                      ylim: tuple[float, float], levels: int | Sequence[float] = 20, log_levels: bool = True,
                      title: str = "", max_points: int = 400) -> None:
    """Contours of a 2-D ``surface`` with one line per path (``(steps + 1, 2)`` arrays)."""
    xs, ys = np.linspace(*xlim, 300), np.linspace(*ylim, 300)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1)
    z = evaluate(surface, grid) - getattr(surface, "offset", 0.0)
    if log_levels and isinstance(levels, int):
        positive = z[z > 0]
        levels = np.geomspace(max(positive.min(), 1e-6 * positive.max()), positive.max(), levels)
    ax.contour(xs, ys, z, levels=levels, colors="0.75", linewidths=0.6)
    for label, path in paths.items():
        shown = np.asarray(path)[:max_points]
        shown = shown[np.all(np.isfinite(shown), axis=1)]
        ax.plot(shown[:, 0], shown[:, 1], ".-", ms=2.5, lw=0.9, label=label)
    ax.plot(*np.asarray(surface.minimum)[:2], "k*", ms=9)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="best")
