"""keras_repro.measures.paired: paired comparisons across seeds."""
from __future__ import annotations

import numpy as np
import pytest

from keras_repro.measures.paired import describe_paired, paired_comparison


def test_paired_comparison_and_its_description():
    import pandas as pd

    table = pd.DataFrame({"variant": ["a", "b"] * 3, "seed": [0, 0, 1, 1, 2, 2], "gap": [1.0, 2.0, 1.0, 1.5, 3.0, 2.0]})
    out = paired_comparison(table, "gap", "variant", "a", "b")
    std = np.std([-1.0, -0.5, 1.0], ddof=1)
    assert out == {"mean": pytest.approx(-0.5 / 3), "lower_in": 2, "pairs": 3, "std": pytest.approx(std),
                   "t": pytest.approx((-0.5 / 3) / (std / np.sqrt(3)))}
    assert out["t"] > -2  # one lucky seed does not make a significant decrease
    assert "lower in 2 of 3 seeds" in describe_paired("gap", out) and "not significant" in describe_paired("gap", out)
    clear = paired_comparison(table.assign(gap=[1.0, 2.0, 1.1, 2.0, 0.9, 2.0]), "gap", "variant", "a", "b")
    assert clear["lower_in"] == 3 and "more than two standard errors" in describe_paired("gap", clear)
    assert clear["t"] < -2


def test_paired_t_edge_cases():
    import pandas as pd

    def t(gaps):
        table = pd.DataFrame({"variant": ["a", "b"] * (len(gaps) // 2), "seed": np.repeat(range(len(gaps) // 2), 2),
                              "gap": gaps})
        return paired_comparison(table, "gap", "variant", "a", "b")["t"]

    assert np.isnan(t([1.0, 2.0]))  # one pair: no spread to compare with
    assert t([1.0, 2.0, 2.0, 3.0]) == -np.inf and t([2.0, 1.0, 3.0, 2.0]) == np.inf  # the same difference every seed
    assert np.isnan(t([1.0, 1.0, 2.0, 2.0]))  # no difference at all

