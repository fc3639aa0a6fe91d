"""reproductions/batchnorm.py: its helpers on known inputs, and its rules
(including cases where they must fail)."""
from __future__ import annotations

import keras
import numpy as np
from conftest import single_claim

from keras_repro.data import digits_split
from keras_repro.suite.config import make_config


def test_batchnorm_rule_passes_and_fails():
    module, c = single_claim("batchnorm")
    good = {"train_mean_max_abs": 1e-6, "train_std_max_dev": 1e-4, "inference_max_abs_diff": 1e-7,
            "steps_bn_minus_plain": -200, "best_steps_bn_minus_plain": -100}
    assert c.rule(good)
    assert not c.rule({**good, "train_std_max_dev": 0.01})
    assert not c.rule({**good, "inference_max_abs_diff": 1e-3})
    assert not c.rule({**good, "best_steps_bn_minus_plain": 0.0})
    assert module._difference(np.inf, np.inf) == 0.0 and module._difference(100, np.inf) == -np.inf


def test_batchnorm_checks_on_a_briefly_trained_network():
    module, _ = single_claim("batchnorm")
    cfg = make_config(module.Config, "smoke", {"ema_passes": 2})
    split = digits_split(per_class=20, n_val=50, seed=0)
    keras.utils.set_random_seed(0)
    model = module.network(cfg, batchnorm=True, learning_rate=0.1)
    model.fit(split.x_train, split.y_train, batch_size=cfg.batch_size, epochs=2, verbose=0)
    out = module.check_batchnorm(model, cfg, split, np.random.default_rng(0))
    assert out["train_mean_max_abs"] < 1e-4 and out["inference_max_abs_diff"] < 1e-5
    assert out["train_affine_max_abs_diff"] < 1e-4 and out["gamma_max_change"] > 0
    assert out["train_std_max_dev_eps_1e-3"] > out["train_std_max_dev"]
    assert 0 <= out["ema_std_rel_diff_mean"] <= out["ema_std_rel_diff_max"] < 1
