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


# -- the verdict: precondition, effect over seeds (issue 12) ---------------------------------------------

def measured(differences, none_train_acc_min=1.0, **overrides):
    import statistics

    mean = statistics.mean(differences)
    t = mean / (statistics.stdev(differences) / len(differences) ** 0.5)
    return {"dropconnect_train_acc": 1.0, "gap_dropconnect_minus_none": mean, "gap_dropconnect_minus_none_t": t,
            "mc_rel_error": 0.001, "gap_dropconnect_minus_none_per_seed": list(differences),
            "none_train_acc_min": none_train_acc_min, **overrides}


def test_dropconnect_effect_and_precondition():
    from keras_repro.suite import claims as c

    _, claim = single_claim("dropconnect")
    assert (claim.effect.key, claim.effect.direction, claim.effect.smallest) == (
        "gap_dropconnect_minus_none_per_seed", "lower", 0.02)
    assert set(claim.effect.covers) == {"gap_dropconnect_minus_none", "gap_dropconnect_minus_none_t"}
    # "trains" is the claim itself: it stays in the rule, never a precondition
    assert "dropconnect_train_acc" in claim.rule.keys()
    assert all("dropconnect_train_acc" not in p.rule.keys() for p in claim.preconditions)
    assert c.evaluate(claim, measured([-0.03, -0.04, -0.035]), profile="default").verdict == c.REPRODUCED
    straddles = c.evaluate(claim, measured([0.02, 0.004, -0.03]), profile="default")
    assert (straddles.verdict, straddles.reason) == (c.INCONCLUSIVE, c.UNDERPOWERED)
    wrong = c.evaluate(claim, measured([0.03, 0.02, 0.025]), profile="default")
    assert (wrong.verdict, wrong.reason) == (c.NOT_REPRODUCED, c.CLAIM_CONTRADICTED)
    untrained = c.evaluate(claim, measured([0.02, 0.004, -0.03], dropconnect_train_acc=0.5), profile="default")
    assert (untrained.verdict, untrained.reason) == (c.NOT_REPRODUCED, c.CLAIM_CONTRADICTED)
    no_control = c.evaluate(claim, measured([-0.03, -0.04, -0.035], none_train_acc_min=0.7), profile="default")
    assert (no_control.verdict, no_control.reason) == (c.INCONCLUSIVE, c.PRECONDITION_UNMET)
    assert "none_train_acc_min=0.7" in no_control.note


def test_dropconnect_summary_sentence():
    from keras_repro.suite.claims import first_sentence

    module, _ = single_claim("dropconnect")
    comparisons = {"dropconnect": {"mean": -0.0012, "lower_in": 4, "pairs": 8},
                   "dropout": {"mean": -0.0127, "lower_in": 7, "pairs": 8}}
    text = first_sentence(module.summary(comparisons, 0.194, 1.0) + " More.")
    assert "-0.0012" in text and "4 of 8 seeds" in text and "-0.0127" in text and "1.000" in text
