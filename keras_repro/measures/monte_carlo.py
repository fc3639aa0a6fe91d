"""Monte-Carlo expectations of stochastic layers against their inference output (C6.4).

:func:`monte_carlo_mean` averages many draws, :func:`relative_error` compares the mean with the
deterministic output, and :func:`bernoulli_mc_error` predicts that error from the Bernoulli variance.
"""
from __future__ import annotations

from typing import Callable

import numpy as np


def relative_error(estimate, reference) -> float:
    """``‖estimate − reference‖ / ‖reference‖`` (Euclidean norms over all elements)."""
    estimate, reference = np.asarray(estimate, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    norm = np.linalg.norm(reference)
    if norm == 0:
        raise ValueError("the reference is zero: a relative error is undefined")
    return float(np.linalg.norm(estimate - reference) / norm)


def monte_carlo_mean(sample: Callable[[np.ndarray], np.ndarray], x: np.ndarray, n_samples: int,
                     chunk: int = 1000) -> np.ndarray:
    """Mean of ``sample(batch)`` over ``n_samples`` independent draws for each row of ``x``.

    ``x`` is tiled ``chunk`` times per call, so a stochastic layer draws ``chunk`` masks per row at
    once; returns an array shaped like ``sample(x)``.
    """
    if n_samples < 1 or chunk < 1:
        raise ValueError(f"n_samples and chunk must be positive. Received: n_samples={n_samples}, chunk={chunk}")
    total, done = None, 0
    while done < n_samples:
        k = min(chunk, n_samples - done)
        out = np.asarray(sample(np.tile(x, (k,) + (1,) * (x.ndim - 1))), dtype=np.float64)
        part = out.reshape((k, x.shape[0]) + out.shape[1:]).sum(axis=0)
        total = part if total is None else total + part
        done += k
    return total / n_samples


def bernoulli_mc_error(x, kernel, keep_prob: float, samples: int, reference, scale: float = 1.0) -> float:
    """Expected relative error of a ``samples``-draw Monte-Carlo mean of ``z = (x ⊙ m ⊙ scale) · W``
    with ``m ~ Bernoulli(keep_prob)`` drawn per element of ``x`` (dropout) or per weight (DropConnect:
    the same variance, since each product ``x_i·W_ij`` is kept independently either way).

    ``Var[z_j] = Σ_i p(1 − p)·(scale·x_i)²·W_ij²`` for one draw; the expected error is the root of
    the summed variances over ``samples``, divided by ``‖reference‖`` as in :func:`relative_error`.
    """
    x, kernel = np.asarray(x, np.float64), np.asarray(kernel, np.float64)
    variance = keep_prob * (1 - keep_prob) * (scale * x) ** 2 @ kernel**2
    return float(np.sqrt(variance.sum() / samples) / np.linalg.norm(reference))
