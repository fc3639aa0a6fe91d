"""Small fully connected builders used by sections 1 and 2 of the notes."""
from __future__ import annotations

from typing import Sequence

import keras


def mlp(input_dim: int, hidden: Sequence[int], outputs: int = 1, *, activation="relu", output_activation=None,
        kernel_initializer="glorot_uniform", name: str = "mlp") -> keras.Model:
    """``input → Dense(h) for h in hidden → Dense(outputs)`` with deterministic layer names.

    ``activation`` applies to every hidden layer (``"linear"`` gives the deep linear network of C1.7).
    """
    if input_dim < 1 or outputs < 1 or any(h < 1 for h in hidden):
        raise ValueError(f"layer sizes must be positive. Received: input_dim={input_dim}, hidden={list(hidden)}, "
                         f"outputs={outputs}")
    inputs = keras.Input((input_dim,), name=f"{name}_input")
    x = inputs
    for i, width in enumerate(hidden, start=1):
        x = keras.layers.Dense(width, activation=activation, kernel_initializer=kernel_initializer,
                               name=f"{name}_dense{i}")(x)
    outputs_ = keras.layers.Dense(outputs, activation=output_activation, kernel_initializer=kernel_initializer,
                                  name=f"{name}_out")(x)
    return keras.Model(inputs, outputs_, name=name)


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
