"""The registry of reproductions.

Each module in the ``reproductions`` package registers itself with the :func:`reproduction`
decorator; :func:`discover` imports them all. Tests are parametrised over :func:`all_reproductions`,
so a new reproduction is tested without anyone remembering to add a test.

Metadata without Keras: ``list``, ``show`` and ``report`` need each reproduction's title, claims (with
their rules) and config, not its code, and importing a reproduction imports Keras and a backend
(seconds). ``all_reproductions(metadata_only=True)`` / ``get(name, metadata_only=True)`` read a module
not imported yet by executing its top-level statements one by one in a fresh namespace (never entered
in ``sys.modules``): imports of the standard library, NumPy, the suite's declarative modules
(``claims``, ``config``, ``registry``) and ``keras_repro.data`` (TensorFlow only inside functions) run; every other import binds a placeholder that refuses any
use. Function bodies are only defined, never run. A statement that touches a placeholder fails, and
so does the module's metadata if it needed it: the module is then imported for real (slow, but
never wrong), as it is when anything in the metadata (a config default, a rule's text) cannot be
read. The same claim and rule objects are built either way, so what ``show`` prints is what ``run``
applies; a test checks that both ways agree for every reproduction.
"""
from __future__ import annotations

import ast
import dataclasses
import difflib
import importlib
import pkgutil
import sys
import types
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

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
    timed: bool = False  # measures wall-clock time: under --jobs it runs with no other run beside it
    doc: str | None = None  # the module's docstring when read without importing it (metadata_only)

    @property
    def claim_ids(self) -> list[str]:
        return [c.id for c in self.claims]

    @property
    def description(self) -> str:
        if self.doc is not None:
            return self.doc.strip()
        module = sys.modules.get(self.module)
        return ((module.__doc__ if module else "") or "").strip()

    @property
    def metadata_only(self) -> bool:
        """Read without importing its module: the claims and config are real, ``run`` is not."""
        return self.doc is not None


_REGISTRY: dict[str, Reproduction] = {}


def reproduction(name: str, *, title: str, claims: Sequence[Claim], config: type[ReproConfig],
                 single_device: bool = False, timed: bool = False):
    """Register the decorated ``run(ctx)`` function as the reproduction ``name``.

    ``single_device``: the reproduction steps optimisers by hand (outside ``ctx.fit``), so it always
    runs on one device and ``repro run --devices`` is ignored for it. ``timed``: a measure is wall-clock
    time, which another run on the same machine would inflate, so ``repro run --jobs`` runs it alone.
    """
    if not claims:
        raise ValueError(f"reproduction {name!r} declares no claims")
    ids = [c.id for c in claims]
    if len(set(ids)) != len(ids):
        raise ValueError(f"reproduction {name!r} declares a claim twice: {ids}")

    def decorate(fn: Callable) -> Callable:
        if _CAPTURE is not None:  # reading metadata (see the module docstring): recorded, not registered
            _CAPTURE.append(Reproduction(name, title, tuple(claims), config, _not_imported, fn.__module__,
                                         single_device, timed, doc=""))
            return fn
        if name in _REGISTRY and _REGISTRY[name].module != fn.__module__:
            warnings.warn(f"reproduction {name!r} registered again by {fn.__module__} "
                          f"(was {_REGISTRY[name].module}); the later one wins", stacklevel=2)
        _REGISTRY[name] = Reproduction(name, title, tuple(claims), config, fn, fn.__module__, single_device, timed)
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


def all_reproductions(metadata_only: bool = False) -> list[Reproduction]:
    """Every reproduction, in claim order. ``metadata_only``: without importing modules not imported yet
    (see the module docstring); their ``run`` cannot be called."""
    found = described() if metadata_only else (discover() or _REGISTRY)
    return sorted(found.values(), key=lambda r: _claim_sort_key(r.claim_ids[0]) + (r.name,))


def get(name: str, metadata_only: bool = False) -> Reproduction:
    found = described() if metadata_only else (discover() or _REGISTRY)
    if name in found:
        return found[name]
    close = difflib.get_close_matches(name, list(found), n=3, cutoff=0.5)
    close += [n for n in found if name in n and n not in close][: 3 - len(close)]
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


# -- metadata without importing (see the module docstring) ----------------------------------------

_CAPTURE: list[Reproduction] | None = None
_METADATA_PREFIX = "_repro_metadata."
_DESCRIBED: dict[str, list[Reproduction]] = {}  # module name -> what reading it found
_CHEAP_PACKAGES = {"__future__", "numpy"}
_CHEAP_MODULES = {"keras_repro.suite.claims", "keras_repro.suite.config", "keras_repro.suite.registry",
                  "keras_repro.suite.text", "keras_repro.data", "keras_repro.data.embedded"}  # TensorFlow: lazily


def _not_imported(*args, **kwargs):
    raise RuntimeError("this reproduction was read for its metadata only; use get(name) to run it")


class MetadataUnavailable(Exception):
    """A module's metadata needs something that reading without importing does not provide."""


