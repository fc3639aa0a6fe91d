"""Typed experiment configs with ``smoke`` / ``default`` / ``full`` profiles and ``--set`` overrides.

A reproduction's config is a dataclass subclassing :class:`ReproConfig`. Field defaults are the
``default`` profile; ``PROFILES`` holds what ``smoke`` and ``full`` change. Every field is declared
with :func:`setting`: its default, what it is (shown by ``repro show``), and the values it accepts::

    @dataclass
    class Config(ReproConfig):
        steps: int = setting(500, "full-batch gradient steps", ge=1)
        learning_rate: float = setting(0.1, "gradient-descent step size", gt=0)
        keep_prob: float = setting(0.5, "probability that a unit is kept", gt=0, le=1)
        widths: tuple[int, ...] = setting((8, 32), "hidden widths compared", ge=1)
        optimizer: Literal["adam", "sgd"] = setting("adam", "adam, or the paper's SGD with momentum 0.9")
        dataset: str = setting("digits", "data source (digits, tfds:NAME, folder:PATH)", check=parse_spec)
        PROFILES = {"smoke": {"steps": 20}, "full": {"steps": 5000}}

        def validate(self):
            if self.lr_low >= self.lr_high:
                raise ConfigError(f"lr_low must be below lr_high. Received: {self.lr_low}, {self.lr_high}")

A config checks itself when it is built (``__post_init__``), from ``--set`` and from Python alike,
so a bad value fails with one line before any run folder or model exists:

1. the type: ``int``, ``float`` (ints widen), ``bool``, ``str``, ``X | None``, ``tuple[X, ...]``, and
   ``Literal[...]`` for choices (the error lists them);
2. every float is finite (no nan or inf) and every tuple has at least one item;
3. the bounds declared with the field: ``ge``, ``gt``, ``le``, ``lt`` (>=, >, <=, <), applied to
   each item of a tuple;
4. ``check``: a function of the value (of each item of a tuple) that raises ``ValueError`` for a
   bad one, e.g. ``parse_spec`` for a data source or ``keras.activations.get`` for an activation;
5. :meth:`ReproConfig.validate`: the checks across fields (depths that fit together, a rate grid
   with low <= high, a split the data can give, ...). It raises :class:`ConfigError` or calls a
   library check that raises ``ValueError``. Subclasses override ``validate``, never ``__post_init__``.

``make_config(Config, "smoke", {"steps": "7"})`` builds a config; override strings are parsed by
the field's type, and an unknown key or a malformed value raises :class:`ConfigError` naming the
valid keys, the expected type or the accepted values. The run's seed is checked here too
(:func:`check_seed`).
"""
from __future__ import annotations

import dataclasses
import functools
import math
import operator
import types
import typing
from typing import Any, Callable, ClassVar, Literal, Mapping

PROFILES = ("smoke", "default", "full")
SEED_MAX = 2**32 - 1  # NumPy's and Keras's seeds are unsigned 32-bit integers

_BOUNDS = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}


class ConfigError(ValueError):
    """A profile, key or value in a config override is invalid."""


def setting(default: Any, help: str, *, ge: float | None = None, gt: float | None = None,
            le: float | None = None, lt: float | None = None,
            check: Callable[[Any], Any] | None = None) -> Any:
    """A config field: its ``default``, a one-line ``help``, and the values it accepts.

    ``ge``/``gt``/``le``/``lt`` bound a number; ``check`` is called with the value and raises
    ``ValueError`` when it is not acceptable. On a tuple field both apply to each item.
    """
    bounds = {name: value for name, value in (("ge", ge), ("gt", gt), ("le", le), ("lt", lt)) if value is not None}
    return dataclasses.field(default=default, metadata={"help": help, "bounds": bounds, "check": check})


