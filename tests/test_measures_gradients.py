"""keras_repro.measures.gradients: element-wise derivatives and per-layer gradient norms, on TensorFlow and JAX."""
from __future__ import annotations

import keras
import numpy as np
import pytest
from conftest import assert_ok, run_python

import keras_repro  # noqa: F401
from keras_repro.measures.gradients import elementwise_derivative, layer_gradient_norms


def test_sigmoid_slope_is_at_most_a_quarter_exactly():
    grid = np.union1d(np.linspace(-8, 8, 1601), [0.0])
    slope = elementwise_derivative(keras.activations.sigmoid, grid)
    assert slope.dtype == np.float64 and slope.max() == 0.25 and grid[slope.argmax()] == 0.0
    np.testing.assert_allclose(slope, keras.ops.convert_to_numpy(keras.activations.sigmoid(grid))
                               * (1 - keras.ops.convert_to_numpy(keras.activations.sigmoid(grid))), rtol=1e-12)
    assert elementwise_derivative(keras.activations.relu, np.array([-1.0, 2.0])).tolist() == [0.0, 1.0]


W_OUT = np.array([[0.5, -0.2], [0.1, 0.3], [-0.4, 0.2], [0.6, 0.0]], "float32")


def _two_layer_net():
    inputs = keras.Input((3,))
    hidden = keras.layers.Dense(4, kernel_initializer="identity", name="h")(inputs)
    out = keras.layers.Dense(2, activation="softmax", kernel_initializer=keras.initializers.Constant(W_OUT),
                             name="o")(hidden)
    return keras.Model(inputs, out)


X = np.array([[1.0, 2.0, -1.0], [0.5, -1.0, 2.0]], "float32")
Y = np.array([0, 1])


def test_layer_gradient_norms_match_the_closed_form():
    norms = layer_gradient_norms(_two_layer_net(), X, Y)
    assert list(norms) == ["h", "o"]
    hidden = np.hstack([X, np.zeros((2, 1))])  # identity kernel 3 -> 4, zero bias
    logits = hidden @ W_OUT
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    delta = (p - np.eye(2)[Y]) / len(X)  # mean cross-entropy through softmax
    grad_o = np.concatenate([(hidden.T @ delta).ravel(), delta.sum(0)])
    back = delta @ W_OUT.T
    grad_h = np.concatenate([(X.T @ back).ravel(), back.sum(0)])
    assert norms["o"] == pytest.approx(np.linalg.norm(grad_o), rel=1e-5)
    assert norms["h"] == pytest.approx(np.linalg.norm(grad_h), rel=1e-5) and norms["h"] > 0.01


def test_layer_gradient_norms_agree_on_jax():
    expected = layer_gradient_norms(_two_layer_net(), X, Y)
    out = assert_ok(run_python(f"""
        import numpy as np, keras, keras_repro
        from keras_repro.measures.gradients import elementwise_derivative, layer_gradient_norms
        inputs = keras.Input((3,))
        hidden = keras.layers.Dense(4, kernel_initializer="identity", name="h")(inputs)
        kernel = keras.initializers.Constant(np.array({W_OUT.tolist()}, "float32"))
        out = keras.layers.Dense(2, activation="softmax", kernel_initializer=kernel, name="o")(hidden)
        x, y = np.array({X.tolist()}, "float32"), np.array({Y.tolist()})
        norms = layer_gradient_norms(keras.Model(inputs, out), x, y)
        print(norms["h"], norms["o"], float(elementwise_derivative(keras.activations.sigmoid, np.zeros(3)).max()))
    """, backend="jax"))
    h, o, slope = map(float, out.split())
    assert h == pytest.approx(expected["h"], rel=1e-5) and o == pytest.approx(expected["o"], rel=1e-5)
    assert slope == 0.25
