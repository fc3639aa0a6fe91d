"""The registry of reproductions.

Each module in the ``reproductions`` package registers itself with the :func:`reproduction`
decorator; :func:`discover` imports them all. Tests are parametrised over :func:`all_reproductions`,
so a new reproduction is tested without anyone remembering to add a test.
"""
from __future__ import annotations

import difflib
import importlib
import pkgutil
import warnings
from dataclasses import dataclass
from typing import Callable, Sequence

from keras_repro.suite.claims import Claim
from keras_repro.suite.config import ReproConfig


class UnknownReproduction(LookupError):
    """No reproduction of that name; the message suggests close matches."""


@dataclass(frozen=True)
class Reproduction:
    name: str
    title: str
    claims: tuple[Claim, ...]
    config: type[ReproConfig]
    run: Callable
    module: str
    single_device: bool = False  # steps optimisers by hand: --devices is ignored (one line says so)

    @property
    def claim_ids(self) -> list[str]:
        return [c.id for c in self.claims]

    @property
    def description(self) -> str:
        import sys

        return (sys.modules[self.module].__doc__ or "").strip()


_REGISTRY: dict[str, Reproduction] = {}


def reproduction(name: str, *, title: str, claims: Sequence[Claim], config: type[ReproConfig],
                 single_device: bool = False):
    """Register the decorated ``run(ctx)`` function as the reproduction ``name``.

    ``single_device``: the reproduction steps optimisers by hand (outside ``ctx.fit``), so it always
    runs on one device and ``repro run --devices`` is ignored for it.
    """
    if not claims:
        raise ValueError(f"reproduction {name!r} declares no claims")
    ids = [c.id for c in claims]
    if len(set(ids)) != len(ids):
        raise ValueError(f"reproduction {name!r} declares a claim twice: {ids}")

    def decorate(fn: Callable) -> Callable:
        if name in _REGISTRY and _REGISTRY[name].module != fn.__module__:
            warnings.warn(f"reproduction {name!r} registered again by {fn.__module__} "
                          f"(was {_REGISTRY[name].module}); the later one wins", stacklevel=2)
        _REGISTRY[name] = Reproduction(name, title, tuple(claims), config, fn, fn.__module__, single_device)
        return fn

    return decorate


_BROKEN: dict[str, str] = {}


def discover(package: str = "reproductions") -> None:
    """Import every module of ``package`` so that its reproductions register.

    A module that fails to import is recorded (see :func:`broken_modules`) instead of taking every
    other reproduction down with it; the CLI reports it and the test suite fails on it.
    """
    pkg = importlib.import_module(package)
    for info in pkgutil.iter_modules(pkg.__path__, prefix=f"{package}."):
        if info.name.rsplit(".", 1)[-1].startswith("_") or info.name in _BROKEN:
            continue
        try:
            importlib.import_module(info.name)
        except Exception as exc:  # one broken module must not hide the others
            _BROKEN[info.name] = f"{exc.__class__.__name__}: {exc}"


def broken_modules() -> dict[str, str]:
    """Reproduction modules that failed to import, with their errors."""
    discover()
    return dict(_BROKEN)


def all_reproductions() -> list[Reproduction]:
    discover()
    return sorted(_REGISTRY.values(), key=lambda r: _claim_sort_key(r.claim_ids[0]) + (r.name,))


def get(name: str) -> Reproduction:
    discover()
    if name in _REGISTRY:
        return _REGISTRY[name]
    close = difflib.get_close_matches(name, list(_REGISTRY), n=3, cutoff=0.5)
    close += [n for n in _REGISTRY if name in n and n not in close][: 3 - len(close)]
    hint = f"; did you mean {', '.join(close)}?" if close else "; `repro list` shows them all"
    raise UnknownReproduction(f"no reproduction named {name!r}{hint}")


def _claim_sort_key(claim_id: str) -> tuple:
    parts = []
    for piece in claim_id.lstrip("C").replace("b", ".5").split("."):
        try:
            parts.append(float(piece))
        except ValueError:
            parts.append(0.0)
    return tuple(parts)
