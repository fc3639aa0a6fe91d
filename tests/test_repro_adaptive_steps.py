"""reproductions/adaptive_steps.py: its helpers on known inputs, and its rules
(including cases where they must fail)."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from keras_repro import optimizers as O
from keras_repro.measures import descent, surfaces
from reproductions import adaptive_steps


def test_effective_rates_rebuild_rmsprop_state():
    q = surfaces.Quadratic([1.0, 100.0])
    optimizer = O.RMSprop(0.01)
    path = descent.descend(q, optimizer, [1.0, 1.0], 12)
    rebuilt = adaptive_steps.effective_rates(q, path, 12, 0.01, 0.9, 1e-7)
    # the last factor of the geometric mean is the optimiser's own final state
    final = 0.01 / np.sqrt(keras.ops.convert_to_numpy(optimizer.mean_squares[0]) + 1e-7)
    logs = np.log(rebuilt) * 12
    previous = np.log(adaptive_steps.effective_rates(q, path, 11, 0.01, 0.9, 1e-7)) * 11
    np.testing.assert_allclose(np.exp(logs - previous), final, rtol=1e-4)


def test_badly_scaled_regression_spans_the_scales():
    cfg = adaptive_steps.Config()
    x, y, scales = adaptive_steps.badly_scaled_regression(cfg, np.random.default_rng(0))
    assert scales.max() / scales.min() == pytest.approx(100.0)
    np.testing.assert_allclose(x.std(axis=0) / scales, 1.0, atol=0.1)


def test_adaptive_steps_rules():
    rules = {c.id: c.rule for c in adaptive_steps.CLAIMS}
    rprop = {"fullbatch_rprop_loss_ratio": 0.01, "minibatch_rprop_over_fullbatch_rprop": 5.0,
             "minibatch_rprop_over_minibatch_rmsprop": 3.0}
    assert rules["C4.6"](rprop) and not rules["C4.6"]({**rprop, "minibatch_rprop_over_minibatch_rmsprop": 1.5})
    assert not rules["C4.6"]({**rprop, "fullbatch_rprop_loss_ratio": 0.5})
    assert rules["C4.7"]({"feature_scale_ratio": 100.0, "rmsprop_speedup": 3.5})
    assert not rules["C4.7"]({"feature_scale_ratio": 10.0, "rmsprop_speedup": 30.0})
