"""keras_repro.data.embedded and the arrays' conversions: the digits as images, as features, and as small splits."""
from __future__ import annotations

import numpy as np

from keras_repro.data import digits_split, load_arrays, to_unit_float


def test_digits_split_is_balanced_disjoint_and_seeded():
    split = digits_split(per_class=5, n_val=100, seed=1)
    assert split.x_train.shape == (50, 64) and np.bincount(split.y_train).tolist() == [5] * 10
    assert len(split.x_val) == 100 and len(split.x_train) + len(split.x_val) + len(split.x_test) == 1797
    assert 0 <= split.x_train.min() and split.x_train.max() <= 1
    again = digits_split(per_class=5, n_val=100, seed=1)
    np.testing.assert_array_equal(split.x_val, again.x_val)
    assert not np.array_equal(split.x_val, digits_split(per_class=5, n_val=100, seed=2).x_val)


def test_digits_images_and_split_come_from_the_same_grey_levels():
    data = load_arrays("digits", seed=0)
    split = digits_split(per_class=5, n_val=100, seed=1)
    # 0–16 grey levels: /16 in the split, rounded to 0–255 in the images; both in [0, 1], 17 levels each
    assert len(np.unique(split.x_train)) <= 17 and len(np.unique(to_unit_float(data.x_train))) <= 17


def test_features_are_flat_unit_floats_with_int32_labels():
    data = load_arrays("digits", seed=0)
    x, y, x_test, y_test = data.features()
    assert x.shape == (len(data.x_train), 64) and x.dtype == np.float32 and y.dtype == np.int32
    assert x_test.shape == (len(data.x_test), 64) and y_test.dtype == np.int32
    np.testing.assert_array_equal(x * 255, data.x_train.reshape(len(x), -1))
    np.testing.assert_array_equal(y, data.y_train)


def test_to_unit_float_equals_dividing_in_float64_then_casting():
    images = np.arange(256, dtype=np.uint8).reshape(4, 8, 8, 1)
    # the two spellings the reproductions used give the same float32 numbers
    np.testing.assert_array_equal(to_unit_float(images), (images / 255.0).astype("float32"))
    assert to_unit_float(images, flatten=True).shape == (4, 64)
