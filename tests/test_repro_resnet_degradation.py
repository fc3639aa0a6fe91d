"""reproductions/resnet_degradation.py: its helpers on known inputs, and its rules
(including cases where they must fail)."""
from __future__ import annotations

import pandas as pd
import pytest
from conftest import verdict

from keras_repro.suite.claims import INCONCLUSIVE, NOT_REPRODUCED, PRECONDITION_UNMET, REPRODUCED, UNDERPOWERED, evaluate
from keras_repro.suite.config import ConfigError, make_config
from reproductions import resnet_degradation


def test_input_size_rows_see_input_over_32():
    rows = pd.DataFrame(resnet_degradation.input_size_rows((64, 96, 100), seed=0))
    assert list(rows["feature_map_side"]) == [2, 3, 4]  # "same" padding: ceil(100 / 2) five times
    assert list(rows["matches"]) == [True, True, False]  # 100 is not a multiple of 32
    assert rows["probabilities_sum"].round(4).eq(1.0).all()


@pytest.mark.parametrize("depths, fragment", [("56,20", "shallow and a deeper"), ("20,51", "6n \\+ 2"),
                                              ("20", "shallow and a deeper")])
def test_resnet_degradation_depths_are_checked(depths, fragment):
    with pytest.raises(ConfigError, match=fragment):
        make_config(resnet_degradation.Config, "default", {"depths": depths})


GOOD = dict(plain_deep_minus_shallow_loss_per_seed=[0.8, 0.7, 0.9], plain_deep_minus_shallow_loss=0.8,
            residual_deep_minus_shallow_loss=-0.001, residual_deep_minus_shallow_loss_per_seed=[-0.002, 0.0, -0.001],
            input_sizes_checked=4, input_size_mismatches=0, loss_plain_shallow=0.02, loss_residual_shallow=0.01)


def residual(*per_seed):
    return {"residual_deep_minus_shallow_loss_per_seed": list(per_seed),
            "residual_deep_minus_shallow_loss": sum(per_seed) / len(per_seed)}


def test_resnet_degradation_rule():
    assert verdict(resnet_degradation, GOOD) == REPRODUCED
    # within the margin but above 0 on average: the catalog's floor (<= 0) still fails
    assert verdict(resnet_degradation, {**GOOD, **residual(0.02, 0.01, 0.03)}) == NOT_REPRODUCED
    assert verdict(resnet_degradation, {**GOOD, "input_size_mismatches": 1}) == NOT_REPRODUCED


def test_resnet_degradation_residual_part_is_a_non_inferiority_comparison():
    (claim,) = resnet_degradation.CLAIMS
    # residual-56 worse than residual-20 by more than the margin on every plausible value: ruled out
    assert verdict(resnet_degradation, {**GOOD, **residual(0.3, 0.32, 0.31)}) == NOT_REPRODUCED
    # worse on average but the interval reaches back within the margin: underpowered
    result = evaluate(claim, {**GOOD, **residual(0.133, 0.053, 0.270)}, profile="default")
    assert (result.verdict, result.reason) == (INCONCLUSIVE, UNDERPOWERED)
    assert "non-inferiority margin (0.05)" in result.note


def test_resnet_degradation_effect_judges_the_plain_gap_over_seeds():
    (claim,) = resnet_degradation.CLAIMS
    plain = claim.effects[0]
    assert plain.key == "plain_deep_minus_shallow_loss_per_seed" and plain.direction == "higher"
    assert plain.smallest == resnet_degradation.SMALLEST_DEGRADATION
    # the plain nets do not degrade: the interval lies on the wrong side
    flat = {**GOOD, "plain_deep_minus_shallow_loss_per_seed": [-0.01, -0.02, -0.015],
            "plain_deep_minus_shallow_loss": -0.015}
    assert verdict(resnet_degradation, flat) == NOT_REPRODUCED
    # a straddling interval is underpowered, unless the residual part (not covered) fails
    noisy = {**GOOD, "plain_deep_minus_shallow_loss_per_seed": [0.5, -0.3, 0.1], "plain_deep_minus_shallow_loss": 0.1}
    result = evaluate(claim, noisy, profile="default")
    assert (result.verdict, result.reason) == (INCONCLUSIVE, UNDERPOWERED)
    assert verdict(resnet_degradation, {**noisy, "input_size_mismatches": 1}) == NOT_REPRODUCED


@pytest.mark.parametrize("key", ["loss_plain_shallow", "loss_residual_shallow"])
def test_resnet_degradation_needs_trained_shallow_nets(key):
    (claim,) = resnet_degradation.CLAIMS
    result = evaluate(claim, {**GOOD, key: 2.3}, profile="default")
    assert (result.verdict, result.reason) == (INCONCLUSIVE, PRECONDITION_UNMET)
    assert f"{key}=2.3" in result.note
