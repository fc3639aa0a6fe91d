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


# -- preconditions, effects over seeds, reasons (the verdict logic of "Verdicts that decide") -----------

GAP = c.Effect("gap_diff", "lower", smallest=0.01, covers=("gap_diff_mean",))


def comparison(**kw):
    rule = c.all_of(c.less_than("gap_diff_mean", 0), c.at_least("train_acc", 0.95))
    return c.Claim("C9.8", "dropout lowers the gap", rule, effect=GAP,
                   preconditions=(c.requires("both nets trained", c.at_most("train_loss_max", 0.5)),), **kw)


def measured(diffs, train_acc=1.0, train_loss_max=0.1):
    return {"gap_diff": list(diffs), "gap_diff_mean": sum(diffs) / len(diffs), "train_acc": train_acc,
            "train_loss_max": train_loss_max}


def test_unmet_precondition_is_inconclusive_with_its_measured_value():
    result = c.evaluate(comparison(), measured([-0.05, -0.06, -0.04], train_loss_max=2.3), profile="default")
    assert (result.verdict, result.reason) == (c.INCONCLUSIVE, c.PRECONDITION_UNMET)
    assert result.note.startswith("Precondition unmet: both nets trained (train_loss_max=2.3)")
    assert result.rule_outcome == c.REPRODUCED  # what the rule alone says is still recorded


def test_interval_beyond_zero_reproduces_and_is_shown():
    result = c.evaluate(comparison(), measured([-0.05, -0.06, -0.04]), profile="default")
    assert (result.verdict, result.reason) == (c.REPRODUCED, c.CLAIM_HOLDS)
    assert result.measured["gap_diff_ci_high"] < 0 < result.measured["gap_diff_seeds"]
    assert "gap_diff=[-0.05, -0.06, -0.04]" in result.measured_text()


def test_interval_beyond_zero_still_needs_the_rest_of_the_rule():
    result = c.evaluate(comparison(), measured([-0.05, -0.06, -0.04], train_acc=0.5), profile="default")
    assert (result.verdict, result.reason) == (c.NOT_REPRODUCED, c.CLAIM_CONTRADICTED)


def test_interval_that_excludes_the_smallest_effect_is_not_reproduced():
    tight_small = measured([-0.001, 0.001, 0.0005, -0.0005])  # straddles 0 but rules out an effect of 0.01
    result = c.evaluate(comparison(), tight_small, profile="default")
    assert (result.verdict, result.reason) == (c.NOT_REPRODUCED, c.CLAIM_CONTRADICTED)
    wrong_side = c.evaluate(comparison(), measured([0.05, 0.06, 0.04]), profile="default")
    assert wrong_side.verdict == c.NOT_REPRODUCED and "wrong side" in wrong_side.note


def test_straddling_interval_is_underpowered_and_says_how_many_seeds_would_decide():
    result = c.evaluate(comparison(), measured([-0.05, 0.02, -0.03]), profile="default")
    assert (result.verdict, result.reason) == (c.INCONCLUSIVE, c.UNDERPOWERED)
    assert "Underpowered" in result.note and "seeds would decide" in result.note
    needed = GAP.seeds_to_decide([-0.05, 0.02, -0.03])
    assert needed is not None and needed > 3
    # at that many seeds with the same mean and spread, the interval decides
    from scipy import stats
    import numpy as np
    x = np.array([-0.05, 0.02, -0.03])
    half = stats.t.ppf(0.975, needed - 1) * x.std(ddof=1) / np.sqrt(needed)
    assert -x.mean() - half > 0 or -x.mean() + half < GAP.smallest


def test_underpowered_does_not_hide_a_part_of_the_rule_the_interval_does_not_cover():
    result = c.evaluate(comparison(), measured([-0.05, 0.02, -0.03], train_acc=0.5), profile="default")
    assert (result.verdict, result.reason) == (c.NOT_REPRODUCED, c.CLAIM_CONTRADICTED)


def test_one_seed_is_underpowered_not_a_verdict():
    result = c.evaluate(comparison(), measured([-0.05]), profile="default")
    assert result.reason == c.UNDERPOWERED and "at least 2 seeds" in result.note


def test_erratum_claims_name_the_notes_when_the_rule_fails():
    claim = c.Claim("C9.7", "notes' formula", c.at_least("speedup", 3), erratum=True)
    assert c.evaluate(claim, {"speedup": 0.3}, profile="default").reason == c.ERRATUM
    assert c.evaluate(claim, {"speedup": 5}, profile="default").reason == c.CLAIM_HOLDS


