"""GoogLeNet (Szegedy et al., 2014): Inception blocks, 1×1 reductions, two auxiliary classifiers.

An Inception block runs four branches on the same input and concatenates them along channels:
1×1; 1×1 reduce → 3×3; 1×1 reduce → 5×5; 3×3/1 max-pool → 1×1 projection. The 1×1 reductions cut
the channels the expensive 3×3 and 5×5 convolutions see. ``reductions=False`` removes the two reduce
convolutions (the 3×3 and 5×5 see the whole input; the pool projection stays, so every block has the
same output width and the network the same shape): the comparison of the notes' claim.

The network of the paper's Table 1: 7×7/2 convolution, max-pool, 1×1 and 3×3 convolutions, max-pool,
blocks 3a–3b, max-pool, 4a–4e, max-pool, 5a–5b, global average pooling, dropout 0.4, a dense softmax.
Convolutions have biases and ReLU and no batch normalisation (as in the paper; its local response
normalisation is left out). With ``aux_classifiers=True`` the model has three outputs, the main one
and the auxiliary classifiers on the outputs of 4a and 4d (5×5/3 average pooling, 1×1 convolution
with 128 filters, dense 1024, dropout 0.7, dense softmax), which the paper weights by 0.3 in the loss.
"""
from __future__ import annotations

import keras

from keras_repro.models._common import (
    output_dtype,
    check_positive, check_top, fresh_initializer, global_pooling, image_input, model_inputs, scaled,
)

# name → (1×1, 3×3 reduce, 3×3, 5×5 reduce, 5×5, pool projection): Table 1 of the paper
INCEPTION_BLOCKS = {
    "3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64), "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64), "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128), "5b": (384, 192, 384, 48, 128, 128),
}
POOL_AFTER = ("3b", "4e")  # a 3×3/2 max-pool follows these blocks
AUX_AFTER = ("4a", "4d")
AUX_LOSS_WEIGHT = 0.3


def _conv(x, filters: int, kernel: int, name: str, *, stride: int = 1, kernel_initializer="glorot_uniform"):
    return keras.layers.Conv2D(filters, kernel, strides=stride, padding="same", activation="relu",
                               kernel_initializer=fresh_initializer(kernel_initializer), name=name)(x)


def inception_block(x, widths: tuple[int, ...], *, name: str, reductions: bool = True,
                    kernel_initializer="glorot_uniform"):
    """One Inception block: the four branches of ``widths`` (Table 1's six numbers) concatenated."""
    n1, n3r, n3, n5r, n5, pool_proj = widths
    ki = kernel_initializer
    b1 = _conv(x, n1, 1, f"{name}_1x1", kernel_initializer=ki)
    b3 = _conv(x, n3r, 1, f"{name}_3x3_reduce", kernel_initializer=ki) if reductions else x
    b3 = _conv(b3, n3, 3, f"{name}_3x3", kernel_initializer=ki)
    b5 = _conv(x, n5r, 1, f"{name}_5x5_reduce", kernel_initializer=ki) if reductions else x
    b5 = _conv(b5, n5, 5, f"{name}_5x5", kernel_initializer=ki)
    bp = keras.layers.MaxPooling2D(3, strides=1, padding="same", name=f"{name}_pool")(x)
    bp = _conv(bp, pool_proj, 1, f"{name}_pool_proj", kernel_initializer=ki)
    return keras.layers.Concatenate(name=f"{name}_concat")([b1, b3, b5, bp])


def _aux_classifier(x, classes: int, name: str, *, width_multiplier: float, dropout: float, kernel_initializer):
    x = keras.layers.AveragePooling2D(5, strides=3, name=f"{name}_pool")(x)
    x = _conv(x, scaled(128, width_multiplier), 1, f"{name}_conv", kernel_initializer=kernel_initializer)
    x = keras.layers.Flatten(name=f"{name}_flatten")(x)
    x = keras.layers.Dense(scaled(1024, width_multiplier), activation="relu",
                           kernel_initializer=fresh_initializer(kernel_initializer), name=f"{name}_fc")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name=f"{name}_dropout")(x)
    return keras.layers.Dense(classes, activation="softmax", dtype=output_dtype(), name=name)(x)


