"""Typed experiment configs with ``smoke`` / ``default`` / ``full`` profiles and ``--set`` overrides.

A reproduction's config is a dataclass subclassing :class:`ReproConfig`. Field defaults are the
``default`` profile; ``PROFILES`` holds what ``smoke`` and ``full`` change::

    @dataclass
    class Config(ReproConfig):
        steps: int = 500
        learning_rates: tuple[float, ...] = (0.01, 0.1)
        PROFILES = {"smoke": {"steps": 20}, "full": {"steps": 5000}}

``make_config(Config, "smoke", {"steps": "7"})`` builds it; override strings are parsed by the
field's type, and an unknown key or a malformed value raises :class:`ConfigError` naming the valid
keys or the expected type.
"""
from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, ClassVar, Mapping

PROFILES = ("smoke", "default", "full")


class ConfigError(ValueError):
    """A profile, key or value in a config override is invalid."""


@dataclasses.dataclass
class ReproConfig:
    """Base class of reproduction configs (no fields of its own)."""

    PROFILES: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    # ``--dry-run`` (applied after the profile): budgets only -- seeds, steps, samples, grid sizes, batch
    # sizes of CPU-heavy models -- never a model's architecture, input shape or the dataset.
    DRY_RUN: ClassVar[Mapping[str, Any]] = {}

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


def field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def describe_fields(cls: type) -> list[tuple[str, str, Any]]:
    """(name, type text, default) for every field, for ``repro show`` and error messages."""
    types_ = field_types(cls)
    out = []
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        out.append((f.name, _type_name(types_[f.name]), default))
    return out


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is tuple:
        return f"tuple[{_type_name(typing.get_args(tp)[0])}, ...]"
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in typing.get_args(tp))
    if tp is type(None):
        return "None"
    return getattr(tp, "__name__", str(tp))


def parse_value(text: str, tp: Any, key: str) -> Any:
    """Parse the string ``text`` as type ``tp`` (int, float, bool, str, tuple[X, ...], X | None)."""
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
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp in (int, float, str, bool) and (type(value) is not tp):
        raise ConfigError(f"{key}: expected {tp.__name__}, got {value!r}")
    return value


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
                else _check_type(value, types_[key], key)
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
