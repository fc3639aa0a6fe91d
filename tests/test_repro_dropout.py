"""reproductions/dropout.py: its helpers on known inputs, and its rules
(including cases where they must fail)."""
from __future__ import annotations

import keras
import numpy as np
import pytest
from conftest import single_claim

from keras_repro.measures.classification import inference_outputs


def test_dropout_rule_passes_and_fails():
    _, c = single_claim("dropout")
    good = {"mc_rel_error_classic": 0.003, "mc_rel_error_inverted": 0.004, "converted_max_abs_diff": 1e-7,
            "trained_test_acc_diff": 0.01, "gap_dropout_minus_none": -0.05, "gap_dropout_minus_none_t": -3.0}
    assert c.rule(good)
    for key, bad in (("mc_rel_error_classic", 0.02), ("converted_max_abs_diff", 1e-3), ("trained_test_acc_diff", 0.05),
                     ("gap_dropout_minus_none", 0.01), ("gap_dropout_minus_none_t", -1.0)):
        assert not c.rule({**good, key: bad}), key


def test_inverted_network_converted_to_the_classic_convention_predicts_the_same():
    module, _ = single_claim("dropout")
    keras.utils.set_random_seed(0)
    inverted = module.network(16, "inverted", 0.6)
    x = np.random.default_rng(0).random((20, 64)).astype("float32")
    converted = module.to_classic(inverted, 16, 0.6)
    np.testing.assert_allclose(inference_outputs(converted, x), inference_outputs(inverted, x), atol=1e-6)
    plain = module.network(16, "classic", 0.6)  # the same weights without the ÷p would not agree
    plain.set_weights(inverted.get_weights())
    assert not np.allclose(inference_outputs(plain, x), inference_outputs(inverted, x), atol=1e-3)


def test_dropout_mc_check_on_an_untrained_network():
    module, _ = single_claim("dropout")
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(1).random((3, 64)).astype("float32")
    for kind in ("classic", "inverted"):
        out = module.mc_check(module.network(16, kind, 0.5), x, 20_000)
        assert out["mc_rel_error"] < 4 * out["mc_expected_rel_error"]


def test_salt_and_pepper_noise_set_pixels_to_paper_or_ink():
    module, _ = single_claim("dropout")
    x = np.full((50, 64), 0.5)
    salt = module.set_pixels(0.0, 0.8)(x, np.random.default_rng(0))
    pepper = module.set_pixels(1.0, 0.8)(x, np.random.default_rng(0))
    assert set(np.unique(salt)) == {0.0, 0.5} and set(np.unique(pepper)) == {0.5, 1.0}
    assert np.mean(salt == 0) == pytest.approx(0.2, abs=0.03)
