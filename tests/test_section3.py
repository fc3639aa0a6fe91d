"""Section 3: autoencoders vs PCA (C3.3) and super-resolution (C3.4) pieces and rules."""
from __future__ import annotations

import numpy as np
import pytest

import keras_repro  # noqa: F401
from keras_repro.measures.descent import is_non_increasing
from keras_repro.models import srcnn
from keras_repro.suite.claims import NOT_REPRODUCED, REPRODUCED, evaluate
from keras_repro.suite.config import ConfigError, make_config
from reproductions import autoencoder_pca, super_resolution


def verdict(module, measured) -> str:
    return evaluate(module.CLAIMS[0], measured, profile="default").verdict


# -- C3.3 ---------------------------------------------------------------------------------------
def test_pca_error_falls_to_zero_with_all_components():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 64)) @ rng.normal(size=(64, 64)) * 0.1
    errors = [autoencoder_pca.pca_mse(k, x[:150], x[150:]) for k in (1, 8, 32, 64)]
    assert is_non_increasing(errors) and errors[-1] < 1e-10
    assert not is_non_increasing([0.3, 0.2, 0.21])


def test_autoencoder_rule_and_config():
    good = dict(mse_error_falls_with_k=True, bce_error_falls_with_k=True, linear_ae_over_pca_worst=1.002,
                linear_ae_over_pca_best=0.9998)
    assert verdict(autoencoder_pca, good) == REPRODUCED
    assert verdict(autoencoder_pca, {**good, "linear_ae_over_pca_worst": 1.06}) == NOT_REPRODUCED
    assert verdict(autoencoder_pca, {**good, "linear_ae_over_pca_best": 0.9}) == NOT_REPRODUCED
    assert verdict(autoencoder_pca, {**good, "bce_error_falls_with_k": False}) == NOT_REPRODUCED
    for bad in ("8,4", "4", "0,4", "4,128"):
        with pytest.raises(ConfigError, match="bottlenecks"):
            make_config(autoencoder_pca.Config, "default", {"bottlenecks": bad})


# -- C3.4 ---------------------------------------------------------------------------------------
def test_degrade_crops_to_a_multiple_of_the_scale_and_keeps_flat_images():
    flat = np.full((101, 66, 3), 128, np.uint8)
    original, bicubic = super_resolution.degrade(flat, 3)
    assert original.shape == bicubic.shape == (99, 66, 3)
    np.testing.assert_allclose(bicubic, 128 / 255, atol=1e-5)
    rng = np.random.default_rng(0)
    noisy = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    original, bicubic = super_resolution.degrade(noisy, 2)
    assert np.abs(original - bicubic).mean() > 0.05  # detail is lost


def test_srcnn_starts_as_the_bicubic_image_and_scores():
    model = srcnn(width_multiplier=0.25)
    x = np.random.default_rng(0).uniform(size=(1, 20, 28, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(model.predict(x, verbose=0)), x, atol=1e-6)
    psnr, ssim = super_resolution.scores(x[0], x[0] * 0.9, border=2)
    assert 15 < psnr < 40 and 0 < ssim <= 1


def test_super_resolution_rule_and_config():
    good = dict(held_out_photos=3, mean_psnr_gain_db=0.8, photos_where_bicubic_wins=0)
    assert verdict(super_resolution, good) == REPRODUCED
    assert verdict(super_resolution, {**good, "photos_where_bicubic_wins": 1}) == NOT_REPRODUCED
    assert verdict(super_resolution, {**good, "mean_psnr_gain_db": -0.1}) == NOT_REPRODUCED
    with pytest.raises(ConfigError, match="test_photos"):
        make_config(super_resolution.Config, "default", {"test_photos": "astronaut,lena"})
    with pytest.raises(ConfigError, match="scale"):
        make_config(super_resolution.Config, "default", {"scale": "1"})


# -- C3.1, C3.1b --------------------------------------------------------------------------------
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


# -- C3.2 ---------------------------------------------------------------------------------------
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