@dataclasses.dataclass
class ReproConfig:
    """Base class of reproduction configs (no fields of its own); checks every field when built."""

    PROFILES: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    # ``--dry-run`` (applied after the profile): budgets only -- seeds, steps, samples, grid sizes, batch
    # sizes of CPU-heavy models -- never a model's architecture, input shape or the dataset.
    DRY_RUN: ClassVar[Mapping[str, Any]] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__post_init__" in cls.__dict__:
            raise TypeError(f"{cls.__qualname__}: put cross-field checks in validate(), not __post_init__ "
                            "(the base class's __post_init__ checks the fields first)")

    def __post_init__(self):
        types_ = field_types(type(self))
        for f in dataclasses.fields(self):
            value = _check_type(getattr(self, f.name), types_[f.name], f.name)
            _check_value(value, f)
            setattr(self, f.name, value)
        try:
            self.validate()
        except ValueError as exc:  # library checks called from validate() raise ValueError: one line too
            raise ConfigError(str(exc)) from None

    def validate(self) -> None:
        """Checks across fields; raise :class:`ConfigError` (one line naming the fields) when they fail."""

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


@functools.cache
def field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


@dataclasses.dataclass(frozen=True)
class FieldInfo:
    """What ``repro show`` prints about a field."""

    name: str
    type: str
    default: Any
    help: str
    accepts: str  # the declared bounds as text ("" when none)
    choices: tuple = ()


def describe_fields(cls: type) -> list[FieldInfo]:
    """Every field of ``cls`` with its type, default, help and accepted values (``repro show``, tests)."""
    types_ = field_types(cls)
    out = []
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        out.append(FieldInfo(f.name, _type_name(types_[f.name]), default, f.metadata.get("help", ""),
                             bounds_text(f.metadata.get("bounds", {})), choices(types_[f.name])))
    return out


def choices(tp: Any) -> tuple:
    """The values of a ``Literal[...]`` (or ``tuple[Literal[...], ...]``) type; ``()`` for other types."""
    if typing.get_origin(tp) is tuple:
        tp = typing.get_args(tp)[0]
    return typing.get_args(tp) if typing.get_origin(tp) is Literal else ()


def bounds_text(bounds: Mapping[str, float]) -> str:
    """``{"gt": 0, "le": 1}`` → ``"in (0, 1]"``; ``{"ge": 1}`` → ``">= 1"``."""
    low = [(k, v) for k, v in bounds.items() if k in ("ge", "gt")]
    high = [(k, v) for k, v in bounds.items() if k in ("le", "lt")]
    if low and high:
        (lk, lv), (hk, hv) = low[0], high[0]
        return f"in {'[' if lk == 'ge' else '('}{lv:g}, {hv:g}{']' if hk == 'le' else ')'}"
    return " and ".join(f"{_BOUNDS[k]} {v:g}" for k, v in bounds.items())


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is tuple:
        return f"tuple[{_type_name(typing.get_args(tp)[0])}, ...]"
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in typing.get_args(tp))
    if origin is Literal:
        return " | ".join(repr(a) for a in typing.get_args(tp))
    if tp is type(None):
        return "None"
    return getattr(tp, "__name__", str(tp))


def _choices_text(tp: Any) -> str:
    return ", ".join(repr(a) for a in typing.get_args(tp))


