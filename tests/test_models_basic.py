"""keras_repro.models.basic: the fully connected builders (mlp, sigmoid_sum)."""
from __future__ import annotations

import pytest

from keras_repro.models import sigmoid_sum


def test_sigmoid_sum_shape_and_validation():
    model = sigmoid_sum(8, domain=(-2, 2), seed=3)
    assert model.count_params() == 8 * 3 + 1
    with pytest.raises(ValueError, match="n_units=0"):
        sigmoid_sum(0)
    with pytest.raises(ValueError, match="domain"):
        sigmoid_sum(3, domain=(1, 1))
