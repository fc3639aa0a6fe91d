"""Per-layer gradient norms of a Keras model, on TensorFlow, JAX and PyTorch.

Keras 3 has no backend-neutral ``gradient`` call, so this is the one place that asks each backend
for gradients (the pattern of Keras's "training loop from scratch" guides); everything else works
on the returned NumPy numbers.
"""
from __future__ import annotations

import keras
import numpy as np


def _gradients(model: keras.Model, x, y, loss_fn, training: bool) -> list[np.ndarray]:
    backend = keras.backend.backend()
    variables = model.trainable_variables
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=training))
        grads = tape.gradient(loss, variables)
    elif backend == "jax":
        import jax

        non_trainable = [v.value for v in model.non_trainable_variables]

        def loss_of(trainable):
            pred, _ = model.stateless_call(trainable, non_trainable, x, training=training)
            return loss_fn(y, pred)

        grads = jax.grad(loss_of)([v.value for v in variables])
    elif backend == "torch":
        model.zero_grad()
        loss = loss_fn(y, model(x, training=training))
        loss.backward()
        grads = [v.value.grad for v in variables]
    else:
        raise NotImplementedError(f"gradients on backend {backend!r}")
    return [np.zeros(v.shape, "float32") if g is None else keras.ops.convert_to_numpy(g)
            for v, g in zip(variables, grads)]


def elementwise_derivative(fn, x) -> np.ndarray:
    """``f′(x)`` by automatic differentiation, for an elementwise ``fn`` (the gradient of ``Σ f(x)``).

    ``x`` keeps its dtype (pass float64 to see exact values such as ``σ′(0) = 0.25``).
    """
    x = np.asarray(x)
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        t = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(t)
            total = tf.reduce_sum(fn(t))
        grad = tape.gradient(total, t)
    elif backend == "jax":
        import jax
        import jax.numpy as jnp

        grad = jax.grad(lambda t: jnp.sum(fn(t)))(jnp.asarray(x))
    elif backend == "torch":
        import torch

        t = torch.tensor(x, requires_grad=True)
        fn(t).sum().backward()
        grad = t.grad
    else:
        raise NotImplementedError(f"gradients on backend {backend!r}")
    return keras.ops.convert_to_numpy(grad)


def layer_gradient_norms(model: keras.Model, x, y, loss_fn=None, *, training: bool = True) -> dict[str, float]:
    """``{layer name: ‖∂loss/∂W‖₂}`` over each weighted layer's trainable weights (kernel and bias).

    Layers are in the model's order (input side first). ``loss_fn`` defaults to sparse categorical
    cross-entropy on probabilities; ``x`` and ``y`` are one batch (NumPy or backend tensors).
    """
    loss_fn = loss_fn or keras.losses.SparseCategoricalCrossentropy()
    grads = _gradients(model, x, y, loss_fn, training)
    by_path = {v.path: g for v, g in zip(model.trainable_variables, grads)}
    norms = {}
    for layer in model.layers:
        own = [by_path[w.path] for w in layer.trainable_weights if w.path in by_path]
        if own:
            norms[layer.name] = float(np.sqrt(sum(float(np.sum(np.square(g, dtype="float64"))) for g in own)))
    return norms
