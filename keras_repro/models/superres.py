"""SRCNN (Dong et al., 2014), the three-layer super-resolution network, with an optional residual.

The input is the low-resolution image already upsampled to the target size (bicubic); the network
maps it to the high-resolution image: 9×9 convolution (patch extraction, 64 filters) → 1×1 (non-linear
mapping, 32) → 5×5 (reconstruction, one output per channel). With ``residual=True`` the network
predicts the correction to the bicubic input and adds it (as VDSR does), which trains much faster.
Fully convolutional (``padding="same"``): it runs on images of any size.
"""
from __future__ import annotations

import keras

from keras_repro.models._common import check_positive, fresh_initializer, scaled


def srcnn(*, channels: int = 3, width_multiplier: float = 1.0, residual: bool = True,
          kernel_initializer="he_normal", name: str = "srcnn") -> keras.Model:
    """SRCNN 9-1-5 on ``(None, None, channels)`` inputs (bicubic-upsampled low-resolution images)."""
    check_positive(width_multiplier=width_multiplier, channels=channels)
    inputs = keras.Input((None, None, channels), name="upsampled")
    x = keras.layers.Conv2D(scaled(64, width_multiplier), 9, padding="same", activation="relu",
                            kernel_initializer=fresh_initializer(kernel_initializer), name="extract")(inputs)
    x = keras.layers.Conv2D(scaled(32, width_multiplier), 1, activation="relu",
                            kernel_initializer=fresh_initializer(kernel_initializer), name="map")(x)
    x = keras.layers.Conv2D(channels, 5, padding="same", kernel_initializer="zeros" if residual else "glorot_uniform",
                            name="reconstruct")(x)
    if residual:  # starts as the identity: the bicubic image
        x = keras.layers.Add(name="add_upsampled")([inputs, x])
    return keras.Model(inputs, x, name=name)