def test_smoke_profile_wins_but_records_what_the_run_gives():
    result = c.evaluate(comparison(), measured([-0.05, 0.02, -0.03]), profile="smoke")
    assert (result.verdict, result.reason) == (c.INCONCLUSIVE, c.SMOKE_PROFILE)
    assert "'inconclusive', reason 'underpowered'" in result.note


def test_a_precondition_may_not_be_the_claim_itself():
    with pytest.raises(ValueError, match="precondition 'it works' reads train_acc"):
        c.Claim("C9.6", "x", c.at_least("train_acc", 0.9), preconditions=(c.requires("it works", c.at_least("train_acc", 0.5)),))
    with pytest.raises(ValueError, match="reads gap_diff"):
        c.Claim("C9.6", "x", c.less_than("m", 0), effect=c.Effect("gap_diff", "lower", 0.01),
                preconditions=(c.requires("differs", c.less_than("gap_diff", 1)),))
    with pytest.raises(ValueError, match="covers"):
        c.Claim("C9.6", "x", c.less_than("m", 0), effect=c.Effect("d", "lower", 0.01, covers=("other",)))
    with pytest.raises(ValueError, match="smallest"):
        c.Effect("d", "lower", 0)


def test_every_declared_reason_is_in_the_schema_vocabulary():
    from keras_repro.suite import schemas
    assert set(schemas.REASONS) >= {"claim holds", "claim contradicted", "erratum in the notes", "precondition unmet",
                                    "underpowered", "dataset unavailable", "smoke profile"}


def test_first_sentence():
    assert c.first_sentence("Precondition unmet: x (a=1.5), so no. More here.") == \
        "Precondition unmet: x (a=1.5), so no."
    assert c.first_sentence("Steps are medians, e.g. over seeds. Then") == "Steps are medians, e.g. over seeds."
    assert c.first_sentence("") == ""


def test_several_effects_any_ruled_out_rules_out_all_beyond_let_the_rule_decide_else_underpowered():
    a, b = c.Effect("a", "lower", 0.01, covers=("a_mean",)), c.Effect("b", "higher", 0.01, covers=("b_mean",))
    claim = c.Claim("C9.5", "two levers", c.all_of(c.less_than("a_mean", 0), c.greater_than("b_mean", 0),
                                                   c.equals("broken", 0)), effect=(a, b))
    assert claim.effects == (a, b)

    def judge(a_values, b_values, broken=0):
        m = {"a": a_values, "b": b_values, "a_mean": sum(a_values) / len(a_values),
             "b_mean": sum(b_values) / len(b_values), "broken": broken}
        return c.evaluate(claim, m, profile="default")

    beyond_a, beyond_b = [-0.05, -0.06, -0.04], [0.05, 0.06, 0.04]
    assert judge(beyond_a, beyond_b).verdict == c.REPRODUCED
    assert judge(beyond_a, beyond_b, broken=1).verdict == c.NOT_REPRODUCED
    assert judge(beyond_a, [-0.05, -0.06, -0.04]).reason == c.CLAIM_CONTRADICTED  # b on the wrong side
    weak = judge(beyond_a, [0.05, -0.03, 0.02])
    assert (weak.verdict, weak.reason) == (c.INCONCLUSIVE, c.UNDERPOWERED) and weak.note.startswith("Underpowered")
    assert "b_ci_low" in weak.measured and "a_ci_high" in weak.measured
    assert judge(beyond_a, [0.05, -0.03, 0.02], broken=1).verdict == c.NOT_REPRODUCED  # an uncovered part fails
    with pytest.raises(TypeError, match="Effect or a Rate"):
        c.Claim("C9.5", "x", c.less_than("a_mean", 0), effect=(a, "b"))


def test_no_worse_is_a_non_inferiority_interval():
    nw = c.no_worse("d", "lower", 0.05)
    assert nw.decide([0.01, -0.01, 0.0, 0.02])[0] == c.REPRODUCED  # within the margin
    assert nw.decide([0.3, 0.32, 0.31])[0] == c.NOT_REPRODUCED  # worse by more than the margin throughout
    assert nw.decide([0.133, 0.053, 0.270])[0] == c.UNDERPOWERED
    assert c.no_worse("d", "higher", 0.05).decide([-0.3, -0.32, -0.31])[0] == c.NOT_REPRODUCED
    needed = nw.seeds_to_decide([0.133, 0.053, 0.270])
    assert needed is not None and needed > 3
    with pytest.raises(ValueError, match="margin"):
        c.no_worse("d", "lower", 0)
