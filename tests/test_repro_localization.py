"""reproductions/localization.py: its helpers on known inputs, and its rules
(including cases where they must fail)."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import verdict

from keras_repro.suite.claims import NOT_REPRODUCED, REPRODUCED, evaluate


def test_localization_pieces():
    from reproductions import localization

    identity = localization.identity_rows()
    assert max(abs(r["minus_log_1.1"]) for r in identity) < 1e-12
    y_train = np.array([[1, 0.4, 0.6, 0.2, 0.3], [1, 0.6, 0.4, 0.4, 0.5], [0, -0.1, 0.5, 0.3, 0.3]], "float32")
    const = localization.constant_prediction(y_train, 2)
    np.testing.assert_allclose([const["p"][0], const["xc"][0], const["w"][0]], [1.0, 0.5, 0.3], rtol=1e-6)
    widths = np.array([0.1, 0.2, 0.3, 0.6, 0.7, 0.8])
    small, large = localization.size_thirds(np.array([0.2, 0.2, 0.0, 0.0, 0.1, 0.1]), widths, np.ones(6, bool))
    assert (small, large) == pytest.approx((0.2, 0.1))
    good = dict(presence_accuracy=0.97, mean_iou=0.7, presence_accuracy_over_baseline=0.2, mean_iou_over_baseline=0.5)
    assert verdict(localization, good) == REPRODUCED
    assert verdict(localization, {**good, "presence_accuracy": 0.9}) == NOT_REPRODUCED
    b = evaluate(localization.CLAIMS[1], dict(identity_max_abs_error=1e-15,
                                              log_ratio_distance_from_1_minus_plain=0.1), profile="default")
    assert b.verdict == NOT_REPRODUCED
