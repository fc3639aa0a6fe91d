"""Small fully connected builders used by sections 1 and 2 of the notes."""
from __future__ import annotations

from typing import Callable, Sequence

import keras


def mlp(input_dim: int, hidden: Sequence[int], outputs: int = 1, *, activation="relu", output_activation=None,
        kernel_initializer="glorot_uniform", kernel_regularizer=None, dropout: float | Callable | None = None,
        input_dropout: float | Callable | None = None, drop_connect: float | None = None,
        name: str = "mlp") -> keras.Model:
    """``input → Dense(h) for h in hidden → Dense(outputs)`` with deterministic layer names.

    The layers are ``{name}_input``, ``{name}_dense{i}``, ``{name}_dropout{i}`` and ``{name}_out``,
    created in that order (so one seed gives one set of initial weights).

    Args:
        activation: of every hidden layer (``"linear"`` gives the deep linear network of C1.7).
        output_activation: of the output layer (``None``: logits).
        kernel_initializer, kernel_regularizer: of every layer (one object shared by all, as given).
        dropout: after every hidden layer: a rate for ``keras.layers.Dropout`` (inverted dropout), or a
            function ``name -> layer`` (e.g. ``lambda name: ClassicDropout(0.5, name=name)``).
        input_dropout: the same on the inputs (``{name}_input_dropout``).
        drop_connect: keep probability of :class:`keras_repro.layers.DropConnect` in place of ``Dense``
            for every layer after the first (the layers whose inputs ``dropout`` drops).
    """
    if input_dim < 1 or outputs < 1 or any(h < 1 for h in hidden):
        raise ValueError(f"layer sizes must be positive. Received: input_dim={input_dim}, hidden={list(hidden)}, "
                         f"outputs={outputs}")

    def dense(index: int, units: int, layer_activation, layer_name: str):
        if drop_connect is not None and index > 1:
            from keras_repro.layers import DropConnect

            return DropConnect(units, drop_connect, activation=layer_activation, kernel_initializer=kernel_initializer,
                               kernel_regularizer=kernel_regularizer, name=layer_name)
        return keras.layers.Dense(units, activation=layer_activation, kernel_initializer=kernel_initializer,
                                  kernel_regularizer=kernel_regularizer, name=layer_name)

    inputs = keras.Input((input_dim,), name=f"{name}_input")
    x = _dropout(input_dropout, f"{name}_input_dropout")(inputs) if input_dropout is not None else inputs
    for i, width in enumerate(hidden, start=1):
        x = dense(i, width, activation, f"{name}_dense{i}")(x)
        if dropout is not None:
            x = _dropout(dropout, f"{name}_dropout{i}")(x)
    outputs_ = dense(len(hidden) + 1, outputs, output_activation, f"{name}_out")(x)
    return keras.Model(inputs, outputs_, name=name)


def _dropout(dropout: float | Callable, name: str) -> keras.layers.Layer:
    return dropout(name) if callable(dropout) else keras.layers.Dropout(dropout, name=name)


def sigmoid_sum(n_units: int, *, domain: tuple[float, float] = (-1.0, 1.0), steepness: float = 10.0,
                seed: int | None = None, name: str | None = None) -> keras.Model:
    """``x ↦ Σ_i c_i σ(a_i x + b_i) + c_0``: Cybenko's linear combination of ``n_units`` sigmoids.

    Initialised so that the sigmoids' centres ``-b_i / a_i`` spread uniformly over ``domain`` with
    slopes of about ``steepness`` per unit of x (both signs); everything is trainable.
    """
    if n_units < 1:
        raise ValueError(f"n_units must be >= 1. Received: n_units={n_units}")
    low, high = domain
    if not high > low:
        raise ValueError(f"domain must be (low, high) with high > low. Received: domain={domain}")
    rng = keras.random.SeedGenerator(seed) if seed is not None else None
    slopes = keras.initializers.RandomUniform(steepness * 0.5, steepness * 1.5, seed=seed)((1, n_units))
    signs = keras.ops.sign(keras.random.uniform((1, n_units), -1.0, 1.0, seed=rng))
    signs = keras.ops.where(keras.ops.equal(signs, 0), 1.0, signs)
    a = slopes * signs
    centres = keras.random.uniform((n_units,), low, high, seed=rng)
    b = -a[0] * centres
    name = name or f"sigmoid_sum_{n_units}"
    inputs = keras.Input((1,), name=f"{name}_x")
    hidden = keras.layers.Dense(n_units, activation="sigmoid", name=f"{name}_sigmoids",
                                kernel_initializer=keras.initializers.Constant(keras.ops.convert_to_numpy(a)),
                                bias_initializer=keras.initializers.Constant(keras.ops.convert_to_numpy(b)))(inputs)
    out = keras.layers.Dense(1, name=f"{name}_combination")(hidden)
    return keras.Model(inputs, out, name=name)
