"""Claims from the catalog and the rules that turn measurements into verdicts.

A :class:`Claim` carries the catalog ID, the claim in English, and a :class:`Rule`. Rules are small
objects built from comparisons (``at_least("speedup", 3.0)``) so that the text shown to the user is
generated from the very object that decides the verdict: what you read is what was applied. Rules are
declared at module level, next to the reproduction, i.e. fixed before any run.

Verdicts: ``reproduced``, ``not reproduced``, ``inconclusive``, each with a ``reason`` from a fixed
vocabulary (``REASONS``), decided in this order:

1. ``inconclusive`` in a dry run (nothing is judged), when a required dataset is absent, and when a
   declared :class:`Precondition` is unmet (``precondition unmet``: the experiment could not test the
   claim, e.g. the net a comparison starts from never trained). A precondition is something the
   claim presupposes, never the claim itself: it may not read a measurement its rule or effect reads.
2. A comparison over seeds declares an :class:`Effect`: the per-seed paired differences, the claimed
   direction and the smallest effect that would count. Its confidence interval (Student's t, from
   ``scipy.stats``) decides: beyond zero in the claimed direction → the rule decides as below; it
   excludes the smallest effect of interest, or lies on the wrong side → ``not reproduced``; it
   straddles → ``inconclusive`` (``underpowered``, with the number of seeds that would decide at the
   measured spread) — unless a part of the rule that the interval does not cover already fails.
3. The rule (the catalog's floor): holds → ``reproduced`` (``claim holds``); fails → ``not
   reproduced`` (``claim contradicted``, or ``erratum in the notes`` for a claim declared with
   ``erratum=True``: the notes' own formula is what fails).
4. On the ``smoke`` profile the verdict is ``inconclusive`` (``smoke profile``) whatever the above
   gives; that outcome is still recorded in the note and ``rule_outcome``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping, Sequence

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
ERRATUM = "erratum in the notes"
PRECONDITION_UNMET = "precondition unmet"
UNDERPOWERED = "underpowered"
REASONS = (CLAIM_HOLDS, CLAIM_CONTRADICTED, ERRATUM, PRECONDITION_UNMET, UNDERPOWERED, SMOKE_PROFILE, DRY_RUN,
           DATASET_UNAVAILABLE)


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
class Precondition:
    """What the claim presupposes (``text``, in English) and the rule that checks it on the measurements."""

    text: str
    rule: Rule

    def describe(self) -> str:
        return f"{self.text}: {self.rule.describe()}"


def requires(text: str, rule: Rule) -> Precondition:
    """A precondition of a claim, e.g. ``requires("the root VGG-11 trained", less_than("root_loss_ratio", 0.5))``."""
    return Precondition(text, rule)


MAX_SEEDS_SHOWN = 1000  # "more than this many seeds" is what an underpowered note says beyond it


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float
    n: int


@dataclass(frozen=True)
class Effect:
    """A comparison judged on a confidence interval over seeds.

    ``key`` names a measurement holding one paired difference per seed (e.g. gap with dropout minus gap
    without, same seed). ``direction`` is the sign the claim predicts (``"lower"``: the differences are
    negative). ``smallest`` (> 0) is the smallest effect that would count, in the key's units: an interval
    that excludes it (or lies on the wrong side of zero) rules the claim out. ``covers`` names the parts
    of the rule that state the same comparison (a mean below zero, a t statistic): when the interval is
    underpowered those parts are not read as a contradiction.
    """

    key: str
    direction: Literal["lower", "higher"]
    smallest: float
    confidence: float = 0.95
    covers: tuple[str, ...] = ()

    def __post_init__(self):
        if self.direction not in ("lower", "higher"):
            raise ValueError(f"effect {self.key!r}: direction must be 'lower' or 'higher', got {self.direction!r}")
        if not (self.smallest > 0 and math.isfinite(self.smallest)):
            raise ValueError(f"effect {self.key!r}: smallest effect of interest must be > 0, got {self.smallest!r}")
        if not 0.5 <= self.confidence < 1:
            raise ValueError(f"effect {self.key!r}: confidence must be in [0.5, 1), got {self.confidence!r}")

    def keys(self) -> tuple[str, ...]:
        return (self.key, *self.covers)

    def describe(self) -> str:
        side = "below" if self.direction == "lower" else "above"
        return (f"{self.confidence:.0%} interval of {self.key} over seeds {side} 0 (the smallest effect of interest "
                f"is {self.smallest:g}; an interval that excludes it rules the claim out)")

    def values(self, measured: Mapping[str, Any]) -> list[float]:
        raw = _value(measured, self.key)
        if isinstance(raw, (int, float)):
            raw = [raw]
        values = [float(v) for v in raw]
        if any(not math.isfinite(v) for v in values):
            raise ValueError(f"effect {self.key!r}: per-seed values must be finite, got {values}")
        return values

    def interval(self, values: Sequence[float]) -> Interval:
        """The two-sided ``confidence`` interval of the mean (Student's t), in the key's own sign."""
        import numpy as np
        from scipy import stats

        x = np.asarray(values, dtype=float)
        mean = float(x.mean()) if x.size else math.nan
        if x.size < 2:
            return Interval(mean, -math.inf, math.inf, int(x.size))
        sem = float(stats.sem(x))
        if sem == 0:
            return Interval(mean, mean, mean, int(x.size))
        low, high = stats.t.interval(self.confidence, x.size - 1, loc=mean, scale=sem)
        return Interval(mean, float(low), float(high), int(x.size))

    def _claimed(self, interval: Interval) -> tuple[float, float]:
        """The interval in the claimed direction (positive = the claimed effect)."""
        if self.direction == "higher":
            return interval.low, interval.high
        return -interval.high, -interval.low

    def decide(self, values: Sequence[float]) -> tuple[str, Interval]:
        """``reproduced`` (beyond zero in the claimed direction), ``not reproduced`` (excludes the smallest
        effect of interest, or on the wrong side), or ``underpowered``."""
        interval = self.interval(values)
        low, high = self._claimed(interval)
        if low > 0:
            return REPRODUCED, interval
        if high < self.smallest:
            return NOT_REPRODUCED, interval
        return UNDERPOWERED, interval

    def seeds_to_decide(self, values: Sequence[float]) -> int | None:
        """How many seeds would decide, if the mean and spread stayed as measured (None: more than
        ``MAX_SEEDS_SHOWN``, or no spread can be measured from fewer than 2 seeds)."""
        import numpy as np
        from scipy import stats

        x = np.asarray(values, dtype=float)
        if x.size < 2:
            return None
        claimed = float(x.mean()) * (1 if self.direction == "higher" else -1)
        sd = float(x.std(ddof=1))
        for n in range(max(x.size, 2), MAX_SEEDS_SHOWN + 1):
            half = float(stats.t.ppf(0.5 + self.confidence / 2, n - 1)) * sd / math.sqrt(n)
            if self._settles(claimed, half):
                return n
        return None

    def _settles(self, claimed: float, half: float) -> bool:
        """Whether an interval ``claimed ± half`` (positive = the claimed effect) decides."""
        return claimed - half > 0 or claimed + half < self.smallest


@dataclass(frozen=True)
class NoWorse(Effect):
    """A non-inferiority comparison over seeds: the treated variant is at least as good as the control.

    ``key`` holds the per-seed paired differences (treated − control); ``direction`` is the good side
    (``"lower"``: lower is better, e.g. a loss). ``margin`` (> 0, in the key's units) is the largest
    deficit that still counts as "as good". The 95% interval decides: entirely within the margin (its
    bad end below ``margin``) → the rule decides; entirely beyond it (worse by more than the margin on
    every plausible value) → not reproduced; otherwise underpowered.
    """

    smallest: float = 0.0  # unused: the margin decides
    margin: float = 0.0

    def __post_init__(self):
        if self.direction not in ("lower", "higher"):
            raise ValueError(f"effect {self.key!r}: direction must be 'lower' or 'higher', got {self.direction!r}")
        if not (self.margin > 0 and math.isfinite(self.margin)):
            raise ValueError(f"no-worse {self.key!r}: margin must be > 0, got {self.margin!r}")
        if not 0.5 <= self.confidence < 1:
            raise ValueError(f"effect {self.key!r}: confidence must be in [0.5, 1), got {self.confidence!r}")

    def describe(self) -> str:
        worse = "above" if self.direction == "lower" else "below"
        return (f"{self.confidence:.0%} interval of {self.key} over seeds no more than {self.margin:g} {worse} 0 "
                f"(non-inferiority margin; an interval entirely beyond the margin rules the claim out)")

    def _deficit(self, interval: Interval) -> tuple[float, float]:
        """The interval of the deficit (positive = worse than the control)."""
        if self.direction == "lower":
            return interval.low, interval.high
        return -interval.high, -interval.low

    def decide(self, values: Sequence[float]) -> tuple[str, Interval]:
        interval = self.interval(values)
        low, high = self._deficit(interval)
        if high <= self.margin:
            return REPRODUCED, interval
        if low > self.margin:
            return NOT_REPRODUCED, interval
        return UNDERPOWERED, interval

    def _settles(self, claimed: float, half: float) -> bool:
        deficit = -claimed  # positive = worse than the control
        return deficit + half <= self.margin or deficit - half > self.margin


def no_worse(key: str, direction: Literal["lower", "higher"], margin: float, confidence: float = 0.95,
             covers: tuple[str, ...] = ()) -> NoWorse:
    """A non-inferiority comparison (see :class:`NoWorse`)."""
    return NoWorse(key, direction, confidence=confidence, covers=tuple(covers), margin=margin)


@dataclass(frozen=True)
class Rate:
    """A success rate over seeds judged with its exact (Clopper–Pearson) interval.

    ``key`` names a measurement holding one outcome per seed (True/1 = success). The rule (the floor)
    decides when the observed rate is at least ``at_least``; when it is below, the claim is ruled out only
    if the interval's upper end is below ``at_least`` too, else the run is ``underpowered``.
    ``covers`` names the rule parts that restate the rate (e.g. ``fraction_seeds_100_percent >= 0.8``).
    """

    key: str
    at_least: float
    confidence: float = 0.95
    covers: tuple[str, ...] = ()
    direction: str = "higher"

    def __post_init__(self):
        if not 0 < self.at_least <= 1:
            raise ValueError(f"rate {self.key!r}: at_least must be in (0, 1], got {self.at_least!r}")
        if not 0.5 <= self.confidence < 1:
            raise ValueError(f"rate {self.key!r}: confidence must be in [0.5, 1), got {self.confidence!r}")

    def keys(self) -> tuple[str, ...]:
        return (self.key, *self.covers)

    def describe(self) -> str:
        return (f"rate of {self.key} over seeds >= {self.at_least:g}; below it the claim is ruled out only when the "
                f"{self.confidence:.0%} Clopper-Pearson interval lies below {self.at_least:g}")

    def values(self, measured: Mapping[str, Any]) -> list[float]:
        raw = _value(measured, self.key)
        values = [float(bool(v)) for v in (raw if isinstance(raw, (list, tuple)) else [raw])]
        return values

    def interval(self, values: Sequence[float]) -> Interval:
        from scipy import stats

        n, k = len(values), int(sum(values))
        if n == 0:
            return Interval(math.nan, 0.0, 1.0, 0)
        ci = stats.binomtest(k, n).proportion_ci(confidence_level=self.confidence, method="exact")
        return Interval(k / n, float(ci.low), float(ci.high), n)

    def decide(self, values: Sequence[float]) -> tuple[str, Interval]:
        interval = self.interval(values)
        if interval.n and interval.mean >= self.at_least:
            return REPRODUCED, interval
        if interval.high < self.at_least:
            return NOT_REPRODUCED, interval
        return UNDERPOWERED, interval

    def seeds_to_decide(self, values: Sequence[float]) -> int | None:
        from scipy import stats

        if not values:
            return None
        p = sum(values) / len(values)
        for n in range(len(values), MAX_SEEDS_SHOWN + 1):
            k = round(p * n)
            if k / n >= self.at_least:
                return None  # at this rate the floor rule holds: more seeds do not rule it out
            if stats.binomtest(k, n).proportion_ci(confidence_level=self.confidence, method="exact").high \
                    < self.at_least:
                return n
        return None


@dataclass(frozen=True)
class Claim:
    """One catalog claim: its ID (``C4.3``), the statement in English, and the rule that judges it.

    ``note`` is printed with the verdict whatever it is: use it for an erratum in the notes or for
    what the reproduction does differently from the catalog (and why). ``preconditions`` and ``effect``
    are declared here, before any run (see the module docstring); ``effect`` may be one effect or a
    tuple of them (a claim with several comparisons: any one ruled out rules the claim out; all beyond
    zero let the rule decide; otherwise underpowered). ``erratum=True`` says that a failure of the rule
    is a slip in the notes (reason ``erratum in the notes``), not a failed experiment.
    """

    id: str
    statement: str
    rule: Rule
    note: str = ""
    preconditions: tuple[Precondition, ...] = ()
    effect: Effect | Rate | tuple[Effect | Rate, ...] | None = None
    erratum: bool = False

    @property
    def effects(self) -> tuple[Effect | Rate, ...]:
        """The declared effects as a tuple (empty when none)."""
        if self.effect is None:
            return ()
        return tuple(self.effect) if isinstance(self.effect, (tuple, list)) else (self.effect,)

    def __post_init__(self):
        if not isinstance(self.rule, Rule):
            raise TypeError(f"claim {self.id}: rule must be a keras_repro.suite.claims.Rule, got {self.rule!r}")
        object.__setattr__(self, "preconditions", tuple(self.preconditions))
        if isinstance(self.effect, list):
            object.__setattr__(self, "effect", tuple(self.effect))
        for effect in self.effects:
            if not isinstance(effect, (Effect, Rate)):
                raise TypeError(f"claim {self.id}: effect must be an Effect or a Rate, got {effect!r}")
        judged = set(self.rule.keys()) | {k for effect in self.effects for k in effect.keys()}
        for pre in self.preconditions:
            if not isinstance(pre, Precondition):
                raise TypeError(f"claim {self.id}: preconditions must be built with requires(), got {pre!r}")
            overlap = judged & set(pre.rule.keys())
            if overlap:  # a precondition is what the claim presupposes, never the claim itself
                raise ValueError(f"claim {self.id}: precondition {pre.text!r} reads {', '.join(sorted(overlap))}, "
                                 "which the claim's rule or effect judges")
        for effect in self.effects:
            foreign = [k for k in effect.covers if k not in self.rule.keys()]
            if foreign:
                raise ValueError(f"claim {self.id}: effect covers {foreign}, which the rule does not read")


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
    if isinstance(value, (list, tuple)):  # per-seed values
        return "[" + ", ".join(_format(v) for v in value) + "]"
    return str(value)


def first_sentence(text: str) -> str:
    """The note's first sentence (what report and SUMMARY.md show)."""
    text = " ".join(str(text).split())
    for i, char in enumerate(text):
        if char in ".!?" and (i + 1 == len(text) or text[i + 1] == " ") and not text[max(0, i - 3):i].endswith(
                ("e.g", "i.e", "vs", "cf")):
            return text[:i + 1]
    return text


def evaluate(claim: Claim, measured: Mapping[str, Any], *, profile: str, inconclusive_reason: str | None = None,
             notes: tuple[str, ...] = (), dry_run: bool = False) -> ClaimResult:
    """The verdict of ``claim`` on ``measured``, decided as the module docstring says."""
    note_parts = [n for n in (claim.note, *notes) if n]
    effect_keys = [k for effect in claim.effects for k in effect.keys()]
    ordered = [*effect_keys, *claim.rule.keys(), *(k for p in claim.preconditions for k in p.rule.keys())]
    shown = {k: measured[k] for k in dict.fromkeys(ordered) if k in measured}
    shown.update({k: v for k, v in measured.items() if k not in shown})
    rule_text = claim.rule.describe()
    if inconclusive_reason is not None:
        return ClaimResult(claim.id, INCONCLUSIVE, "not evaluated", shown, rule_text,
                           " ".join([inconclusive_reason, *note_parts]), DATASET_UNAVAILABLE)
    if dry_run:
        return ClaimResult(claim.id, INCONCLUSIVE, "not evaluated", shown, rule_text,
                           " ".join(["dry run: budgets cut to a few batches, nothing is judged.", *note_parts]),
                           DRY_RUN)
    rule_holds = claim.rule(measured)
    undefined = [k for k in claim.rule.keys() if isinstance(measured.get(k), float) and math.isnan(measured[k])]
    if undefined:
        note_parts.append(f"undefined (NaN) measurement(s) fail the rule: {', '.join(undefined)}.")
    lead: list[str] = []  # the sentence that explains the verdict comes first
    unmet = [p for p in claim.preconditions if not p.rule(measured)]
    if unmet:
        values = "; ".join(f"{k}={_format(measured[k])}" for p in unmet for k in p.rule.keys())
        verdict, reason = INCONCLUSIVE, PRECONDITION_UNMET
        lead.append(f"Precondition unmet: {'; '.join(p.text for p in unmet)} ({values}), so this run could not "
                    "test the claim.")
    else:
        verdict, reason = _judge(claim, measured, rule_holds, shown, lead)
    outcome = REPRODUCED if rule_holds else NOT_REPRODUCED
    if profile == "smoke":
        lead.insert(0, f"smoke profile: too small to judge (the run gives '{verdict}', reason '{reason}').")
        verdict, reason = INCONCLUSIVE, SMOKE_PROFILE
    return ClaimResult(claim.id, verdict, outcome, shown, rule_text, " ".join([*lead, *note_parts]), reason)


def _judge(claim: Claim, measured: Mapping[str, Any], rule_holds: bool, shown: dict[str, Any],
           lead: list[str]) -> tuple[str, str]:
    """The verdict once the preconditions hold: the effects' intervals, then the rule."""
    failed = (NOT_REPRODUCED, ERRATUM if claim.erratum else CLAIM_CONTRADICTED)
    if not claim.effects:
        return (REPRODUCED, CLAIM_HOLDS) if rule_holds else failed
    judged = [_judge_effect(effect, measured, shown) for effect in claim.effects]
    ruled_out = [sentence for decision, sentence, _ in judged if decision == NOT_REPRODUCED]
    if ruled_out:
        lead.extend(ruled_out)
        return failed
    if all(decision == REPRODUCED for decision, _, _ in judged):
        lead.extend(sentence for _, sentence, _ in judged)
        if not rule_holds:
            lead.append("The rule fails.")
        return (REPRODUCED, CLAIM_HOLDS) if rule_holds else failed
    covered = {k for effect in claim.effects for k in effect.keys()}
    others = [r for r in (claim.rule.rules if isinstance(claim.rule, AllOf) else (claim.rule,))
              if not set(r.keys()) & covered]
    weak = [(sentence, more) for decision, sentence, more in judged if decision == UNDERPOWERED]
    if not all([r(measured) for r in others]):
        lead.extend(sentence for sentence, _ in weak)
        lead.append("A part of the rule that no interval covers fails.")
        return failed
    lead.extend(f"Underpowered: {sentence[0].lower()}{sentence[1:-1]}; {more}." for sentence, more in weak)
    lead.extend(sentence for decision, sentence, _ in judged if decision == REPRODUCED)
    return INCONCLUSIVE, UNDERPOWERED


def _judge_effect(effect: Effect | Rate, measured: Mapping[str, Any], shown: dict[str, Any]) -> tuple[str, str, str]:
    """(decision, the sentence that says why, what would decide when underpowered); records the interval."""
    values = effect.values(measured)
    decision, ci = effect.decide(values)
    is_rate = isinstance(effect, Rate)
    shown.update({f"{effect.key}_{'rate' if is_rate else 'mean'}": ci.mean, f"{effect.key}_ci_low": ci.low,
                  f"{effect.key}_ci_high": ci.high, f"{effect.key}_seeds": ci.n})
    span = f"{effect.confidence:.0%} interval of {effect.key} over {ci.n} seed(s): [{ci.low:.4g}, {ci.high:.4g}]"
    target = f"the claimed rate ({effect.at_least:g})" if is_rate else \
        f"the non-inferiority margin ({effect.margin:g})" if isinstance(effect, NoWorse) else \
        f"the smallest effect of interest ({effect.smallest:g})"
    if decision == NOT_REPRODUCED:
        return decision, (f"The {span} lies below {target}." if is_rate else
                          f"The {span} lies entirely beyond {target}: worse than the control." if isinstance(
                              effect, NoWorse) else
                          f"The {span} excludes {target} or lies on the wrong side of zero."), ""
    if decision == REPRODUCED:
        reached = "reaches the rate" if is_rate else f"stays within {target}" if isinstance(effect, NoWorse) \
            else "lies beyond zero in the claimed direction"
        return decision, f"The {span} {reached}.", ""
    needed = effect.seeds_to_decide(values)
    more = (f"about {needed} seeds would decide at this spread" if needed is not None
            else f"more than {MAX_SEEDS_SHOWN} seeds, or a larger budget, would be needed" if ci.n >= 2
            else "at least 2 seeds are needed to measure a spread")
    holds = f"holds {target}" if is_rate else f"reaches beyond {target}" if isinstance(effect, NoWorse) \
        else f"holds both 0 and {target}"
    return decision, f"The {span} {holds}.", more


def unavailable(claim: Claim, message: str) -> ClaimResult:
    """The claim could not be tested: its dataset cannot be had here (``message`` says why)."""
    return ClaimResult(claim.id, INCONCLUSIVE, "not evaluated", {}, claim.rule.describe(),
                       f"dataset unavailable: {message}", DATASET_UNAVAILABLE)
