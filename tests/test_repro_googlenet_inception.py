"""reproductions/googlenet_inception.py: its helpers on known inputs, and its rules
(including cases where they must fail)."""
from __future__ import annotations

import keras
import numpy as np
import pandas as pd
from conftest import verdict

from keras_repro.models import googlenet
from keras_repro.suite.claims import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED
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
    good = dict(param_reduction_factor=3.6, early_grad_ratio_at_init=1.04, early_grad_ratio_trained=2.1,
                log_stem_progress_ratio_per_seed=[0.40, 0.45, 0.50], control_main_loss_max=0.3)
    assert verdict(googlenet_inception, good) == REPRODUCED
    assert verdict(googlenet_inception, {**good, "param_reduction_factor": 1.9}) == NOT_REPRODUCED
    assert verdict(googlenet_inception, {**good, "early_grad_ratio_at_init": 1.0}) == NOT_REPRODUCED
    # the stem-progress effect decides even when the near-automatic gradient ratios hold
    assert verdict(googlenet_inception, {**good, "log_stem_progress_ratio_per_seed": [-0.1, -0.05, 0.0]}) \
        == NOT_REPRODUCED  # interval below log 1.1: ruled out
    assert verdict(googlenet_inception, {**good, "log_stem_progress_ratio_per_seed": [-0.3, 0.1, 0.6]}) \
        == INCONCLUSIVE  # straddles both 0 and log 1.1: underpowered
    # a control that never left chance has no training progress to compare: inconclusive, whatever the effect
    from keras_repro.suite.claims import evaluate
    stalled = evaluate(googlenet_inception.CLAIMS[0], {**good, "control_main_loss_max": 2.29}, profile="default")
    assert (stalled.verdict, stalled.reason) == (INCONCLUSIVE, "precondition unmet")


def test_stem_progress_is_the_distance_from_the_initial_weights():
    initial = [np.zeros((2, 2)), np.ones(3)]
    assert googlenet_inception.stem_progress(initial, initial) == 0.0
    moved = [np.full((2, 2), 1.0), np.ones(3) * 2]  # 4 entries moved by 1, 3 by 1
    assert np.isclose(googlenet_inception.stem_progress(initial, moved), np.sqrt(7))