def parse_value(text: str, tp: Any, key: str) -> Any:
    """Parse the string ``text`` as type ``tp`` (int, float, bool, str, Literal, tuple[X, ...], X | None)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if type(None) in args and text.strip().lower() in ("none", "null", ""):
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return parse_value(text, arg, key)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{key}: cannot parse {text!r}")
    if origin is tuple:
        (item_type, *_rest) = typing.get_args(tp)
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if not parts:
            raise ConfigError(f"{key}: expected a comma-separated list of {_type_name(item_type)}, got {text!r}")
        return tuple(parse_value(p, item_type, key) for p in parts)
    if origin is Literal:
        for choice in typing.get_args(tp):
            if str(choice) == text.strip():
                return choice
        raise ConfigError(f"{key}: expected one of {_choices_text(tp)}; got {text.strip()!r}")
    if tp is bool:
        lowered = text.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{key}: expected true/false, got {text!r}")
    if tp in (int, float):
        try:
            return tp(text)
        except ValueError:
            raise ConfigError(f"{key}: expected {tp.__name__}, got {text!r}") from None
    if tp is str:
        return text
    raise ConfigError(f"{key}: fields of type {_type_name(tp)} cannot be set from the command line")


def _check_type(value: Any, tp: Any, key: str) -> Any:
    """Validate a Python value (from PROFILES or code) against the field type; ints widen to floats."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            try:
                return _check_type(value, arg, key)
            except ConfigError:
                continue
        raise ConfigError(f"{key}: {value!r} is not a {_type_name(tp)}")
    if tp is type(None):
        if value is None:
            return None
        raise ConfigError(f"{key}: expected None")
    if origin is tuple:
        (item_type, *_rest) = typing.get_args(tp)
        if not isinstance(value, (tuple, list)):
            raise ConfigError(f"{key}: expected a sequence, got {value!r}")
        return tuple(_check_type(v, item_type, key) for v in value)
    if origin is Literal:
        if any(value == c and type(value) is type(c) for c in typing.get_args(tp)):
            return value
        raise ConfigError(f"{key}: expected one of {_choices_text(tp)}; got {value!r}")
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp in (int, float, str, bool) and (type(value) is not tp):
        raise ConfigError(f"{key}: expected {tp.__name__}, got {value!r}")
    return value


def _check_value(value: Any, f: dataclasses.Field) -> None:
    """Finite floats, non-empty tuples, and the field's bounds and ``check`` (on each item of a tuple)."""
    if isinstance(value, tuple) and not value:
        raise ConfigError(f"{f.name}: expected at least one value")
    items = [v for v in (value if isinstance(value, tuple) else (value,)) if v is not None]
    where = f" (in {value!r})" if isinstance(value, tuple) else ""
    bounds, check = f.metadata.get("bounds", {}), f.metadata.get("check")
    for item in items:
        if isinstance(item, float) and not math.isfinite(item):
            raise ConfigError(f"{f.name}: expected a finite number, got {item!r}{where}")
        if not all(_COMPARE[name](item, limit) for name, limit in bounds.items()):
            raise ConfigError(f"{f.name}: expected {'values' if where else 'a value'} {bounds_text(bounds)}, "
                              f"got {item!r}{where}")
        if check is not None:
            try:
                check(item)
            except ValueError as exc:
                raise ConfigError(f"{f.name}: {exc}") from None


_COMPARE = {"ge": operator.ge, "gt": operator.gt, "le": operator.le, "lt": operator.lt}


def check_seed(seed: Any) -> int:
    """The run's base seed: an integer in 0 … 2**32 − 1 (what NumPy and Keras accept)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= SEED_MAX:
        raise ConfigError(f"seed: expected an integer in 0 … {SEED_MAX}, got {seed!r}")
    return seed


def make_config(cls: type[ReproConfig], profile: str = "default", overrides: Mapping[str, Any] | None = None,
                dry_run: bool = False) -> ReproConfig:
    """Build ``cls`` for ``profile`` and apply ``overrides`` (strings are parsed, other values type-checked).

    ``dry_run``: after the profile, apply the config's ``DRY_RUN`` budget cuts (see :class:`ReproConfig`).
    """
    if profile not in PROFILES:
        raise ConfigError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    types_ = field_types(cls)
    values: dict[str, Any] = {}
    layers = [(f"profile {profile}", cls.PROFILES.get(profile, {}))]
    if dry_run:
        layers.append(("DRY_RUN", cls.DRY_RUN))
    for source, mapping in (*layers, ("--set", overrides or {})):
        for key, value in mapping.items():
            if key not in types_:
                valid = ", ".join(sorted(types_)) or "(none)"
                raise ConfigError(f"unknown config key {key!r} ({source}); valid keys: {valid}")
            values[key] = parse_value(value, types_[key], key) if isinstance(value, str) and types_[key] is not str \
                else value
    return cls(**values)


def parse_overrides(pairs: typing.Iterable[str]) -> dict[str, str]:
    """``["a=1", "b=x,y"]`` → ``{"a": "1", "b": "x,y"}``; a pair without ``=`` is an error."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects key=value, got {pair!r}")
        out[key.strip()] = value.strip()
    return out
