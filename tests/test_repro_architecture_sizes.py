"""reproductions/architecture_sizes.py: its helpers on known inputs, and its rules
(including cases where they must fail)."""
from __future__ import annotations

import pandas as pd
import pytest
from conftest import verdict

from keras_repro.suite.claims import NOT_REPRODUCED, REPRODUCED
from keras_repro.suite.config import ConfigError, make_config
from reproductions import architecture_sizes


def test_architecture_sizes_rows_and_rule():
    cfg = make_config(architecture_sizes.Config, "smoke", {"architectures": "lenet5,googlenet,resnet18"})
    rows = pd.DataFrame(architecture_sizes.size_rows(cfg, lambda message: None))
    exact = rows[rows["check"] == "exact"]
    assert set(exact["architecture"]) == {"googlenet", "resnet18"} and (exact["difference"] == 0).all()
    google = rows[(rows["architecture"] == "googlenet") & (rows["check"] == "approximate")]
    assert google["in_notes_range"].tolist() == [True]
    good = dict(exact_checks=12, exact_mismatches=0, approximate_checks=5, worst_approximate_deviation=0.03,
                outside_notes_range=0)
    assert verdict(architecture_sizes, good) == REPRODUCED
    assert verdict(architecture_sizes, {**good, "exact_mismatches": 1}) == NOT_REPRODUCED
    assert verdict(architecture_sizes, {**good, "worst_approximate_deviation": 0.06}) == NOT_REPRODUCED
    with pytest.raises(ConfigError, match="architectures: expected one of .*; got .densenet."):
        make_config(architecture_sizes.Config, "default", {"architectures": "resnet50,densenet"})
