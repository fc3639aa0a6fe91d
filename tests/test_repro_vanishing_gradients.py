"""reproductions/vanishing_gradients.py: its helpers on known inputs, and its rules
(including cases where they must fail)."""
from __future__ import annotations

import math

import keras
import numpy as np
import pytest
from conftest import verdict

from keras_repro.suite.claims import NOT_REPRODUCED, REPRODUCED
from reproductions import vanishing_gradients


def test_gradient_ratio_and_epochs_to_target():
    assert vanishing_gradients.first_to_last_ratio({"a": 1e-6, "b": 0.3, "c": 1e-2}) == pytest.approx(1e-4)
    assert vanishing_gradients.epochs_to_target([0.2, 0.85, 0.91, 0.95], 0.9) == 3.0
    assert vanishing_gradients.epochs_to_target([0.2, 0.5], 0.9) == math.inf


def test_vanishing_gradients_rule():
    good = dict(sigmoid_derivative_max=0.25, depth=12, relu_ratio_over_sigmoid_ratio=1e4,
                relu_epochs_to_target=3.0, sigmoid_epochs_to_target=math.inf)
    assert verdict(vanishing_gradients, good) == REPRODUCED
    assert verdict(vanishing_gradients, {**good, "relu_epochs_to_target": math.inf}) == NOT_REPRODUCED
    assert verdict(vanishing_gradients, {**good, "relu_ratio_over_sigmoid_ratio": 50}) == NOT_REPRODUCED
    assert verdict(vanishing_gradients, {**good, "depth": 8}) == NOT_REPRODUCED


def test_gradient_norm_probe_records_each_epoch():
    keras.utils.set_random_seed(0)
    from keras_repro.models import mlp

    model = mlp(4, [8] * 3, 3, activation="sigmoid", output_activation="softmax")
    model.compile("sgd", "sparse_categorical_crossentropy")
    x, y = np.random.default_rng(0).normal(size=(32, 4)).astype("float32"), np.arange(32) % 3
    probe = vanishing_gradients.GradientNormProbe(x, y)
    model.fit(x, y, epochs=2, verbose=0, callbacks=[probe])
    assert len(probe.history) == 2 and list(probe.history[0]) == ["mlp_dense1", "mlp_dense2", "mlp_dense3", "mlp_out"]
