"""Argument checks and small pieces shared by the convolutional builders (LeNet, AlexNet, VGG)."""
from __future__ import annotations

import math

import keras

GLOBAL_POOLINGS = (None, "avg", "max")


def check_positive(**values: float) -> None:
    """Raise ``ValueError`` naming the first argument that is not > 0."""
    for key, value in values.items():
        if not value > 0:
            raise ValueError(f"{key} must be > 0. Received: {key}={value!r}")


def check_top(include_top: bool, classes: int, pooling: str | None) -> None:
    """``classes`` must be >= 1 with a top; ``pooling`` (only without a top) is None, "avg" or "max"."""
    if include_top and classes < 1:
        raise ValueError(f"classes must be >= 1 when include_top=True. Received: classes={classes!r}")
    if pooling not in GLOBAL_POOLINGS:
        raise ValueError(f"pooling must be one of {GLOBAL_POOLINGS}. Received: pooling={pooling!r}")
    if include_top and pooling is not None:
        raise ValueError(f"pooling applies only with include_top=False. Received: pooling={pooling!r}")


def image_input(input_shape, input_tensor, name: str):
    """The tensor a builder starts from, as ``keras.applications`` does.

    ``input_tensor`` (a Keras tensor: ``keras.Input(...)`` or another model's output) is used as it
    is, and its shape wins over ``input_shape``; otherwise a new ``keras.Input(input_shape)``. Sides
    may be ``None`` (any size).
    """
    if input_tensor is None:
        return keras.Input(tuple(input_shape), name=name)
    if not keras.backend.is_keras_tensor(input_tensor):
        raise ValueError("input_tensor must be a Keras tensor (keras.Input(...) or a layer's output). "
                         f"Received: input_tensor of type {type(input_tensor).__name__}")
    return input_tensor


def model_inputs(inputs, input_tensor):
    """The model's inputs: the source ``keras.Input``s behind ``input_tensor`` when one was given."""
    return inputs if input_tensor is None else keras.utils.get_source_inputs(input_tensor)


def check_sides(input_shape, min_side: int, include_top: bool) -> None:
    """``(height, width, channels)`` with known sides >= ``min_side``; ``None`` sides only without a
    top that flattens (its dense layer needs a fixed number of inputs)."""
    if len(input_shape) != 3 or any(side is not None and side < min_side for side in input_shape[:2]):
        raise ValueError(f"input_shape must be (height, width, channels) with sides >= {min_side} (or None). "
                         f"Received: input_shape={tuple(input_shape)}")
    if include_top and None in tuple(input_shape[:2]):
        raise ValueError("include_top=True needs fixed sides (the top flattens the feature map); use "
                         f"include_top=False with pooling for any size. Received: input_shape={tuple(input_shape)}")


def output_dtype() -> str | None:
    """The dtype of a model's output layer: ``"float32"`` under a mixed policy (Keras's mixed-precision guide:
    the final softmax, and so the loss, in float32; a bfloat16 softmax keeps ~3 significant digits), else
    ``None`` (the global policy). Read when the model is built."""
    policy = keras.config.dtype_policy()
    return "float32" if policy.compute_dtype != policy.variable_dtype else None


def trainable_parameters(model: keras.Model) -> int:
    """Trainable parameters only: what torchvision's and Caffe's counts report (``count_params`` also
    counts non-trainable weights such as BatchNorm's moving statistics)."""
    return int(sum(math.prod(w.shape) for w in model.trainable_weights))


def scaled(width: int, width_multiplier: float) -> int:
    """``width × width_multiplier`` rounded, at least 1: the CPU-sized variants' layer widths."""
    return max(1, int(round(width * width_multiplier)))


def global_pooling(x, pooling: str | None):
    """``None`` (identity), ``"avg"`` or ``"max"`` global pooling, named like keras.applications."""
    if pooling == "avg":
        return keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if pooling == "max":
        return keras.layers.GlobalMaxPooling2D(name="max_pool")(x)
    return x


def fresh_initializer(initializer):
    """A new initializer for one layer, configured like ``initializer``.

    Keras initializer *instances* draw a fixed seed when built, so one instance shared by several
    layers gives every same-shaped layer the same weights. Names and configs are passed through
    (each layer then builds its own); an instance is re-created from its config, so an unseeded one
    gets a new seed per layer (a seeded one stays as reproducible as its seed asks).
    """
    if isinstance(initializer, keras.initializers.Initializer):
        return initializer.__class__.from_config(initializer.get_config())
    return initializer


def inference_copy(model: keras.Model) -> keras.Model:
    """An uncompiled copy of ``model`` with the same weights: saved, it holds no optimizer state.

    A compiled model's ``.keras`` file carries the optimizer's slots (Adam: twice the weights again),
    which reference results do not need.
    """
    copy = model.__class__.from_config(model.get_config())  # clone_model would compile the copy again
    copy.set_weights(model.get_weights())
    return copy
