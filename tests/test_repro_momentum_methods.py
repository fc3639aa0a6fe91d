"""reproductions/momentum_methods.py: its helpers on known inputs, and its rules
(including cases where they must fail)."""
from __future__ import annotations

import numpy as np
import pytest

from keras_repro import optimizers as O
from keras_repro.measures import descent, surfaces
from reproductions import momentum_methods


def test_momentum_grids_give_every_method_the_same_budget():
    cfg = momentum_methods.Config()
    grids = momentum_methods.grids(cfg)
    assert len({len(g) for g in grids.values()}) == 1
    assert len(grids[momentum_methods.GD]) == cfg.momentum_lr_count * len(cfg.momenta)
    rates = [lr for lr, _ in grids[momentum_methods.GD]]
    assert min(rates) == pytest.approx(cfg.lr_low) and max(rates) == pytest.approx(cfg.lr_high)


def test_numpy_heavy_ball_matches_the_optimisers():
    q = surfaces.Quadratic([1.0, 10.0])
    start = np.array([-1.0, 1.0])
    stale = momentum_methods.heavy_ball(q.hessian, start, 0.005, 0.8, 30, stale=True)
    np.testing.assert_allclose(stale, descent.descend(q, O.Momentum(0.005, 0.8), start, 30), rtol=1e-5, atol=1e-7)
    fresh = momentum_methods.heavy_ball(q.hessian, start, 0.005, 0.8, 30, stale=False)
    np.testing.assert_allclose(fresh, descent.descend(q, O.Nesterov(0.005, 0.8), start, 30), rtol=1e-5, atol=1e-7)


def test_describe_path_and_best_rows():
    q = surfaces.Quadratic([1.0, 100.0])
    path = np.array([[-1.0, 1.0], [-0.5, -0.5], [-0.1, 0.1], [0.0, 0.0]])
    summary = momentum_methods.describe_path(q, path, 1e-6)
    assert summary["steps_to_tolerance"] == 3 and summary["steep_overshoot"] == pytest.approx(0.5)
    assert summary["steep_flip_fraction"] == pytest.approx(1.0) and not summary["diverged"]
    blown = momentum_methods.describe_path(q, np.array([[-1.0, 1.0], [np.inf, np.nan]]), 1e-6)
    assert blown["diverged"] and blown["steps_to_tolerance"] is None
    import pandas as pd

    table = pd.DataFrame([{"method": "a", "steps_to_tolerance": None, "final_excess": 1e-3},
                          {"method": "a", "steps_to_tolerance": 30, "final_excess": 0.0},
                          {"method": "b", "steps_to_tolerance": None, "final_excess": 0.5},
                          {"method": "b", "steps_to_tolerance": None, "final_excess": 0.1}])
    best = momentum_methods.best_rows(table)
    assert best.loc["a", "steps_to_tolerance"] == 30 and best.loc["b", "final_excess"] == 0.1
    assert momentum_methods.speedup(300, 100) == 3.0 and momentum_methods.speedup(300, None) == 0.0


def test_momentum_rules():
    rules = {c.id: c.rule for c in momentum_methods.CLAIMS}
    assert rules["C4.3"]({"quadratic_speedup_notes_momentum": 4.0})
    assert not rules["C4.3"]({"quadratic_speedup_notes_momentum": 0.36})
    assert rules["C4.4"]({"overshoot_reduction": 0.4, "extra_steps": 0})
    assert not rules["C4.4"]({"overshoot_reduction": 0.4, "extra_steps": 4})
    assert not rules["C4.4"]({"overshoot_reduction": -0.1, "extra_steps": -10})
    assert rules["C4.5"]({"flip_reduction": 0.2, "step_ratio_gd_over_ema": 5.0})
    assert not rules["C4.5"]({"flip_reduction": 0.0, "step_ratio_gd_over_ema": 5.0})