def googlenet(*, include_top: bool = True, input_shape: tuple = (224, 224, 3), classes: int = 1000,
              width_multiplier: float = 1.0, reductions: bool = True, aux_classifiers: bool = False,
              dropout: float = 0.4, aux_dropout: float = 0.7, kernel_initializer="glorot_uniform",
              classifier_activation="softmax", pooling: str | None = None, input_tensor=None,
              name: str | None = None) -> keras.Model:
    """GoogLeNet (Inception v1).

    Args:
        include_top: global average pooling, dropout, ``predictions``.
        input_shape: ``(height, width, channels)``; the auxiliary classifiers need sides ≥ 160
            (their 5×5/3 pooling sees the 4a/4d maps, input/16); ``None`` sides: any size (global
            pooling), without auxiliary classifiers (they flatten).
        width_multiplier: scales every width (Table 1's at 1.0): CPU-sized variants.
        reductions: the 1×1 reduce convolutions before the 3×3 and 5×5 (``False``: without).
        aux_classifiers: outputs ``[predictions, aux1, aux2]`` (the paper's three losses).
        dropout / aux_dropout: 0.4 before ``predictions`` / 0.7 in the auxiliary classifiers.
        pooling: with ``include_top=False``: ``None``, ``"avg"`` or ``"max"`` global pooling.
        input_tensor: a Keras tensor to build on (``keras.Input`` or a layer's output); its shape
            replaces ``input_shape``.
    """
    check_top(include_top, classes, pooling)
    check_positive(width_multiplier=width_multiplier)
    if aux_classifiers and not include_top:
        raise ValueError("aux_classifiers=True needs include_top=True (they are classifiers)")
    ki = kernel_initializer
    w = lambda n: scaled(n, width_multiplier)  # noqa: E731
    inputs = image_input(input_shape, input_tensor, name="image")
    if aux_classifiers and None in tuple(inputs.shape[1:3]):
        raise ValueError("aux_classifiers=True needs fixed sides (the auxiliary classifiers flatten). "
                         f"Received: input_shape={tuple(inputs.shape[1:])}")
    x = _conv(inputs, w(64), 7, "conv1_7x7", stride=2, kernel_initializer=ki)
    x = keras.layers.MaxPooling2D(3, strides=2, padding="same", name="pool1")(x)
    x = _conv(x, w(64), 1, "conv2_3x3_reduce", kernel_initializer=ki)
    x = _conv(x, w(192), 3, "conv2_3x3", kernel_initializer=ki)
    x = keras.layers.MaxPooling2D(3, strides=2, padding="same", name="pool2")(x)
    aux = []
    for block, widths in INCEPTION_BLOCKS.items():
        x = inception_block(x, tuple(w(n) for n in widths), name=f"inception_{block}", reductions=reductions,
                            kernel_initializer=ki)
        if aux_classifiers and block in AUX_AFTER:
            aux.append(_aux_classifier(x, classes, f"aux{len(aux) + 1}", width_multiplier=width_multiplier,
                                       dropout=aux_dropout, kernel_initializer=ki))
        if block in POOL_AFTER:
            x = keras.layers.MaxPooling2D(3, strides=2, padding="same", name=f"pool_{block}")(x)
    name = name or ("googlenet" if reductions else "googlenet_no_reductions")
    if not include_top:
        return keras.Model(model_inputs(inputs, input_tensor), global_pooling(x, pooling), name=name)
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="dropout")(x)
    x = keras.layers.Dense(classes, activation=classifier_activation, dtype=output_dtype(), name="predictions")(x)
    return keras.Model(model_inputs(inputs, input_tensor), [x, *aux] if aux_classifiers else x, name=name)
