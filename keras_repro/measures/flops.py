"""Multiply-adds of a model's convolutions and dense layers (the usual "FLOPs" of CNN papers).

A ``Conv2D`` producing an ``H × W × C_out`` map with ``k_h × k_w`` kernels over ``C_in`` channels in
``g`` groups costs ``H·W·k_h·k_w·(C_in/g)·C_out`` multiply-adds; a ``Dense`` layer ``in × out`` per
position. Biases, activations, pooling and normalisation are left out, as in the papers' counts.
The model needs a fixed input size.

Networks built only to be counted are built under :func:`shapes_only`: their weights get shapes and no
values, so a 138M-parameter VGG-16 costs no memory and no initialisation (seconds on TensorFlow, a minute
of compiling each initializer's shape on JAX).
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Iterator

import keras


def layer_multiply_adds(layer) -> int:
    """Multiply-adds of one layer per example (0 for layers without a kernel)."""
    if isinstance(layer, keras.layers.Conv2D):
        out_h, out_w = layer.output.shape[1:3]
        if out_h is None or out_w is None:
            raise ValueError(f"{layer.name}: multiply-adds need a fixed input size (got {layer.output.shape})")
        return int(out_h * out_w * math.prod(layer.kernel.shape))  # kernel: (k_h, k_w, C_in/g, C_out)
    if isinstance(layer, keras.layers.Dense):
        positions = math.prod(layer.output.shape[1:-1]) if len(layer.output.shape) > 2 else 1
        return int(positions * math.prod(layer.kernel.shape))
    return 0


def multiply_adds(model: keras.Model) -> dict[str, int]:
    """``{layer name: multiply-adds per example}`` for the layers that have any, in model order."""
    counts = {layer.name: layer_multiply_adds(layer) for layer in model.layers}
    return {name: n for name, n in counts.items() if n}


@contextmanager
def shapes_only() -> Iterator[None]:
    """Build models whose weights are never read (to count parameters or multiply-adds): every weight
    created inside gets its shape and dtype but no value (Keras's deferred initialisation of variables made
    in a ``keras.StatelessScope``), and is dropped from Keras's list of variables to initialise on leaving,
    so nothing initialises them later. Such a model is for counting only: it holds no weights to read
    (Keras answers a read with a fresh draw of the initializer, kept nowhere).

    Unlike ``keras.backend.clear_session()``, which the counting code used to free the memory, this
    leaves Keras's global state alone: the run's dtype policy and distribution, and layer-name counters.
    """
    from keras.src.backend.common import global_state  # the deferred variables' list has no public API

    before = list(global_state.get_global_attribute("uninitialized_variables", None) or [])
    try:
        with keras.StatelessScope(initialize_variables=False):
            yield
    finally:
        global_state.set_global_attribute("uninitialized_variables", before)
