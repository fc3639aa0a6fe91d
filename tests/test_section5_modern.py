"""Section 5, modern CNNs: multiply-adds, C5.6 (GoogLeNet), C5.7 (ResNet), C5.9 (sizes) pieces and rules."""
from __future__ import annotations

import keras
import numpy as np
import pandas as pd
import pytest

import keras_repro  # noqa: F401
from keras_repro.measures.flops import layer_multiply_adds, multiply_adds
from keras_repro.models import googlenet, resnet, trainable_parameters, vgg16
from keras_repro.suite.claims import NOT_REPRODUCED, REPRODUCED, evaluate
from keras_repro.suite.config import ConfigError, make_config
from reproductions import architecture_sizes, googlenet_inception, resnet_degradation, resnext_cardinality


def verdict(module, measured) -> str:
    return evaluate(module.CLAIMS[0], measured, profile="default").verdict


# -- multiply-adds ------------------------------------------------------------------------------
def test_multiply_adds_by_hand():
    inputs = keras.Input((8, 8, 4))
    x = keras.layers.Conv2D(6, 3, name="conv")(inputs)                 # 6×6 outputs × 3·3·4 × 6
    y = keras.layers.Conv2D(8, 1, groups=2, name="grouped")(x)         # 6×6 × 1·1·(6/2) × 8
    z = keras.layers.Dense(5, name="dense")(keras.layers.Flatten()(y))  # 288 × 5
    counts = multiply_adds(keras.Model(inputs, z))
    assert counts == {"conv": 36 * 36 * 6, "grouped": 36 * 3 * 8, "dense": 288 * 5}


def test_multiply_adds_match_published_figures():
    assert 1.5e9 <= sum(multiply_adds(googlenet()).values()) <= 1.6e9   # "1.5 billion multiply-adds"
    assert sum(multiply_adds(resnet(50)).values()) == pytest.approx(4.09e9, rel=0.01)  # torchvision: 4.09
    assert sum(multiply_adds(vgg16()).values()) == pytest.approx(15.47e9, rel=0.01)  # torchvision: 15.47


def test_multiply_adds_need_a_fixed_input_size():
    model = resnet(18, input_shape=(None, None, 3), width_multiplier=0.125)
    with pytest.raises(ValueError, match="fixed input size"):
        layer_multiply_adds(model.get_layer("conv1_conv"))


# -- C5.6 ---------------------------------------------------------------------------------------
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


# -- C5.7 ---------------------------------------------------------------------------------------
def test_input_size_rows_see_input_over_32():
    rows = pd.DataFrame(resnet_degradation.input_size_rows((64, 96, 100), seed=0))
    assert list(rows["feature_map_side"]) == [2, 3, 4]  # "same" padding: ceil(100 / 2) five times
    assert list(rows["matches"]) == [True, True, False]  # 100 is not a multiple of 32
    assert rows["probabilities_sum"].round(4).eq(1.0).all()


@pytest.mark.parametrize("depths, fragment", [("56,20", "shallow and a deeper"), ("20,51", "6n \\+ 2"),
                                              ("20", "shallow and a deeper")])
def test_resnet_degradation_depths_are_checked(depths, fragment):
    with pytest.raises(ConfigError, match=fragment):
        make_config(resnet_degradation.Config, "default", {"depths": depths})


def test_resnet_degradation_rule():
    good = dict(plain_deep_minus_shallow_loss=0.8, residual_deep_minus_shallow_loss=-0.001, input_sizes_checked=4,
                input_size_mismatches=0)
    assert verdict(resnet_degradation, good) == REPRODUCED
    assert verdict(resnet_degradation, {**good, "residual_deep_minus_shallow_loss": 0.02}) == NOT_REPRODUCED
    assert verdict(resnet_degradation, {**good, "plain_deep_minus_shallow_loss": -0.1}) == NOT_REPRODUCED
    assert verdict(resnet_degradation, {**good, "input_size_mismatches": 1}) == NOT_REPRODUCED


# -- C5.9 ---------------------------------------------------------------------------------------
def test_architecture_sizes_rows_and_rule():
    cfg = make_config(architecture_sizes.Config, "smoke", {"architectures": "lenet5,googlenet,resnet18"})
    rows = pd.DataFrame(architecture_sizes.size_rows(cfg, lambda message: None))
    exact = rows[rows["check"] == "exact"]
    assert set(exact["architecture"]) == {"googlenet", "resnet18"} and (exact["difference"] == 0).all()
    google = rows[(rows["architecture"] == "googlenet") & (rows["check"] == "approximate")]
    assert google["in_notes_range"].tolist() == [True]
    good = dict(exact_checks=12, exact_mismatches=0, approximate_checks=5, worst_approximate_deviation=0.03,
                outside_notes_range=0)
    assert verdict(architecture_sizes, good) == REPRODUCED
    assert verdict(architecture_sizes, {**good, "exact_mismatches": 1}) == NOT_REPRODUCED
    assert verdict(architecture_sizes, {**good, "worst_approximate_deviation": 0.06}) == NOT_REPRODUCED
    with pytest.raises(ConfigError, match="unknown densenet"):
        make_config(architecture_sizes.Config, "default", {"architectures": "resnet50,densenet"})


# -- C5.8 ---------------------------------------------------------------------------------------
def test_mcnemar_counts_discordant_images():
    resnet_wrong = np.array([1, 1, 1, 0, 0, 1, 1, 0], bool)
    resnext_wrong = np.array([1, 0, 0, 0, 1, 0, 0, 0], bool)
    only_a, only_b, p = resnext_cardinality.mcnemar_one_sided(resnet_wrong, resnext_wrong)
    assert (only_a, only_b) == (4, 1)
    assert p == pytest.approx(6 / 32)  # P(X >= 4 | n = 5, 1/2) = (5 + 1) / 32
    assert resnext_cardinality.mcnemar_one_sided(resnet_wrong, resnet_wrong)[2] == 1.0


def test_resnext_rule_and_config():
    good = dict(imagenet_param_rel_diff=0.02, param_rel_diff=0.01, test_error_resnext_minus_resnet=-0.02,
                mcnemar_p_one_sided=0.01)
    assert verdict(resnext_cardinality, good) == REPRODUCED
    assert verdict(resnext_cardinality, {**good, "mcnemar_p_one_sided": 0.2}) == NOT_REPRODUCED
    assert verdict(resnext_cardinality, {**good, "param_rel_diff": 0.15}) == NOT_REPRODUCED
    assert verdict(resnext_cardinality, {**good, "test_error_resnext_minus_resnet": 0.0}) == NOT_REPRODUCED
    with pytest.raises(ConfigError, match="26, 50, 101 or 152"):
        make_config(resnext_cardinality.Config, "default", {"depth": "34"})
    cfg = make_config(resnext_cardinality.Config, "default")
    a, b = (resnext_cardinality.build(cfg, kind, (32, 32, 3), 10) for kind in ("resnet", "resnext"))
    n_a, n_b = trainable_parameters(a), trainable_parameters(b)
    assert abs(n_b - n_a) / n_a <= 0.10  # the default pair is matched, as the rule requires
