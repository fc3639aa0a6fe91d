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


# -- the verdict: precondition, effect over seeds (issue 12) ---------------------------------------------

def measured(differences, train_acc_none_min=1.0, train_acc_dropout_min=1.0, **overrides):
    """A fake measurement set whose gap parts agree with ``differences`` (what the run records)."""
    from keras_repro.measures.paired import paired_comparison
    import pandas as pd

    rows = [{"variant": v, "seed": s, "loss_gap": 0.2 + (d if v == "classic" else 0.0)}
            for s, d in enumerate(differences) for v in ("none", "classic")]
    cmp = paired_comparison(pd.DataFrame(rows), "loss_gap", "variant", "classic", "none")
    return {"mc_rel_error_classic": 0.001, "mc_rel_error_inverted": 0.001, "converted_max_abs_diff": 0.0,
            "trained_test_acc_diff": 0.005, "gap_dropout_minus_none": cmp["mean"], "gap_dropout_minus_none_t": cmp["t"],
            "gap_dropout_minus_none_per_seed": cmp["differences"], "train_acc_none_min": train_acc_none_min,
            "train_acc_dropout_min": train_acc_dropout_min, **overrides}


def test_dropout_effect_is_wired_to_the_paired_gap_differences():
    from keras_repro.suite import claims as c

    _, claim = single_claim("dropout")
    effect = claim.effect
    assert (effect.key, effect.direction, effect.smallest) == ("gap_dropout_minus_none_per_seed", "lower", 0.02)
    assert set(effect.covers) == {"gap_dropout_minus_none", "gap_dropout_minus_none_t"}
    below = c.evaluate(claim, measured([-0.03, -0.04, -0.035, -0.05]), profile="default")
    assert (below.verdict, below.reason) == (c.REPRODUCED, c.CLAIM_HOLDS)
    straddles = c.evaluate(claim, measured([-0.03, 0.01, -0.02]), profile="default")
    assert (straddles.verdict, straddles.reason) == (c.INCONCLUSIVE, c.UNDERPOWERED)
    assert straddles.note.startswith("Underpowered") and "seeds would decide" in straddles.note
    ruled_out = c.evaluate(claim, measured([-0.002, 0.001, 0.0, -0.001, 0.002]), profile="default")
    assert (ruled_out.verdict, ruled_out.reason) == (c.NOT_REPRODUCED, c.CLAIM_CONTRADICTED)
    # the conventions' part is not covered by the interval: failing it contradicts the claim even if underpowered
    broken = c.evaluate(claim, measured([-0.03, 0.01, -0.02], converted_max_abs_diff=0.1), profile="default")
    assert (broken.verdict, broken.reason) == (c.NOT_REPRODUCED, c.CLAIM_CONTRADICTED)


def test_dropout_precondition_both_nets_fit_the_training_set():
    from keras_repro.suite import claims as c

    _, claim = single_claim("dropout")
    result = c.evaluate(claim, measured([-0.03, -0.04, -0.035], train_acc_dropout_min=0.6), profile="default")
    assert (result.verdict, result.reason) == (c.INCONCLUSIVE, c.PRECONDITION_UNMET)
    assert "train_acc_dropout_min=0.6" in result.note


def test_dropout_summary_sentence_states_the_numbers():
    from keras_repro.suite.claims import first_sentence

    module, _ = single_claim("dropout")
    gap = {"mean": -0.0127, "lower_in": 5, "pairs": 6}
    text = first_sentence(module.summary(gap, 0.194, 0.0013, 0.0) + " More.")
    assert "-0.0127" in text and "5 of 6 seeds" in text and "0.194" in text and not text.endswith("More.")
