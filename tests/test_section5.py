"""Measurement functions and rules of the section-5 reproductions (conv arithmetic, LeNet, AlexNet,
vanishing gradients, VGG progressive), on known inputs, including cases where a rule must fail."""
from __future__ import annotations

import math
from types import SimpleNamespace

import keras
import numpy as np
import pandas as pd
import pytest

import keras_repro  # noqa: F401
from keras_repro.models import vgg
from keras_repro.suite.claims import NOT_REPRODUCED, REPRODUCED, evaluate
from reproductions import alexnet as alexnet_repro
from reproductions import conv_arithmetic, lenet, vanishing_gradients, vgg_progressive


def verdict(module, measured):
    (claim,) = module.CLAIMS
    return evaluate(claim, measured, profile="default").verdict


# -- C5.1 ---------------------------------------------------------------------------------------
def test_conv_arithmetic_grid_and_same_padding_agree_with_keras():
    cfg = SimpleNamespace(sides=(5, 8), kernels=(1, 3), paddings=(0, 1), strides=(1, 2))
    grid = conv_arithmetic.explicit_padding_grid(cfg)
    assert len(grid) == 16 and (grid["conv2d"] == grid["formula"]).all() and (grid["max_pool"] == grid["formula"]).all()
    same = conv_arithmetic.same_padding_grid(cfg)
    assert conv_arithmetic.same_padding_mismatches(same) == 0
    broken = same.copy()
    broken.loc[0, "conv2d_same"] += 1
    assert conv_arithmetic.same_padding_mismatches(broken) == 1


def test_pooling_isolation_table():
    table = conv_arithmetic.pooling_isolation(3, seed=0)
    pooled = table[table["layer"] != "conv2d_3x3"]
    assert pooled["only_its_own_channel"].all() and len(pooled) == 6
    assert not table[table["layer"] == "conv2d_3x3"]["only_its_own_channel"].any()


def test_conv_arithmetic_rule_fails_on_one_mismatch():
    good = dict(grid_points=500, conv_mismatches=0, pool_mismatches=0, same_padding_mismatches=0,
                kernels_give_channels=True, pooling_per_channel=True)
    assert verdict(conv_arithmetic, good) == REPRODUCED
    assert verdict(conv_arithmetic, {**good, "conv_mismatches": 1}) == NOT_REPRODUCED
    assert verdict(conv_arithmetic, {**good, "pooling_per_channel": False}) == NOT_REPRODUCED


# -- C5.2 ---------------------------------------------------------------------------------------
def test_lenet_thresholds_depend_on_the_dataset():
    assert lenet.digit_dataset_kind("digits") == "digits" and lenet.digit_dataset_kind("tfds:mnist") == "mnist"
    with pytest.raises(ValueError, match="dataset='tfds:cifar10'"):
        lenet.digit_dataset_kind("tfds:cifar10")
    digits = dict(parameters=61_706, on_digits=True, on_mnist=False)
    mnist = dict(parameters=61_706, on_digits=False, on_mnist=True)
    assert verdict(lenet, {**digits, "test_accuracy": 0.975}) == REPRODUCED
    assert verdict(lenet, {**digits, "test_accuracy": 0.96}) == NOT_REPRODUCED
    assert verdict(lenet, {**mnist, "test_accuracy": 0.985}) == NOT_REPRODUCED
    assert verdict(lenet, {**mnist, "test_accuracy": 0.992}) == REPRODUCED
    assert verdict(lenet, {**digits, "parameters": 60_000, "test_accuracy": 0.99}) == NOT_REPRODUCED


# -- C5.3 ---------------------------------------------------------------------------------------
def test_top_k_error_on_known_probabilities():
    import tensorflow as tf

    inputs = keras.Input((4,))
    identity = keras.Model(inputs, keras.layers.Activation("linear")(inputs))  # "probabilities" = the inputs
    probs = np.array([[0.7, 0.1, 0.1, 0.1], [0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2, 0.1]], "float32")
    ds = tf.data.Dataset.from_tensor_slices((probs, np.array([0, 2, 3]))).batch(2)
    assert alexnet_repro.top_k_error(identity, ds, 1) == pytest.approx(2 / 3)
    assert alexnet_repro.top_k_error(identity, ds, 2) == pytest.approx(1 / 3)
    assert alexnet_repro.top_k_error(identity, ds, 4) == 0.0


def test_alexnet_pipeline_checks_see_new_crops_each_epoch():
    from keras_repro.data import make_datasets

    train_ds, _, info = make_datasets("digits", image_size=64, batch_size=256, seed=0, augment="alexnet",
                                      channels=3, flip=False, max_examples=256)
    assert alexnet_repro.pipeline_checks(train_ds, 64, 3) == (True, True)
    fixed, _, _ = make_datasets("digits", image_size=64, batch_size=256, seed=0, augment="none", channels=3,
                                max_examples=256)
    assert alexnet_repro.pipeline_checks(fixed, 64, 3) == (True, False)  # no augmentation: the same images


