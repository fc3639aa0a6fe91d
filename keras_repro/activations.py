"""Activations from the notes that Keras does not ship.

Registered with ``package="keras_repro"``, so models using them round-trip through ``.keras`` files
with ``safe_mode=True`` (no ``Lambda`` layers).
"""
import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_repro")
def heaviside(x):
    """The notes' step activation: ``f(z) = 1 if z > 0 else 0``.

    Its gradient is zero almost everywhere, so networks that use it are wired by hand or get their
    weights from a smooth surrogate (a sigmoid) trained first.
    """
    return ops.cast(ops.greater(x, 0), x.dtype)


import keras_repro as _package  # noqa: E402

_package._register()  # every registering module, if Keras's first import came from this one