class _Placeholder:
    """Stands for a name whose import was skipped: an attribute of it is another placeholder (a reference
    such as ``check=keras.activations.get`` may be stored), any use raises :class:`MetadataUnavailable`."""

    __slots__ = ("_name",)

    def __init__(self, name: str):
        object.__setattr__(self, "_name", name)

    def __getattr__(self, attr: str) -> "_Placeholder":
        if attr.startswith("__"):  # protocols (copy, pickle, ...) are uses, not references
            self._refuse()
        return _Placeholder(f"{object.__getattribute__(self, '_name')}.{attr}")

    def _refuse(self, *args, **kwargs):
        raise MetadataUnavailable(f"{object.__getattribute__(self, '_name')} is not imported when reading metadata")

    __setattr__ = __call__ = __getitem__ = __iter__ = __len__ = __contains__ = _refuse
    __bool__ = __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __hash__ = _refuse
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _refuse
    __pow__ = __rpow__ = __neg__ = __float__ = __int__ = __index__ = __mro_entries__ = _refuse
    __str__ = __repr__ = __format__ = _refuse


def _cheap(module: str) -> bool:
    top = module.split(".")[0]
    return (module in sys.modules or module in _CHEAP_MODULES or top in _CHEAP_PACKAGES
            or top in sys.stdlib_module_names)


def _bound_names(stmt: ast.stmt) -> list[str]:
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [stmt.name]
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return [(a.asname or a.name).split(".")[0] for a in stmt.names]
    targets = stmt.targets if isinstance(stmt, ast.Assign) else [getattr(stmt, "target", None)]
    return [n.id for t in targets if t is not None for n in ast.walk(t) if isinstance(n, ast.Name)]


def _read_module(name: str, path: Path) -> list[Reproduction]:
    """The reproductions module ``name`` declares, read without importing it (raises when it cannot be)."""
    global _CAPTURE
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, str(path))
    # a module of its own name outside the real one's, so a later real import is untouched; entered in
    # sys.modules so that the config's type hints resolve (typing.get_type_hints reads the module)
    module = types.ModuleType(f"{_METADATA_PREFIX}{name}", ast.get_docstring(tree, clean=False))
    namespace = module.__dict__
    namespace.update(__file__=str(path), __package__=name.rpartition(".")[0])
    sys.modules[module.__name__] = module
    captured: list[Reproduction] = []
    previous, _CAPTURE = _CAPTURE, captured
    try:
        for stmt in tree.body:
            if isinstance(stmt, ast.Import):
                cheap = all(_cheap(a.name) for a in stmt.names)
            elif isinstance(stmt, ast.ImportFrom):
                cheap = stmt.level == 0 and _cheap(stmt.module or "")
            else:
                cheap = True
            binds = isinstance(stmt, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef,
                                      ast.ClassDef, ast.Assign, ast.AnnAssign))
            if not cheap:
                for bound in _bound_names(stmt):
                    namespace[bound] = _Placeholder(bound)
                continue
            try:
                exec(compile(ast.Module([stmt], type_ignores=[]), str(path), "exec"), namespace)
            except Exception:
                if not binds:  # e.g. a call at module level: its effect cannot be left out
                    raise
                for bound in _bound_names(stmt):
                    namespace[bound] = _Placeholder(bound)
    finally:
        _CAPTURE = previous
    if not captured:
        raise MetadataUnavailable(f"{name} registers no reproduction when read without importing")
    repros = [dataclasses.replace(r, module=name, doc=module.__doc__ or "") for r in captured]
    for repro in repros:
        _check_readable(repro)
    return repros


def _check_readable(repro: Reproduction) -> None:
    """Everything ``show`` prints from ``repro`` can be read (no placeholder hides in it)."""
    from keras_repro.suite import config as config_mod

    def walk(value: Any, depth: int = 0) -> None:
        if isinstance(value, _Placeholder):
            raise MetadataUnavailable("a placeholder in the metadata")
        if depth < 4 and isinstance(value, (list, tuple, set, frozenset)):
            for item in value:
                walk(item, depth + 1)
        elif depth < 4 and isinstance(value, dict):
            for key, item in value.items():
                walk(key, depth + 1)
                walk(item, depth + 1)

    for claim in repro.claims:
        claim.rule.describe()
        for part in (*claim.preconditions, *claim.effects):
            part.describe()
        walk(vars(claim) if hasattr(claim, "__dict__") else ())
    for field in config_mod.describe_fields(repro.config):
        walk(field.default)
        repr(field.default)
    walk(getattr(repro.config, "PROFILES", {}))
    for name in ("DRY_RUN",):
        walk(getattr(repro.config, name, None))


def described(package: str = "reproductions") -> dict[str, Reproduction]:
    """Every reproduction by name: those already imported as they are, the others read without importing
    their modules where that works (else imported; see the module docstring)."""
    found: dict[str, Reproduction] = {}
    pkg = importlib.import_module(package)
    for info in pkgutil.iter_modules(pkg.__path__, prefix=f"{package}."):
        if info.name.rsplit(".", 1)[-1].startswith("_") or info.name in _BROKEN or info.name in sys.modules:
            continue
        if info.name not in _DESCRIBED:
            path = Path(info.module_finder.path) / f"{info.name.rsplit('.', 1)[-1]}.py"
            try:
                _DESCRIBED[info.name] = _read_module(info.name, path)
            except Exception:  # cannot be read without importing it: import it
                try:
                    importlib.import_module(info.name)
                except Exception as exc:
                    _BROKEN[info.name] = f"{exc.__class__.__name__}: {exc}"
                continue
        for repro in _DESCRIBED[info.name]:
            found.setdefault(repro.name, repro)
    for name, repro in _REGISTRY.items():  # imported for real: these win
        found[name] = repro
    return found


def broken_modules_known() -> dict[str, str]:
    """Reproduction modules that failed to import so far (without importing anything more)."""
    return dict(_BROKEN)
