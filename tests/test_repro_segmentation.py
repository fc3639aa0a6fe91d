"""reproductions/segmentation.py: its helpers on known inputs, and its rules
(including cases where they must fail)."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import verdict

from keras_repro.suite.claims import NOT_REPRODUCED, REPRODUCED


def test_segmentation_scores_and_baseline():
    from reproductions import segmentation

    truth = np.zeros((2, 4, 4), bool)
    truth[0, :2, :2] = True
    predicted = truth.copy()
    predicted[0, 2, 2] = True  # IoU 4/5 on image 0; image 1 empty and predicted empty: IoU 1
    scores = segmentation.mask_scores(predicted, truth)
    assert scores["mean_iou"] == pytest.approx(0.9) and scores["pixel_accuracy"] == pytest.approx(31 / 32)
    images = np.zeros((1, 8, 8, 1), "float32")
    images[0, 2:5, 2:5] = 0.9
    assert segmentation.otsu_masks(images)[0].sum() == 9
    good = dict(mean_iou=0.95, mean_iou_over_threshold_baseline=0.1)
    assert verdict(segmentation, good) == REPRODUCED
    assert verdict(segmentation, {**good, "mean_iou": 0.79}) == NOT_REPRODUCED
    assert verdict(segmentation, {**good, "mean_iou_over_threshold_baseline": -0.01}) == NOT_REPRODUCED
