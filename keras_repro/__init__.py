"""keras-repro: the classic claims of deep learning, reproduced with Keras 3.

``import keras_repro`` is cheap and backend-neutral: it imports neither Keras nor a backend, so a
program (or the ``repro`` CLI) can still choose ``KERAS_BACKEND`` afterwards. Every custom Keras
object (activations, layers, optimisers, losses, model blocks) is registered under
``package="keras_repro"`` as soon as Keras is imported — before or after ``keras_repro``, in either
order — so a ``.keras`` file saved by a reproduction loads in any program with
``keras.saving.load_model(path, safe_mode=True)`` after ``import keras_repro``.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

__version__ = "0.1.0"

# Modules whose import registers custom objects with Keras (each imports keras itself).
_REGISTERING = ("activations", "layers", "losses", "models", "optimizers")
_registered = False


def _register() -> None:
    """Import the modules that register custom objects (Keras is imported by then)."""
    global _registered
    if _registered:
        return
    _registered = True
    for name in _REGISTERING:
        importlib.import_module(f"{__name__}.{name}")


def _registering_module_in_progress() -> bool:
    """Whether one of the registering modules (or a module inside them) is part-way through its import."""
    return any(".".join(name.split(".")[:2]) in {f"{__name__}.{n}" for n in _REGISTERING}
               and getattr(getattr(module, "__spec__", None), "_initializing", False)
               for name, module in list(sys.modules.items()))


def _register_when_keras_is_imported() -> None:
    """Called when Keras's first import ends. If that import came from one of the registering modules (say
    ``from keras_repro.layers import DropConnect`` first thing in a program), importing all of them now
    would meet that module half-initialised (``keras_repro.models`` imports ``GroupedConv2D`` from it); each
    registering module ends by calling :func:`_register` (Keras is imported by then), so the first of them
    to finish registers all."""
    if not _registering_module_in_progress():
        _register()


class _RegisterAfterKeras(importlib.abc.MetaPathFinder):
    """Runs :func:`_register` right after the first ``import keras`` finishes, whoever imports it."""

    def find_spec(self, fullname, path, target=None):
        if fullname != "keras":
            return None
        sys.meta_path.remove(self)  # one shot; also keeps the lookup below from finding us again
        spec = importlib.util.find_spec("keras")
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_then_register(module):
            exec_module(module)
            sys.modules[fullname] = module  # importlib sets it only after exec_module returns
            _register_when_keras_is_imported()

        spec.loader.exec_module = exec_then_register
        return spec


if "keras" in sys.modules:
    _register()
elif not any(isinstance(f, _RegisterAfterKeras) for f in sys.meta_path):
    sys.meta_path.insert(0, _RegisterAfterKeras())


def run(name: str, **kwargs):
    """Run a reproduction from Python and get its verdicts and tables as pandas objects, e.g.
    ``keras_repro.run("xor", profile="smoke", seed=0).verdicts``; see :func:`keras_repro.api.run`."""
    from keras_repro.api import run as _run

    return _run(name, **kwargs)


def __getattr__(name: str):
    """``keras_repro.models`` and the like without importing them up front (PEP 562)."""
    if name.startswith("_"):
        raise AttributeError(name)
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"{__name__}.{name}":
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
        raise
