"""keras_repro.data.arrays: why the stratified split is our own and not scikit-learn's."""
from __future__ import annotations

import numpy as np
import pytest

from keras_repro.data.arrays import stratified_split


def test_stratified_split_handles_small_classes_where_sklearn_refuses():
    from sklearn.model_selection import train_test_split

    one_member = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 2])
    with pytest.raises(ValueError, match="only 1 member"):
        train_test_split(np.arange(len(one_member)), test_size=0.2, stratify=one_member, random_state=0)
    train, test = stratified_split(one_member, 0.2, seed=0)
    assert set(one_member[test]) == {0, 1} and 9 in train  # the lone example trains

    tiny = np.array([0, 0, 0, 1, 1])
    with pytest.raises(ValueError, match="greater or equal to the number of classes"):
        train_test_split(np.arange(len(tiny)), test_size=0.2, stratify=tiny, random_state=0)
    train, test = stratified_split(tiny, 0.2, seed=0)
    assert sorted(tiny[test]) == [0, 1] and len(train) == 3
