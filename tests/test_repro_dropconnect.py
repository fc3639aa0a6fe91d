"""reproductions/dropconnect.py: its helpers on known inputs, and its rules
(including cases where they must fail)."""
from __future__ import annotations

import keras
import numpy as np
from conftest import single_claim


def test_dropconnect_rule_and_mc_check():
    module, c = single_claim("dropconnect")
    good = {"dropconnect_train_acc": 0.99, "gap_dropconnect_minus_none": -0.02, "mc_rel_error": 0.004,
            "gap_dropconnect_minus_none_t": -2.5}
    assert c.rule(good)
    assert not c.rule({**good, "gap_dropconnect_minus_none_t": -1.5})  # a decrease within the seed noise
    assert not c.rule({**good, "dropconnect_train_acc": 0.5})
    assert not c.rule({**good, "gap_dropconnect_minus_none": 0.02})
    keras.utils.set_random_seed(0)
    out = module.mc_check(module.network(16, "dropconnect", 0.5), np.random.default_rng(1).random((2, 64)), 20_000)
    assert out["mc_rel_error"] < 4 * out["mc_expected_rel_error"]
