import pytest

from keras_repro.suite import claims as c


def test_comparisons_pass_and_fail():
    rule = c.at_least("speedup", 3.0)
    assert rule({"speedup": 3.0}) is True
    assert rule({"speedup": 2.99}) is False
    assert c.less_than("err", 0.05)({"err": 0.05}) is False
    assert c.greater_than("x", 1)({"x": 1.0001}) is True
    assert c.equals("mismatches", 0)({"mismatches": 1}) is False
    assert c.between("slope", 0.7, 1.3)({"slope": 1.31}) is False


def test_combinators_and_text():
    rule = c.all_of(c.is_true("lp_infeasible"), c.any_of(c.at_most("acc", 0.75), c.equals("n", 0)))
    assert rule.describe() == "lp_infeasible is true and (acc <= 0.75 or n == 0)"
    assert rule.keys() == ("lp_infeasible", "acc", "n")
    assert rule({"lp_infeasible": True, "acc": 0.9, "n": 0})
    assert not rule({"lp_infeasible": True, "acc": 0.9, "n": 1})
    assert not rule({"lp_infeasible": False, "acc": 0.5, "n": 0})


def test_missing_measurement_is_an_error_not_a_verdict():
    rule = c.all_of(c.at_least("a", 1), c.at_least("b", 1))
    with pytest.raises(c.MissingMeasurement, match="'b'"):
        rule({"a": 5})


def test_nan_fails_every_comparison_and_is_named():
    nan = float("nan")
    assert not c.at_least("a", 1)({"a": nan}) and not c.less_than("a", 1)({"a": nan})
    result = c.evaluate(c.Claim("C9.9", "x", c.less_than("t", -2)), {"t": nan}, profile="default")
    assert result.verdict == c.NOT_REPRODUCED and "NaN" in result.note


def test_wrong_types_are_errors():
    with pytest.raises(TypeError):
        c.is_true("flag")({"flag": 0.5})


def test_evaluate_default_profile_gives_the_rule_outcome():
    claim = c.Claim("C9.9", "x", c.at_least("acc", 0.97), note="a note")
    good = c.evaluate(claim, {"acc": 0.98, "extra": 1}, profile="default")
    bad = c.evaluate(claim, {"acc": 0.5}, profile="default")
    assert (good.verdict, bad.verdict) == (c.REPRODUCED, c.NOT_REPRODUCED)
    assert good.row()["measured"].startswith("acc=0.98")
    assert good.row()["rule"] == "acc >= 0.97" and "a note" in good.row()["note"]


def test_smoke_profile_is_inconclusive_but_keeps_the_rule_outcome():
    claim = c.Claim("C9.9", "x", c.at_least("acc", 0.97))
    result = c.evaluate(claim, {"acc": 0.5}, profile="smoke")
    assert result.verdict == c.INCONCLUSIVE
    assert result.rule_outcome == c.NOT_REPRODUCED
    assert "smoke" in result.note


def test_absent_dataset_is_inconclusive_without_evaluating():
    claim = c.Claim("C9.9", "x", c.at_least("acc", 0.97))
    result = c.evaluate(claim, {}, profile="default", inconclusive_reason="dataset mnist absent")
    assert result.verdict == c.INCONCLUSIVE and "mnist" in result.note


def test_claim_requires_a_rule_object():
    with pytest.raises(TypeError):
        c.Claim("C1.1", "x", rule="acc > 0.5")
