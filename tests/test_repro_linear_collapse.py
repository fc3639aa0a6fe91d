"""reproductions/linear_collapse.py: its helpers on known inputs, and its rules
(including cases where they must fail)."""
from __future__ import annotations

import keras
import numpy as np

from keras_repro.models import mlp


def test_composed_linear_layers_equal_the_network():
    from reproductions.linear_collapse import compose_linear_layers

    model = mlp(4, (6, 5), 2, activation="linear")
    x = np.random.default_rng(0).normal(size=(10, 4)).astype(np.float32)
    w, b = compose_linear_layers([l for l in model.layers if isinstance(l, keras.layers.Dense)])
    assert w.shape == (4, 2)
    np.testing.assert_allclose(x @ w + b, model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    relu = mlp(4, (6, 5), 2, activation="relu")
    w2, b2 = compose_linear_layers([l for l in relu.layers if isinstance(l, keras.layers.Dense)])
    assert not np.allclose(x @ w2 + b2, relu.predict(x, verbose=0), atol=1e-3)  # composition needs linearity
