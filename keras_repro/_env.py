"""Process environment that must be settled before Keras is imported.

Keras fixes its backend when it is first imported, and TensorFlow prints a lot at import. Both are
settled here, and this module imports neither, so the CLI can call :func:`select_backend` first.
"""
from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
from typing import Iterator

BACKENDS = ("tensorflow", "jax", "torch")

_BACKEND_MODULES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}


class BackendError(RuntimeError):
    """The requested Keras backend cannot be used in this process."""


def quiet_tensorflow() -> None:
    """Silence TensorFlow's C++ and oneDNN start-up chatter unless the user asked for it."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "2")


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the duration (TensorFlow's C++ start-up lines).

    TensorFlow 2.21 writes oneDNN/CUDA notices from C++ before logging is configured, so
    ``TF_CPP_MIN_LOG_LEVEL`` cannot hide them. Python exceptions still propagate (and print after).
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (e.g. captured streams): nothing to silence
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


_ABSL_LINE = re.compile(rb"^(?:[IWE]\d{4} |WARNING: All log messages before absl)")


def filter_native_stderr() -> None:
    """For the CLI: drop TensorFlow's native log lines (absl format) for the rest of the process.

    Python keeps writing to the real stderr (``sys.stderr`` is re-opened on a duplicate of it); file
    descriptor 2, where C++ code writes, becomes a pipe whose lines are forwarded unless they look like
    ``E0000 00:00:... file.cc:123] ...``. ``REPRO_NATIVE_LOGS=1`` turns the filter off.
    """
    if os.environ.get("REPRO_NATIVE_LOGS") == "1":
        return
    try:
        sys.stderr.flush()
        real = os.dup(2)
    except (OSError, ValueError):
        return
    sys.stderr = os.fdopen(os.dup(real), "w", buffering=1, encoding="utf-8", errors="replace")
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)

    def pump():
        with os.fdopen(read_end, "rb") as pipe:
            for line in pipe:
                if not _ABSL_LINE.match(line):
                    os.write(real, line)

    threading.Thread(target=pump, name="native-stderr-filter", daemon=True).start()


def import_keras_quietly():
    """Import keras (and its backend) with the native start-up chatter hidden; return the module."""
    quiet_tensorflow()
    if "keras" in sys.modules:
        return sys.modules["keras"]
    with native_stderr_silenced():
        import keras

        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            tf.config.list_physical_devices()  # device probing prints too; do it now, silenced
    return keras


def backend_name(name: str | None) -> str:
    """The backend a run asks for: ``name``, else ``$KERAS_BACKEND``, else TensorFlow (Keras's default).

    Judged from the name alone, so the CLI can refuse options that do not combine with it before it looks
    at what is installed. Raises :class:`BackendError` for a name Keras does not know.
    """
    if name is None:
        name = os.environ.get("KERAS_BACKEND", "tensorflow")
    if name not in BACKENDS:
        raise BackendError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    return name


def select_backend(name: str | None) -> str:
    """Make ``name`` the Keras backend of this process; return the backend in force.

    Must run before ``import keras``. ``None`` keeps ``$KERAS_BACKEND`` (or Keras's default,
    TensorFlow). Raises :class:`BackendError` with one clear sentence when the backend's package is
    not installed or Keras was already imported with another backend.
    """
    quiet_tensorflow()
    name = backend_name(name)
    if "keras" in sys.modules:
        import keras  # already imported: only check that it agrees

        current = keras.backend.backend()
        if current != name:
            raise BackendError(
                f"Keras is already running on {current!r} in this process; "
                f"start a new process with KERAS_BACKEND={name} to use {name!r}"
            )
        return name
    import importlib.util

    try:
        spec = importlib.util.find_spec(_BACKEND_MODULES[name])
    except (ImportError, ValueError):  # a broken or blocked installation counts as absent
        spec = None
    if spec is None:
        hint = {"jax": "pip install 'jax[cpu]'", "torch": "pip install torch"}.get(name, "pip install tensorflow")
        raise BackendError(f"backend {name!r} is not installed ({hint})")
    os.environ["KERAS_BACKEND"] = name
    return name


def accelerator_present() -> bool:
    """Whether the backend Keras runs on sees a GPU or TPU (call after Keras is imported)."""
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return jax.default_backend() != "cpu"
    if backend == "tensorflow":
        import tensorflow as tf

        return bool(tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("TPU"))
    if backend == "torch":
        import torch

        return bool(torch.cuda.is_available())
    return False


def prepare_devices(backend: str, devices: int | str | None) -> None:
    """Before Keras is imported: let ``devices`` simulated CPU devices exist for a data-parallel run.

    JAX: ``--xla_force_host_platform_device_count`` in ``XLA_FLAGS`` (read when JAX starts; affects only
    its CPU platform, so harmless where GPUs exist). TensorFlow: see :func:`split_tensorflow_cpu`, called
    right after Keras is imported. ``"all"`` and 1 simulate nothing.
    """
    if backend != "jax" or devices in (None, "all"):
        return
    n = int(devices)
    if n > 1 and "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                                   f" --xla_force_host_platform_device_count={n}").strip()


def split_tensorflow_cpu(devices: int | str | None) -> None:
    """After ``import keras`` on TensorFlow, before any op runs: ``devices`` logical CPU devices if no GPU exists."""
    if devices in (None, "all") or int(devices) < 2:
        return
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        return
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * int(devices))
    except RuntimeError:  # the TensorFlow runtime already started in this process: keep what it has
        pass
