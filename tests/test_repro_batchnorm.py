"""reproductions/batchnorm.py: its helpers on known inputs, and its rules
(including cases where they must fail)."""
from __future__ import annotations

import keras
import numpy as np
import pytest
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
    # the amended rule (C6.6): the std is sqrt(var_B / (var_B + ε)) with the layer's ε, not 1
    assert cfg.epsilon == 1e-3 and model.get_layer("bn1").epsilon == 1e-3
    assert out["train_std_max_dev"] < 1e-4
    assert out["train_std_max_dev_from_1"] > out["train_std_max_dev"]
    assert out["train_std_dev_from_eps"] == pytest.approx(out["train_std_max_dev_from_1"], abs=1e-4)
    assert 0 <= out["ema_std_rel_diff_mean"] <= out["ema_std_rel_diff_max"] < 1


def test_batchnorm_std_measure_can_fail():
    """A layer that normalises with anything but the batch's own statistics (here its moving averages,
    i.e. inference mode applied to a training batch) fails the train-mode std measure."""
    module, _ = single_claim("batchnorm")
    cfg = make_config(module.Config, "smoke", {"ema_passes": 2})
    split = digits_split(per_class=20, n_val=50, seed=0)
    keras.utils.set_random_seed(0)
    model = module.network(cfg, batchnorm=True, learning_rate=0.1)  # untrained: moving mean 0, variance 1

    for i in range(1, cfg.layers + 1):
        layer = model.get_layer(f"bn{i}")
        layer.call = lambda inputs, training=None, mask=None, _layer=layer: type(_layer).call(
            _layer, inputs, training=False, mask=mask)
    out = module.check_batchnorm(model, cfg, split, np.random.default_rng(0))
    assert out["train_std_max_dev"] > 1e-2


def test_batchnorm_summary_sentence():
    import pandas as pd

    from keras_repro.suite.claims import first_sentence

    module, _ = single_claim("batchnorm")
    cfg = make_config(module.Config, "default", {})
    worst = pd.Series({"train_mean_max_abs": 1.7e-6, "train_std_max_dev": 2e-6, "train_std_dev_from_eps": 0.13,
                       "inference_max_abs_diff": 3.7e-7})
    median = pd.Series({"bn_base": 220.0, "bn_fast": 180.0, "plain_base": np.inf, "plain_fast": 1020.0})
    text = first_sentence(module.summary(cfg, worst, median, 0.003) + " More.")
    assert "ε = 0.001" in text and "220 steps vs inf" in text and "180 vs 1020" in text and text.endswith("each).")
