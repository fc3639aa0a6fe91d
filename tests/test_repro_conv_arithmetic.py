"""reproductions/conv_arithmetic.py: its helpers on known inputs, and its rules
(including cases where they must fail)."""
from __future__ import annotations

from types import SimpleNamespace

from conftest import verdict

from keras_repro.suite.claims import NOT_REPRODUCED, REPRODUCED
from reproductions import conv_arithmetic


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
