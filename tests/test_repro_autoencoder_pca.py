"""reproductions/autoencoder_pca.py: its helpers on known inputs, and its rules
(including cases where they must fail)."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import verdict

from keras_repro.measures.descent import is_non_increasing
from keras_repro.suite.claims import NOT_REPRODUCED, REPRODUCED
from keras_repro.suite.config import ConfigError, make_config
from reproductions import autoencoder_pca


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
