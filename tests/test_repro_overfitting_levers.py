"""reproductions/overfitting_levers.py: its rule, the effect its verdict reads, and the per-lever
sentences of its note (including cases where they must fail)."""
from __future__ import annotations

import statistics

import pytest
from conftest import single_claim

from keras_repro.suite import claims as c
from keras_repro.suite.config import ConfigError, make_config


def lever(prefix: str, key: str, differences) -> dict:
    mean = statistics.mean(differences)
    t = mean / (statistics.stdev(differences) / len(differences) ** 0.5)
    return {key: mean, f"{prefix}_t": t, f"{key}_per_seed": list(differences)}


def measured(size, aug=(-0.03, -0.04, -0.035), es=(-0.02, -0.025, -0.03)) -> dict:
    return {**lever("size", "size_gap_narrow_minus_wide", size),
            **lever("aug", "aug_val_loss_with_minus_without", aug),
            **lever("es", "es_test_loss_restored_minus_end", es)}


def test_overfitting_levers_rule_needs_every_lever():
    _, claim = single_claim("overfitting_levers")
    good = measured((-0.05, -0.06, -0.055))
    assert claim.rule(good)
    for key, bad in (("size_gap_narrow_minus_wide", 0.01), ("aug_t", -1.0), ("es_test_loss_restored_minus_end", 0.0)):
        assert not claim.rule({**good, key: bad}), key


def test_overfitting_levers_effects_read_every_lever():
    module, claim = single_claim("overfitting_levers")
    assert claim.effects == (module.SIZE_EFFECT, module.AUG_EFFECT, module.ES_EFFECT)
    assert (module.SIZE_EFFECT.key, module.SIZE_EFFECT.direction, module.SIZE_EFFECT.smallest) == (
        "size_gap_narrow_minus_wide_per_seed", "lower", 0.02)
    assert set(module.SIZE_EFFECT.covers) == {"size_gap_narrow_minus_wide", "size_t"}
    # every lever's paired differences are recorded under the key of its declared effect
    assert {module.AUG_EFFECT.key, module.ES_EFFECT.key} <= set(measured((-0.05, -0.06, -0.055)))
    assert c.evaluate(claim, measured((-0.05, -0.06, -0.055)), profile="default").verdict == c.REPRODUCED
    # the narrow net overfitting more (the reference run) contradicts the claim, whatever the other levers say
    wrong = c.evaluate(claim, measured((0.08, 0.15, 0.11)), profile="default")
    assert (wrong.verdict, wrong.reason) == (c.NOT_REPRODUCED, c.CLAIM_CONTRADICTED)
    assert "wrong side" in wrong.note
    # a straddling lever is underpowered while no lever is ruled out
    straddles = c.evaluate(claim, measured((-0.05, 0.02, -0.03)), profile="default")
    assert (straddles.verdict, straddles.reason) == (c.INCONCLUSIVE, c.UNDERPOWERED)
    weak_aug = c.evaluate(claim, measured((-0.05, -0.06, -0.055), aug=(0.03, -0.06, -0.04)), profile="default")
    assert (weak_aug.verdict, weak_aug.reason) == (c.INCONCLUSIVE, c.UNDERPOWERED)
    failed_aug = c.evaluate(claim, measured((-0.05, -0.06, -0.055), aug=(0.03, 0.01, 0.02)), profile="default")
    assert (failed_aug.verdict, failed_aug.reason) == (c.NOT_REPRODUCED, c.CLAIM_CONTRADICTED)


def test_lever_sentence_says_what_its_interval_shows():
    module, _ = single_claim("overfitting_levers")
    below = module.lever_sentence("x", module.ES_EFFECT, {"mean": -0.03, "lower_in": 3, "pairs": 3, "std": 0.005,
                                                          "differences": [-0.03, -0.035, -0.025]})
    assert below.endswith("which lies below 0.")
    straddle = module.lever_sentence("x", module.AUG_EFFECT, {"mean": -0.027, "lower_in": 2, "pairs": 3, "std": 0.079,
                                                              "differences": [0.063, -0.085, -0.058]})
    assert "holds both 0 and the smallest effect of interest (0.025)" in straddle
    wrong = module.lever_sentence("x", module.SIZE_EFFECT, {"mean": 0.11, "lower_in": 0, "pairs": 3, "std": 0.03,
                                                            "differences": [0.11, 0.14, 0.08]})
    assert "rules out an effect of 0.02" in wrong


def test_size_summary_names_the_direction():
    import pandas as pd

    module, _ = single_claim("overfitting_levers")
    gap, val = pd.Series([0.31, 0.2], index=[8, 512]), pd.Series([0.47, 0.2], index=[8, 512])
    text = module.size_summary({"mean": 0.11, "lower_in": 0, "pairs": 3}, (8, 512), gap, val)
    assert text.startswith("The narrowest net (width 8) has a higher gap") and "0.310 vs 0.200" in text
    assert c.first_sentence(text + " More.") == text


def test_widths_must_increase():
    module, _ = single_claim("overfitting_levers")
    with pytest.raises(ConfigError):
        make_config(module.Config, "default", {"widths": (64, 8)})
