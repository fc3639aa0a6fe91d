"""reproductions/googlenet_inception.py: its helpers on known inputs, and its rules
(including cases where they must fail)."""
from __future__ import annotations

import keras
import numpy as np
import pandas as pd
from conftest import verdict

from keras_repro.models import googlenet
from keras_repro.suite.claims import NOT_REPRODUCED, REPRODUCED
from reproductions import googlenet_inception


def test_googlenet_costs_and_gradient_rows():
    costs = pd.DataFrame(googlenet_inception.cost_rows())
    assert list(costs["reductions_1x1"]) == [True, False]
    assert costs["parameters"].iloc[0] == 6_998_552 and costs["parameters"].iloc[1] > costs["parameters"].iloc[0]
    keras.utils.set_random_seed(0)
    model = googlenet(input_shape=(96, 96, 3), classes=4, width_multiplier=0.125, aux_classifiers=True)
    rng = np.random.default_rng(0)
    probes = [(rng.normal(size=(8, 96, 96, 3)).astype("float32"), rng.integers(0, 4, 8)) for _ in range(2)]
    rows = pd.DataFrame(googlenet_inception.gradient_rows(model, probes, "init"))
    assert len(rows) == 2 * len(googlenet_inception.EARLY_LAYERS)
    assert (rows["grad_norm_main_loss"] > 0).all()
    np.testing.assert_allclose(rows["ratio"], rows["grad_norm_with_aux_losses"] / rows["grad_norm_main_loss"])


def test_googlenet_rule():
    good = dict(param_reduction_factor=3.6, early_grad_ratio_at_init=1.04, early_grad_ratio_trained=2.1)
    assert verdict(googlenet_inception, good) == REPRODUCED
    assert verdict(googlenet_inception, {**good, "param_reduction_factor": 1.9}) == NOT_REPRODUCED
    assert verdict(googlenet_inception, {**good, "early_grad_ratio_at_init": 1.0}) == NOT_REPRODUCED
