"""AlexNet (Krizhevsky, Sutskever & Hinton, 2012): 5 convolutions → 3 dense layers → softmax.

The single-tower form of the reference implementations (torchvision's ``alexnet``, from
Krizhevsky's "One weird trick", 2014): 64, 192, 384, 256, 256 filters instead of the paper's two GPU
towers of 48+48, 128+128, 192+192, 192+192, 128+128, and no local response normalisation::

    224×224×3 ─pad 2, conv1 64@11×11/4─ 55×55 ─pool1 3×3/2─ 27 ─conv2 192@5×5─ 27 ─pool2─ 13
              ─conv3 384@3×3─ conv4 256@3×3─ conv5 256@3×3─ 13 ─pool5─ 6×6×256
              ─flatten─ 9216 ─fc6 4096─ fc7 4096─ predictions 1000

61,100,840 parameters at 224×224×3 with 1000 classes (the paper's two-tower net: about 61M too).
The last three convolutions are 3×3; conv3 and conv4 are not followed by pooling.
"""
from __future__ import annotations

import keras

from keras_repro.models._common import (
    output_dtype,
    check_positive, check_sides, check_top, fresh_initializer, global_pooling, image_input, model_inputs, scaled,
)

# (name, filters, kernel, stride, padding, pooled after)
ALEXNET_CONVS = (
    ("conv1", 64, 11, 4, 2, True),
    ("conv2", 192, 5, 1, 2, True),
    ("conv3", 384, 3, 1, 1, False),
    ("conv4", 256, 3, 1, 1, False),
    ("conv5", 256, 3, 1, 1, True),
)
POOL_SIZE, POOL_STRIDE = 3, 2
MIN_SIDE = 63  # the smallest side whose last pooled map is at least 1×1 (alexnet_feature_size)


def alexnet_feature_size(side: int) -> int:
    """Side of the last pooled feature map for an input side ``side`` (6 at 224); < 1 when too small."""
    for _name, _filters, kernel, stride, padding, pooled in ALEXNET_CONVS:
        side = (side + 2 * padding - kernel) // stride + 1
        if pooled:
            side = (side - POOL_SIZE) // POOL_STRIDE + 1 if side >= POOL_SIZE else 0
    return side


def alexnet(*, include_top: bool = True, input_shape: tuple[int, int, int] = (224, 224, 3), classes: int = 1000,
            width_multiplier: float = 1.0, activation="relu", kernel_initializer="glorot_uniform", dropout: float = 0.5,
            classifier_activation="softmax", pooling: str | None = None, input_tensor=None,
            name: str = "alexnet") -> keras.Model:
    """AlexNet with ``conv1 … conv5``, ``pool1/2/5``, ``fc6``, ``fc7``, ``predictions``.

    Args:
        include_top: keep ``flatten → fc6 → fc7 → predictions``.
        input_shape: ``(height, width, channels)``; sides of at least 63 (the smallest that survives
            the stride-4 stem and three 3×3/2 poolings), or ``None`` (any size) with ``include_top=False``.
        classes: outputs of ``predictions``.
        width_multiplier: scales every convolution's filters and the dense widths (4096 at 1.0),
            for CPU-sized variants.
        activation: of every hidden layer (the paper introduced ReLU here).
        kernel_initializer: of every convolution and dense layer.
        dropout: rate before ``fc6`` and ``fc7`` (0.5 in the paper); parameter-free.
        classifier_activation: of ``predictions``; ``None`` gives logits.
        pooling: with ``include_top=False``: ``None``, ``"avg"`` or ``"max"`` global pooling.
        input_tensor: a Keras tensor to build on (``keras.Input`` or a layer's output); its shape
            replaces ``input_shape``.
        name: the model's name.
    """
    check_top(include_top, classes, pooling)
    check_positive(width_multiplier=width_multiplier)
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1). Received: dropout={dropout!r}")
    inputs = image_input(input_shape, input_tensor, name=f"{name}_input")
    check_sides(tuple(inputs.shape[1:]), MIN_SIDE, include_top)
    x = inputs
    for conv_name, filters, kernel, stride, padding, pooled in ALEXNET_CONVS:
        if stride > 1:  # explicit symmetric padding: "same" would pad the stem asymmetrically
            x = keras.layers.ZeroPadding2D(padding, name=f"{conv_name}_pad")(x)
        x = keras.layers.Conv2D(scaled(filters, width_multiplier), kernel, strides=stride,
                                padding="valid" if stride > 1 else "same", activation=activation,
                                kernel_initializer=fresh_initializer(kernel_initializer), name=conv_name)(x)
        if pooled:
            x = keras.layers.MaxPooling2D(POOL_SIZE, strides=POOL_STRIDE, name=f"pool{conv_name[-1]}")(x)
    if include_top:
        x = keras.layers.Flatten(name="flatten")(x)
        for layer_name in ("fc6", "fc7"):
            if dropout:
                x = keras.layers.Dropout(dropout, name=f"{layer_name}_dropout")(x)
            x = keras.layers.Dense(scaled(4096, width_multiplier), activation=activation,
                                   kernel_initializer=fresh_initializer(kernel_initializer), name=layer_name)(x)
        x = keras.layers.Dense(classes, activation=classifier_activation, dtype=output_dtype(),
                               kernel_initializer=fresh_initializer(kernel_initializer), name="predictions")(x)
    else:
        x = global_pooling(x, pooling)
    return keras.Model(model_inputs(inputs, input_tensor), x, name=name)
