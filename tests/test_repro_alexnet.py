"""reproductions/alexnet.py: its helpers on known inputs, and its rules
(including cases where they must fail)."""
from __future__ import annotations

import keras
import numpy as np
import pytest
from conftest import verdict

from keras_repro.suite.claims import NOT_REPRODUCED, REPRODUCED
from reproductions import alexnet as alexnet_repro


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
