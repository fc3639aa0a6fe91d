"""The one seam through which reproductions build and train models.

Reproductions build models inside ``runtime.scope()`` and train them with ``runtime.fit(...)``.
Distribution strategies (``tf.distribute`` on TensorFlow, ``keras.distribution`` on JAX) and mixed
precision wrap these two calls, so they can be added here without touching any reproduction.
"""
from __future__ import annotations

import contextlib
import time
from typing import Callable, Iterator

import keras


class ProgressLogger(keras.callbacks.Callback):
    """Reports epoch progress through ``log`` at most every ``every_s`` seconds (and at the end)."""

    def __init__(self, log: Callable[[str], None], label: str = "", every_s: float = 5.0):
        super().__init__()
        self._log, self._label, self._every = log, label, every_s
        self._last = 0.0
        self._epochs = 0

    def on_train_begin(self, logs=None):
        self._epochs = int(self.params.get("epochs") or 0)
        self._last = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        now = time.monotonic()
        if now - self._last >= self._every or epoch + 1 == self._epochs:
            self._last = now
            shown = ", ".join(f"{k} {v:.4g}" for k, v in (logs or {}).items() if isinstance(v, (int, float)))
            prefix = f"{self._label}: " if self._label else ""
            self._log(f"{prefix}epoch {epoch + 1}/{self._epochs} {shown}")


DRY_RUN_STEPS = 2  # training (and validation) batches per epoch of every fit in a dry run


class Runtime:
    """Where models are built and trained (single device for now).

    Compilation: Keras's ``jit_compile="auto"``, which compiles with XLA on JAX always and on
    TensorFlow when a GPU is present (the reproductions never turn it off); ``facts`` records what
    the first trained model resolved it to, for ``run.json``.
    """

    def __init__(self, log: Callable[[str], None] = print, dry_run: bool = False):
        self.log = log
        self.dry_run = dry_run  # every fit: at most DRY_RUN_STEPS batches per epoch (and of validation)
        self.facts: dict[str, object] = {}

    @contextlib.contextmanager
    def scope(self) -> Iterator[None]:
        """Build models (and compile them) inside this scope."""
        yield

    def fit(self, model: keras.Model, *args, label: str = "", progress: bool = True, **kwargs):
        """``model.fit`` with Keras's own output off and throttled progress lines instead."""
        callbacks = list(kwargs.pop("callbacks", None) or [])
        if progress:
            callbacks.append(ProgressLogger(self.log, label))
        kwargs.setdefault("verbose", 0)
        data = args[0] if args else kwargs.get("x")
        if type(data).__module__.startswith("tensorflow"):  # a tf.data pipeline shuffles itself
            kwargs.setdefault("shuffle", False)
        if self.dry_run:  # an explicit steps_per_epoch is a config budget, already cut by DRY_RUN
            batch_size = kwargs.get("batch_size") or 32
            if not kwargs.get("steps_per_epoch") and _batches(data, batch_size) > DRY_RUN_STEPS:
                kwargs["steps_per_epoch"] = DRY_RUN_STEPS
            validation = kwargs.get("validation_data")
            if validation is not None and not kwargs.get("validation_steps") and \
                    _batches(validation[0] if isinstance(validation, tuple) else validation,
                             kwargs.get("validation_batch_size") or batch_size) > DRY_RUN_STEPS:
                kwargs["validation_steps"] = DRY_RUN_STEPS
        history = model.fit(*args, callbacks=callbacks, **kwargs)
        self.facts.setdefault("jit_compile", bool(getattr(model, "jit_compile", False)))
        return history


def _batches(data, batch_size: int) -> float:
    """Batches in one pass over ``data`` (arrays, a tf.data pipeline or a PyDataset); inf if unknown."""
    import math

    if hasattr(data, "cardinality"):
        n = int(data.cardinality())
        return n if n >= 0 else math.inf
    if hasattr(data, "num_batches"):
        n = data.num_batches
        return math.inf if n is None else n
    first = data[0] if isinstance(data, (list, tuple)) else data
    return math.ceil(len(first) / batch_size) if hasattr(first, "__len__") else math.inf


def full_batch_fit(runtime: Runtime, model: keras.Model, x, y, steps: int, *, chunk: int = 100, label: str = "",
                   progress: bool = True, **kwargs):
    """Run ``steps`` full-batch gradient steps (each step sees every example once).

    Keras runs one ``fit`` step per batch and pays Python overhead per step; here the data are tiled
    ``chunk`` times so one epoch is ``chunk`` identical full-batch steps, executed ``chunk`` at a time
    (``steps_per_execution``; one at a time on PyTorch, which allows no more). Must be called before the
    model's first ``fit``.
    """
    import math

    import numpy as np

    if steps < 1:
        raise ValueError(f"steps must be >= 1. Received: steps={steps}")
    chunk = max(1, min(chunk, steps))
    x, y = np.asarray(x), np.asarray(y)
    # PyTorch's trainer runs one step per execution (it refuses more); the tiled epoch still saves the
    # per-epoch overhead there
    model.steps_per_execution = 1 if keras.backend.backend() == "torch" else chunk
    tiled_x, tiled_y = np.concatenate([x] * chunk), np.concatenate([y] * chunk)
    return runtime.fit(model, tiled_x, tiled_y, batch_size=len(x), epochs=math.ceil(steps / chunk), shuffle=False,
                       label=label, progress=progress, **kwargs)
