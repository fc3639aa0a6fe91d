"""reproductions/vgg_progressive.py: its helpers on known inputs, and its rules
(including cases where they must fail)."""
from __future__ import annotations

from types import SimpleNamespace

import keras
import pandas as pd
import pytest
from conftest import verdict

from keras_repro.models import vgg
from keras_repro.suite.claims import NOT_REPRODUCED, REPRODUCED
from reproductions import vgg_progressive


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
