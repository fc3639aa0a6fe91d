"""reproductions/super_resolution.py: its helpers on known inputs, and its rules
(including cases where they must fail)."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import verdict

from keras_repro.models import srcnn
from keras_repro.suite.claims import NOT_REPRODUCED, REPRODUCED
from keras_repro.suite.config import ConfigError, make_config
from reproductions import super_resolution


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
