"""reproductions/resnet_degradation.py: its helpers on known inputs, and its rules
(including cases where they must fail)."""
from __future__ import annotations

import pandas as pd
import pytest
from conftest import verdict

from keras_repro.suite.claims import NOT_REPRODUCED, REPRODUCED
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


def test_resnet_degradation_rule():
    good = dict(plain_deep_minus_shallow_loss=0.8, residual_deep_minus_shallow_loss=-0.001, input_sizes_checked=4,
                input_size_mismatches=0)
    assert verdict(resnet_degradation, good) == REPRODUCED
    assert verdict(resnet_degradation, {**good, "residual_deep_minus_shallow_loss": 0.02}) == NOT_REPRODUCED
    assert verdict(resnet_degradation, {**good, "plain_deep_minus_shallow_loss": -0.1}) == NOT_REPRODUCED
    assert verdict(resnet_degradation, {**good, "input_size_mismatches": 1}) == NOT_REPRODUCED
