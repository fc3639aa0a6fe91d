"""reproductions/resnext_cardinality.py: its helpers on known inputs, and its rules
(including cases where they must fail)."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import verdict

from keras_repro.models import trainable_parameters
from keras_repro.suite.claims import NOT_REPRODUCED, REPRODUCED
from keras_repro.suite.config import ConfigError, make_config
from reproductions import resnext_cardinality


def test_mcnemar_counts_discordant_images():
    resnet_wrong = np.array([1, 1, 1, 0, 0, 1, 1, 0], bool)
    resnext_wrong = np.array([1, 0, 0, 0, 1, 0, 0, 0], bool)
    only_a, only_b, p = resnext_cardinality.mcnemar_one_sided(resnet_wrong, resnext_wrong)
    assert (only_a, only_b) == (4, 1)
    assert p == pytest.approx(6 / 32)  # P(X >= 4 | n = 5, 1/2) = (5 + 1) / 32
    assert resnext_cardinality.mcnemar_one_sided(resnet_wrong, resnet_wrong)[2] == 1.0


def test_resnext_rule_and_config():
    good = dict(imagenet_param_rel_diff=0.02, param_rel_diff=0.01, test_error_resnext_minus_resnet=-0.02,
                mcnemar_p_one_sided=0.01)
    assert verdict(resnext_cardinality, good) == REPRODUCED
    assert verdict(resnext_cardinality, {**good, "mcnemar_p_one_sided": 0.2}) == NOT_REPRODUCED
    assert verdict(resnext_cardinality, {**good, "param_rel_diff": 0.15}) == NOT_REPRODUCED
    assert verdict(resnext_cardinality, {**good, "test_error_resnext_minus_resnet": 0.0}) == NOT_REPRODUCED
    with pytest.raises(ConfigError, match="depth: expected one of 26, 50, 101, 152"):
        make_config(resnext_cardinality.Config, "default", {"depth": "34"})
    cfg = make_config(resnext_cardinality.Config, "default")
    a, b = (resnext_cardinality.build(cfg, kind, (32, 32, 3), 10) for kind in ("resnet", "resnext"))
    n_a, n_b = trainable_parameters(a), trainable_parameters(b)
    assert abs(n_b - n_a) / n_a <= 0.10  # the default pair is matched, as the rule requires
