"""reproductions/lenet.py: its helpers on known inputs, and its rules
(including cases where they must fail)."""
from __future__ import annotations

import pytest
from conftest import verdict

from keras_repro.suite.claims import NOT_REPRODUCED, REPRODUCED
from reproductions import lenet


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
