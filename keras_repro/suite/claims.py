"""Claims from the catalog and the rules that turn measurements into verdicts.

A :class:`Claim` carries the catalog ID, the claim in English, and a :class:`Rule`. Rules are small
objects built from comparisons (``at_least("speedup", 3.0)``) so that the text shown to the user is
generated from the very object that decides the verdict: what you read is what was applied. Rules are
declared at module level, next to the reproduction, i.e. fixed before any run.

Verdicts: ``reproduced``, ``not reproduced``, ``inconclusive``, each with a ``reason`` from a fixed
vocabulary (``REASONS``). ``inconclusive`` is given on the ``smoke`` profile (too small to judge; the
rule's outcome is still recorded), in a dry run (nothing is judged), and when a required dataset is
absent.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
INCONCLUSIVE = "inconclusive"
VERDICTS = (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE)

# Why a verdict is what it is (the ``reason`` column of claims.csv).
CLAIM_HOLDS = "claim holds"
CLAIM_CONTRADICTED = "claim contradicted"
SMOKE_PROFILE = "smoke profile"
DRY_RUN = "dry run"
DATASET_UNAVAILABLE = "dataset unavailable"
REASONS = (CLAIM_HOLDS, CLAIM_CONTRADICTED, SMOKE_PROFILE, DRY_RUN, DATASET_UNAVAILABLE)


class MissingMeasurement(KeyError):
    """A rule refers to a measurement that the reproduction did not record."""


def _value(measured: Mapping[str, Any], key: str) -> Any:
    if key not in measured:
        raise MissingMeasurement(f"measurement {key!r} was not recorded (have: {', '.join(sorted(measured)) or 'none'})")
    return measured[key]


def _number(measured: Mapping[str, Any], key: str) -> float:
    # NaN (an undefined measurement, e.g. a spread from a single seed) fails every comparison, so a
    # rule that reads it cannot pass; evaluate() names it in the note.
    return float(_value(measured, key))


class Rule:
    """A predicate over a claim's measurements, with the text that describes it."""

    def __call__(self, measured: Mapping[str, Any]) -> bool:  # pragma: no cover - interface
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - interface
        raise NotImplementedError

    def keys(self) -> tuple[str, ...]:
        """The measurement names this rule reads, in order."""
        return ()

    def __str__(self) -> str:
        return self.describe()


@dataclass(frozen=True)
class Compare(Rule):
    key: str
    op: str
    threshold: float

    _OPS = {
        ">=": lambda a, b: a >= b,
        ">": lambda a, b: a > b,
        "<=": lambda a, b: a <= b,
        "<": lambda a, b: a < b,
        "==": lambda a, b: a == b,
    }

    def __post_init__(self):
        if self.op not in self._OPS:
            raise ValueError(f"unknown comparison {self.op!r}")

    def __call__(self, measured):
        return bool(self._OPS[self.op](_number(measured, self.key), self.threshold))

    def describe(self):
        t = self.threshold
        shown = str(int(t)) if float(t).is_integer() and abs(t) < 1e15 else f"{t:g}"
        return f"{self.key} {self.op} {shown}"

    def keys(self):
        return (self.key,)


@dataclass(frozen=True)
class IsTrue(Rule):
    key: str

    def __call__(self, measured):
        value = _value(measured, self.key)
        if not isinstance(value, (bool, int)) or isinstance(value, float):
            raise TypeError(f"measurement {self.key!r} must be a bool, got {value!r}")
        return bool(value)

    def describe(self):
        return f"{self.key} is true"

    def keys(self):
        return (self.key,)


@dataclass(frozen=True)
class AllOf(Rule):
    rules: tuple[Rule, ...]

    def __call__(self, measured):
        # Evaluate every part (no short-circuit) so a missing measurement is always reported.
        return all([rule(measured) for rule in self.rules])

    def describe(self):
        return " and ".join(_parenthesise(rule, AnyOf) for rule in self.rules)

    def keys(self):
        return tuple(dict.fromkeys(k for rule in self.rules for k in rule.keys()))


@dataclass(frozen=True)
class AnyOf(Rule):
    rules: tuple[Rule, ...]

    def __call__(self, measured):
        return any([rule(measured) for rule in self.rules])

    def describe(self):
        return " or ".join(_parenthesise(rule, AllOf) for rule in self.rules)

    def keys(self):
        return tuple(dict.fromkeys(k for rule in self.rules for k in rule.keys()))


@dataclass(frozen=True)
class Custom(Rule):
    """Escape hatch for a rule that comparisons cannot express; ``text`` must say exactly what it does."""

    text: str
    predicate: Callable[[Mapping[str, Any]], bool]
    reads: tuple[str, ...] = ()

    def __call__(self, measured):
        for key in self.reads:
            _value(measured, key)
        return bool(self.predicate(measured))

    def describe(self):
        return self.text

    def keys(self):
        return self.reads