def test_alexnet_rule_needs_every_part():
    good = dict(parameters_224=61_100_840, conv_layers=5, dense_layers=3, last_three_convs_3x3=True,
                stacked_3x3_receptive_field=5, single_5x5_receptive_field=5, stacked_3x3_weights_per_c2=18.0,
                single_5x5_weights_per_c2=25.0, crops_at_input_size=True, new_crops_each_epoch=True, top1_error=0.1)
    assert verdict(alexnet_repro, good) == REPRODUCED
    assert verdict(alexnet_repro, {**good, "top1_error": 0.6}) == NOT_REPRODUCED
    assert verdict(alexnet_repro, {**good, "parameters_224": 62_378_344}) == NOT_REPRODUCED


# -- C5.4 ---------------------------------------------------------------------------------------
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


# -- C5.5 ---------------------------------------------------------------------------------------
def _table(progressive, scratch, depths=(11, 13, 16, 19)):
    rows = [{"method": "progressive", "depth": d, "train_loss": v} for d, v in zip(depths, progressive)]
    rows += [{"method": "scratch_normal", "depth": d, "train_loss": v} for d, v in zip(depths, scratch)]
    return pd.DataFrame(rows)


def test_loss_summary_and_rule_when_progressive_wins():
    measured = vgg_progressive.loss_summary(_table([0.3, 0.2, 0.15, 0.1], [0.3, 0.5, 2.3, 2.3]), (11, 13, 16, 19))
    assert measured["loss_ratio_d16"] == pytest.approx(0.15 / 2.3) and "loss_ratio_d13" not in measured
    assert measured["worst_deep_loss_ratio"] == pytest.approx(0.15 / 2.3)
    assert measured["scratch_normal_degradation"] == pytest.approx(2.0)
    assert measured["progressive_degradation"] == pytest.approx(-0.2)
    assert verdict(vgg_progressive, {**measured, "pool_after_each_cascade": True,
                                     "backbone_weights_unchanged": True}) == REPRODUCED


@pytest.mark.parametrize("progressive, scratch", [
    ([0.3, 0.2, 0.2, 0.9], [0.3, 0.5, 2.3, 1.5]),  # depth 19 not clearly better (0.9 / 1.5 > 0.5)
    ([0.3, 0.3, 0.3, 0.3], [0.3, 0.3, 0.3, 0.3]),  # no difference at all
])
def test_vgg_rule_fails_without_a_clear_gap(progressive, scratch):
    measured = vgg_progressive.loss_summary(_table(progressive, scratch), (11, 13, 16, 19))
    assert verdict(vgg_progressive, {**measured, "pool_after_each_cascade": True,
                                     "backbone_weights_unchanged": True}) == NOT_REPRODUCED


def test_pools_after_each_cascade_and_config_checks():
    small = vgg(13, input_shape=(32, 32, 1), classes=10, width_multiplier=1 / 16)
    assert vgg_progressive.pools_after_each_cascade(small)
    inputs = keras.Input((32, 32, 1))
    x = inputs
    for b in range(1, 6):
        x = keras.layers.MaxPooling2D(2, name=f"block{b}_pool")(x)  # pooling before the convolution
        x = keras.layers.Conv2D(2, 3, padding="same", name=f"block{b}_conv1")(x)
    assert not vgg_progressive.pools_after_each_cascade(keras.Model(inputs, x))
    with pytest.raises(ValueError, match="depths=\\(13, 11\\)"):
        vgg_progressive.check_depths((13, 11))
    with pytest.raises(ValueError, match="depths=\\(11, 13\\)"):
        vgg_progressive.check_depths((11, 13))
    cfg = SimpleNamespace(init_std=0.01, width_multiplier=0.25, match_full_width_gain=True)
    assert vgg_progressive.paper_init_std(cfg) == pytest.approx(0.02)
    assert vgg_progressive.paper_init_std(SimpleNamespace(**{**vars(cfg), "match_full_width_gain": False})) == 0.01


def test_vgg_models_to_save():
    models = {(m, d): None for m in vgg_progressive.METHODS for d in (11, 13, 16, 19)}
    deepest = vgg_progressive.save_list(models, (11, 13, 16, 19), "deepest")
    assert sorted(deepest) == [("progressive", 11), ("progressive", 19), ("progressive_glorot", 19),
                               ("scratch_glorot", 19), ("scratch_normal", 19)]
    # 4 methods × 4 depths, less the two shared VGG-11s (scratch_normal = progressive, progressive_glorot = scratch_glorot)
    assert len(vgg_progressive.save_list(models, (11, 13, 16, 19), "all")) == 14
    assert vgg_progressive.save_list(models, (11, 13, 16, 19), "none") == []
    with pytest.raises(ValueError, match="save_models='some'"):
        vgg_progressive.save_list(models, (11, 16), "some")
