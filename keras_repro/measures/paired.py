"""Paired comparisons across seeds: is a treated variant lower than its control beyond the seed noise?"""
from __future__ import annotations

import warnings

import numpy as np
from scipy.stats import ttest_rel


def paired_comparison(table, value: str, column: str, treated, control, pair: str = "seed") -> dict:
    """``value`` of the rows where ``column == treated`` minus those where ``column == control``,
    paired by ``pair`` (e.g. the seed): the mean difference, in how many pairs the treated value is
    lower, the standard deviation of the differences (to see whether a mean is within noise) and the
    paired t statistic (``scipy.stats.ttest_rel``; ``nan`` with fewer than two pairs)."""
    a = table[table[column] == treated].set_index(pair)[value]
    treated_values = a.to_numpy(dtype=float)
    control_values = table[table[column] == control].set_index(pair)[value].reindex(a.index).to_numpy(dtype=float)
    difference = treated_values - control_values
    paired = len(difference) > 1
    std = float(difference.std(ddof=1)) if paired else float("nan")
    # t = mean / standard error: the rules ask for t < -2, i.e. a decrease beyond the seed-to-seed noise
    # (a mean below 0 alone can be one lucky seed). Equal differences give ±inf (nan when all are 0).
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # scipy's notes on zero variance
        t = float(ttest_rel(treated_values, control_values).statistic) if paired else float("nan")
    return {"mean": float(difference.mean()), "lower_in": int(np.sum(difference < 0)), "pairs": len(difference),
            "std": std, "t": t}


def describe_paired(name: str, comparison: dict) -> str:
    """One sentence for a claim's note: the paired difference and whether it is within the seed spread."""
    text = (f"{name}: mean difference {comparison['mean']:+.4g}, lower in {comparison['lower_in']} of "
            f"{comparison['pairs']} seeds")
    if comparison["pairs"] > 1:
        within = abs(comparison["mean"]) < 2 * comparison["std"] / np.sqrt(comparison["pairs"])
        text += f" (std of the paired differences {comparison['std']:.3g}; " + \
            ("within two standard errors of 0, so not significant at this number of seeds)" if within else
             "more than two standard errors from 0)")
    return text + "."
