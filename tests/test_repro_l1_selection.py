"""reproductions/l1_selection.py: its helpers on known inputs, and its rules
(including cases where they must fail)."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import single_claim

from keras_repro.suite.config import make_config


def test_l1_rule_passes_and_fails():
    _, c = single_claim("l1_selection")
    good = {"l1_noise_zero_fraction": 0.95, "l1_informative_kept": True, "l2_noise_zero_fraction": 0.02}
    assert c.rule(good)
    assert not c.rule({**good, "l1_noise_zero_fraction": 0.85})
    assert not c.rule({**good, "l1_informative_kept": False})
    assert not c.rule({**good, "l2_noise_zero_fraction": 0.95})


def test_l1_full_batch_gives_the_requested_number_of_steps():
    module, _ = single_claim("l1_selection")
    x, y = np.ones((4, 2)), np.ones((4, 1))
    xs, ys, epochs = module.full_batch(x, y, steps=95, chunks=10)
    assert epochs == 10 and len(xs) // 4 == 10 and len(ys) == len(xs)


def test_l1_regression_has_informative_and_noise_features():
    module, _ = single_claim("l1_selection")
    cfg = make_config(module.Config, "smoke")
    x, y, true_w = module.make_regression(np.random.default_rng(0), cfg)
    assert x.shape == (cfg.n_samples, cfg.informative + cfg.noise_features)
    assert np.count_nonzero(true_w) == cfg.informative and np.all(np.abs(true_w[:cfg.informative]) >= 1)
    residual = y[:, 0] - x @ true_w
    assert residual.std() == pytest.approx(cfg.noise_std, rel=0.2)