def _parenthesise(rule: Rule, kind: type) -> str:
    return f"({rule.describe()})" if isinstance(rule, kind) else rule.describe()


def at_least(key: str, threshold: float) -> Rule:
    return Compare(key, ">=", threshold)


def greater_than(key: str, threshold: float) -> Rule:
    return Compare(key, ">", threshold)


def at_most(key: str, threshold: float) -> Rule:
    return Compare(key, "<=", threshold)


def less_than(key: str, threshold: float) -> Rule:
    return Compare(key, "<", threshold)


def equals(key: str, value: float) -> Rule:
    return Compare(key, "==", value)


def between(key: str, low: float, high: float) -> Rule:
    return AllOf((Compare(key, ">=", low), Compare(key, "<=", high)))


def is_true(key: str) -> Rule:
    return IsTrue(key)


def all_of(*rules: Rule) -> Rule:
    return AllOf(tuple(rules))


def any_of(*rules: Rule) -> Rule:
    return AnyOf(tuple(rules))


def custom(text: str, predicate: Callable[[Mapping[str, Any]], bool], reads: tuple[str, ...] = ()) -> Rule:
    return Custom(text, predicate, tuple(reads))


@dataclass(frozen=True)
class Claim:
    """One catalog claim: its ID (``C4.3``), the statement in English, and the rule that judges it.

    ``note`` is printed with the verdict whatever it is: use it for an erratum in the notes or for
    what the reproduction does differently from the catalog (and why).
    """

    id: str
    statement: str
    rule: Rule
    note: str = ""

    def __post_init__(self):
        if not isinstance(self.rule, Rule):
            raise TypeError(f"claim {self.id}: rule must be a keras_repro.suite.claims.Rule, got {self.rule!r}")


@dataclass
class ClaimResult:
    claim_id: str
    verdict: str
    rule_outcome: str
    measured: dict[str, Any] = field(default_factory=dict)
    rule: str = ""
    note: str = ""
    reason: str = ""

    def measured_text(self) -> str:
        return "; ".join(f"{k}={_format(v)}" for k, v in self.measured.items())

    def row(self) -> dict[str, Any]:
        return {
            "claim_id": self.claim_id,
            "verdict": self.verdict,
            "reason": self.reason,
            "measured": self.measured_text(),
            "rule": self.rule,
            "rule_outcome": self.rule_outcome,
            "note": self.note,
        }


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def evaluate(claim: Claim, measured: Mapping[str, Any], *, profile: str, inconclusive_reason: str | None = None,
             notes: tuple[str, ...] = (), dry_run: bool = False) -> ClaimResult:
    """Apply ``claim.rule`` to ``measured``; the profile, a dry run or an absent dataset make it inconclusive."""
    note_parts = [n for n in (claim.note, *notes) if n]
    shown = {k: measured[k] for k in claim.rule.keys() if k in measured}
    shown.update({k: v for k, v in measured.items() if k not in shown})
    if inconclusive_reason is not None:
        return ClaimResult(claim.id, INCONCLUSIVE, "not evaluated", shown, claim.rule.describe(),
                           " ".join([inconclusive_reason, *note_parts]), DATASET_UNAVAILABLE)
    if dry_run:
        return ClaimResult(claim.id, INCONCLUSIVE, "not evaluated", shown, claim.rule.describe(),
                           " ".join(["dry run: budgets cut to a few batches, nothing is judged.", *note_parts]),
                           DRY_RUN)
    outcome = REPRODUCED if claim.rule(measured) else NOT_REPRODUCED
    undefined = [k for k in claim.rule.keys() if isinstance(measured.get(k), float) and math.isnan(measured[k])]
    if undefined:
        note_parts.append(f"undefined (NaN) measurement(s) fail the rule: {', '.join(undefined)}.")
    verdict, reason = outcome, CLAIM_HOLDS if outcome == REPRODUCED else CLAIM_CONTRADICTED
    if profile == "smoke":
        verdict, reason = INCONCLUSIVE, SMOKE_PROFILE
        note_parts.insert(0, f"smoke profile: too small to judge (the rule gives '{outcome}')")
    return ClaimResult(claim.id, verdict, outcome, shown, claim.rule.describe(), " ".join(note_parts), reason)


def unavailable(claim: Claim, message: str) -> ClaimResult:
    """The claim could not be tested: its dataset cannot be had here (``message`` says why)."""
    return ClaimResult(claim.id, INCONCLUSIVE, "not evaluated", {}, claim.rule.describe(),
                       f"dataset unavailable: {message}", DATASET_UNAVAILABLE)
