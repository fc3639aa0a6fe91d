"""keras_repro.measures.batchnorm: BatchNorm's inference formula and moving statistics."""
from __future__ import annotations

import keras
import numpy as np

from keras_repro.measures.batchnorm import batchnorm_inference, moving_statistics


def test_batchnorm_inference_formula_matches_keras_after_training_updates():
    layer = keras.layers.BatchNormalization(epsilon=1e-3, momentum=0.5)
    rng = np.random.default_rng(0)
    for _ in range(5):
        layer(rng.normal(3.0, 2.0, size=(32, 4)).astype("float32"), training=True)
    layer.gamma.assign(np.array([1.0, 2.0, 0.5, -1.0], "float32"))
    layer.beta.assign(np.array([0.0, 1.0, -1.0, 2.0], "float32"))
    x = rng.normal(size=(10, 4)).astype("float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x, training=False)), batchnorm_inference(x, layer),
                               atol=1e-5)
    assert not np.allclose(batchnorm_inference(x, layer), x)  # the moving statistics moved


def test_moving_statistics_as_keras_updates_them():
    out = moving_statistics([[2.0], [4.0]], [[4.0], [16.0]], momentum=0.5)
    # mean: 0 → 1 → 2.5; variance: 1 → 2.5 → 9.25; std: 1 → 1.5 → 2.75
    np.testing.assert_allclose([out["mean"][0], out["variance"][0], out["std"][0]], [2.5, 9.25, 2.75])


def test_ema_of_std_is_below_root_of_ema_of_variance_when_batches_vary():
    rng = np.random.default_rng(0)
    variances = rng.uniform(0.5, 2.0, size=(500, 3))
    out = moving_statistics(np.zeros((500, 3)), variances, momentum=0.9)
    assert np.all(out["std"] < np.sqrt(out["variance"]))
