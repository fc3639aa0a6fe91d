"""reproductions/l2_smoothing.py: its helpers on known inputs, and its rules
(including cases where they must fail)."""
from __future__ import annotations

from conftest import single_claim


def test_l2_rule_passes_and_fails():
    _, c = single_claim("l2_smoothing")
    good = {"counts_non_increasing": True, "max_minima_above_half": 1, "min_minima_above_half": 1,
            "min_minima_below_half": 2}
    assert c.rule(good)
    assert not c.rule({**good, "counts_non_increasing": False})
    assert not c.rule({**good, "max_minima_above_half": 3})
    assert not c.rule({**good, "min_minima_below_half": 1})  # the bound would not be tight
