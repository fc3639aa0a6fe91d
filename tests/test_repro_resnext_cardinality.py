"""reproductions/resnext_cardinality.py: its helpers on known inputs, and its rules
(including cases where they must fail)."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import verdict

from keras_repro.models import trainable_parameters
from keras_repro.suite.claims import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, UNDERPOWERED, evaluate
from keras_repro.suite.config import ConfigError, make_config
from reproductions import resnext_cardinality


def test_mcnemar_counts_discordant_images():
    resnet_wrong = np.array([1, 1, 1, 0, 0, 1, 1, 0], bool)
    resnext_wrong = np.array([1, 0, 0, 0, 1, 0, 0, 0], bool)
    only_a, only_b, p = resnext_cardinality.mcnemar_one_sided(resnet_wrong, resnext_wrong)
    assert (only_a, only_b) == (4, 1)
    assert p == pytest.approx(6 / 32)  # P(X >= 4 | n = 5, 1/2) = (5 + 1) / 32
    assert resnext_cardinality.mcnemar_one_sided(resnet_wrong, resnet_wrong)[2] == 1.0


GOOD = dict(test_error_resnext_minus_resnet_per_seed=[-0.02, -0.025, -0.015], imagenet_param_rel_diff=0.02,
            param_rel_diff=0.01, test_error_resnext_minus_resnet=-0.02, mcnemar_p_one_sided=0.01)


def test_resnext_rule_and_config():
    assert verdict(resnext_cardinality, GOOD) == REPRODUCED
    assert verdict(resnext_cardinality, {**GOOD, "mcnemar_p_one_sided": 0.2}) == NOT_REPRODUCED
    assert verdict(resnext_cardinality, {**GOOD, "param_rel_diff": 0.15}) == NOT_REPRODUCED
    with pytest.raises(ConfigError, match="depth: expected one of 26, 50, 101, 152"):
        make_config(resnext_cardinality.Config, "default", {"depth": "34"})
    cfg = make_config(resnext_cardinality.Config, "default")
    a, b = (resnext_cardinality.build(cfg, kind, (32, 32, 3), 10) for kind in ("resnet", "resnext"))
    n_a, n_b = trainable_parameters(a), trainable_parameters(b)
    assert abs(n_b - n_a) / n_a <= 0.10  # the default pair is matched, as the rule requires


def test_resnext_effect_on_per_seed_test_error_difference():
    (claim,) = resnext_cardinality.CLAIMS
    assert (claim.effect.key, claim.effect.direction) == ("test_error_resnext_minus_resnet_per_seed", "lower")
    assert claim.effect.smallest == resnext_cardinality.SMALLEST_GAIN == 0.01
    # the interval straddles 0 and the 1-point gain: underpowered (the covered mean and McNemar parts are not read)
    straddle = {**GOOD, "test_error_resnext_minus_resnet_per_seed": [-0.031, 0.0, -0.01],
                "test_error_resnext_minus_resnet": -0.0137, "mcnemar_p_one_sided": 0.07}
    result = evaluate(claim, straddle, profile="default")
    assert (result.verdict, result.reason) == (INCONCLUSIVE, UNDERPOWERED)
    assert "seeds would decide" in result.note
    # ... but a failed parameter match (not covered) still decides
    assert verdict(resnext_cardinality, {**straddle, "param_rel_diff": 0.2}) == NOT_REPRODUCED
    # the interval excludes a 1-point gain: not reproduced
    tiny = {**GOOD, "test_error_resnext_minus_resnet_per_seed": [0.001, -0.002, 0.0],
            "test_error_resnext_minus_resnet": -0.0003, "mcnemar_p_one_sided": 0.4}
    assert verdict(resnext_cardinality, tiny) == NOT_REPRODUCED
    # the interval is wrong-side: not reproduced
    worse = {**GOOD, "test_error_resnext_minus_resnet_per_seed": [0.02, 0.03, 0.025],
             "test_error_resnext_minus_resnet": 0.025}
    assert verdict(resnext_cardinality, worse) == NOT_REPRODUCED
