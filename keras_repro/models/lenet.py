"""LeNet-5 (LeCun, Bottou, Bengio & Haffner, 1998), as the notes draw it.

"2 convolutional layers → flatten → 3 fully connected + softmax", for handwritten digits::

    32×32×1 ─conv1 6@5×5─ 28×28×6 ─pool1─ 14×14×6 ─conv2 16@5×5─ 10×10×16 ─pool2─ 5×5×16
            ─flatten─ 400 ─fc1─ 120 ─fc2─ 84 ─predictions─ 10

61,706 parameters at 32×32×1 with 10 classes. The paper's C5 layer is a 5×5 convolution over a
5×5 map, i.e. exactly the dense layer ``fc1`` here; its subsampling layers have a trainable scale
and bias (average pooling here) and its output layer is RBF units (softmax here, as in the notes).
"""
from __future__ import annotations

import keras

from keras_repro.models._common import (
    output_dtype,
    check_positive, check_sides, check_top, fresh_initializer, global_pooling, image_input, model_inputs, scaled,
)

POOLINGS = ("average", "max")


def lenet5(*, include_top: bool = True, input_shape: tuple[int, int, int] = (32, 32, 1), classes: int = 10,
           activation="tanh", subsampling: str = "average", width_multiplier: float = 1.0,
           kernel_initializer="glorot_uniform", classifier_activation="softmax", pooling: str | None = None,
           input_tensor=None, name: str = "lenet5") -> keras.Model:
    """LeNet-5: ``conv1 → pool1 → conv2 → pool2 → flatten → fc1 → fc2 → predictions``.

    Args:
        include_top: keep ``flatten → fc1 → fc2 → predictions``; without it the model ends at
            ``pool2`` (or a global ``pooling`` of it).
        input_shape: ``(height, width, channels)``; both sides at least 16 (two valid 5×5
            convolutions and two halvings), or ``None`` (any size) with ``include_top=False``.
        classes: outputs of ``predictions``.
        activation: hidden activation (the paper used a scaled tanh).
        subsampling: ``"average"`` (the paper's subsampling) or ``"max"``.
        width_multiplier: scales every layer's filters and units (6, 16, 120, 84 at 1.0).
        kernel_initializer: for every convolution and dense layer.
        classifier_activation: of ``predictions``; ``None`` gives logits.
        pooling: with ``include_top=False``: ``None``, ``"avg"`` or ``"max"`` global pooling.
        input_tensor: a Keras tensor to build on (``keras.Input`` or a layer's output); its shape
            replaces ``input_shape``.
        name: the model's name.
    """
    check_top(include_top, classes, pooling)
    check_positive(width_multiplier=width_multiplier)
    if subsampling not in POOLINGS:
        raise ValueError(f"subsampling must be one of {POOLINGS}. Received: subsampling={subsampling!r}")
    pool = keras.layers.AveragePooling2D if subsampling == "average" else keras.layers.MaxPooling2D
    conv = dict(kernel_size=5, padding="valid", activation=activation)

    inputs = image_input(input_shape, input_tensor, name=f"{name}_input")
    check_sides(tuple(inputs.shape[1:]), 16, include_top)
    x = keras.layers.Conv2D(scaled(6, width_multiplier), kernel_initializer=fresh_initializer(kernel_initializer),
                            name="conv1", **conv)(inputs)
    x = pool(2, name="pool1")(x)
    x = keras.layers.Conv2D(scaled(16, width_multiplier), kernel_initializer=fresh_initializer(kernel_initializer),
                            name="conv2", **conv)(x)
    x = pool(2, name="pool2")(x)
    if include_top:
        x = keras.layers.Flatten(name="flatten")(x)
        for i, units in enumerate((120, 84), start=1):
            x = keras.layers.Dense(scaled(units, width_multiplier), activation=activation,
                                   kernel_initializer=fresh_initializer(kernel_initializer), name=f"fc{i}")(x)
        x = keras.layers.Dense(classes, activation=classifier_activation, dtype=output_dtype(),
                               kernel_initializer=fresh_initializer(kernel_initializer), name="predictions")(x)
    else:
        x = global_pooling(x, pooling)
    return keras.Model(model_inputs(inputs, input_tensor), x, name=name)

