"""VGG (Simonyan & Zisserman, 2014): configurations A, B, D, E; progressive deepening; VGG as a backbone.

Five blocks of 3×3 convolutions, each cascade followed by 2×2 max-pooling (which widens the
receptive field), then ``fc1``, ``fc2`` and ``predictions``::

    depth  config  convolutions per block     parameters at 224×224×3, 1000 classes
    11     A       1, 1, 2, 2, 2              132,863,336
    13     B       2, 2, 2, 2, 2              133,047,848
    16     D       2, 2, 3, 3, 3              138,357,544  (= keras.applications.VGG16)
    19     E       2, 2, 4, 4, 4              143,667,240  (= keras.applications.VGG19)

Layers are named as in ``keras.applications`` (``block3_conv2``, ``block3_pool``, ``fc1``, ...), so
a layer of a shallower configuration has the same name and shape in every deeper one. That makes
the paper's progressive training a copy by name (:func:`grow_vgg`): "we initialised the first four
convolutional layers and the last three fully-connected layers with the layers of net A (the
intermediate layers were initialised randomly)". Copying by name also carries the block's remaining
convolutions (``block3_conv2``, ...), as in the notes' "train 11 layers, add 2, train 13, ...".
"""
from __future__ import annotations

import keras

from keras_repro.models._common import (
    output_dtype,
    check_positive, check_sides, check_top, fresh_initializer, global_pooling, image_input, model_inputs, scaled,
)

VGG_CONVS_PER_BLOCK = {11: (1, 1, 2, 2, 2), 13: (2, 2, 2, 2, 2), 16: (2, 2, 3, 3, 3), 19: (2, 2, 4, 4, 4)}
VGG_CONFIG_NAMES = {11: "A", 13: "B", 16: "D", 19: "E"}
VGG_WIDTHS = (64, 128, 256, 512, 512)
VGG_FC_UNITS = 4096
MIN_SIDE = 32  # five 2×2 poolings


def vgg_block(x, convs: int, filters: int, *, activation="relu", kernel_initializer="glorot_uniform",
              name: str = "block1"):
    """``convs`` 3×3 'same' convolutions (``{name}_conv1`` …) then 2×2/2 max-pooling (``{name}_pool``)."""
    for i in range(1, convs + 1):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation=activation,
                                kernel_initializer=fresh_initializer(kernel_initializer), name=f"{name}_conv{i}")(x)
    return keras.layers.MaxPooling2D(2, strides=2, name=f"{name}_pool")(x)


def vgg_top(x, classes: int, *, fc_units: int, activation="relu", kernel_initializer="glorot_uniform",
            dropout: float = 0.0, classifier_activation="softmax"):
    """``flatten → fc1 → fc2 → predictions`` (dropout before ``fc2`` and ``predictions`` if > 0)."""
    x = keras.layers.Flatten(name="flatten")(x)
    for i in (1, 2):
        x = keras.layers.Dense(fc_units, activation=activation,
                               kernel_initializer=fresh_initializer(kernel_initializer), name=f"fc{i}")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"fc{i}_dropout")(x)
    return keras.layers.Dense(classes, activation=classifier_activation, dtype=output_dtype(),
                              kernel_initializer=fresh_initializer(kernel_initializer), name="predictions")(x)


def vgg(depth: int = 16, *, include_top: bool = True, input_shape: tuple[int, int, int] = (224, 224, 3),
        classes: int = 1000, width_multiplier: float = 1.0, fc_units: int | None = None, activation="relu",
        kernel_initializer="glorot_uniform", dropout: float = 0.0, classifier_activation="softmax",
        pooling: str | None = None, input_tensor=None, name: str | None = None) -> keras.Model:
    """VGG-``depth`` (11, 13, 16 or 19 weight layers: configurations A, B, D, E).

    Args:
        depth: 11, 13, 16 or 19.
        include_top: keep ``flatten → fc1 → fc2 → predictions``.
        input_shape: ``(height, width, channels)``; sides of at least 32, or ``None`` (any size) with
            ``include_top=False``.
        classes: outputs of ``predictions``.
        width_multiplier: scales every block's filters (64 … 512 at 1.0) and, unless ``fc_units`` is
            given, the dense width (4096 at 1.0): ``1/8`` gives a CPU-sized VGG.
        fc_units: width of ``fc1`` and ``fc2``; ``None``: ``4096 × width_multiplier``.
        activation: of every hidden layer.
        kernel_initializer: of every layer (the paper: ``RandomNormal(0, 0.01)`` for net A).
        dropout: after ``fc1`` and ``fc2`` (0.5 in the paper; 0 in ``keras.applications``).
        classifier_activation: of ``predictions``; ``None`` gives logits.
        pooling: with ``include_top=False``: ``None``, ``"avg"`` or ``"max"`` global pooling.
        input_tensor: a Keras tensor to build on (``keras.Input`` or a layer's output); its shape
            replaces ``input_shape`` and the model's inputs are the tensor's source inputs.
        name: the model's name (default ``vgg{depth}``).

    Layer names and order are ``keras.applications.VGG16``/``VGG19``'s, so at depth 16/19 with
    ``width_multiplier=1`` the weights of those models load with ``set_weights`` (inputs prepared by
    :func:`keras_repro.models.preprocess_input` with ``mode="caffe"``).
    """
    if depth not in VGG_CONVS_PER_BLOCK:
        raise ValueError(f"depth must be one of {sorted(VGG_CONVS_PER_BLOCK)}. Received: depth={depth!r}")
    check_positive(width_multiplier=width_multiplier)
    widths = tuple(scaled(w, width_multiplier) for w in VGG_WIDTHS)
    fc_units = scaled(VGG_FC_UNITS, width_multiplier) if fc_units is None else fc_units
    return _vgg(VGG_CONVS_PER_BLOCK[depth], widths, include_top=include_top, input_shape=input_shape,
                classes=classes, fc_units=fc_units, activation=activation, kernel_initializer=kernel_initializer,
                dropout=dropout, classifier_activation=classifier_activation, pooling=pooling,
                input_tensor=input_tensor, name=name or f"vgg{depth}")


def vgg11(**kwargs) -> keras.Model:
    """Configuration A."""
    return vgg(11, **kwargs)


def vgg13(**kwargs) -> keras.Model:
    """Configuration B."""
    return vgg(13, **kwargs)


def vgg16(**kwargs) -> keras.Model:
    """Configuration D."""
    return vgg(16, **kwargs)


def vgg19(**kwargs) -> keras.Model:
    """Configuration E."""
    return vgg(19, **kwargs)


def _vgg(convs_per_block, widths, *, include_top, input_shape, classes, fc_units, activation, kernel_initializer,
         dropout, classifier_activation, pooling, name, input_tensor=None) -> keras.Model:
    check_top(include_top, classes, pooling)
    check_positive(fc_units=fc_units)
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1). Received: dropout={dropout!r}")
    inputs = image_input(input_shape, input_tensor, name=f"{name}_input")
    check_sides(tuple(inputs.shape[1:]), MIN_SIDE, include_top)
    x = inputs
    for b, (convs, filters) in enumerate(zip(convs_per_block, widths), start=1):
        x = vgg_block(x, convs, filters, activation=activation, kernel_initializer=kernel_initializer, name=f"block{b}")
    if include_top:
        x = vgg_top(x, classes, fc_units=fc_units, activation=activation, kernel_initializer=kernel_initializer,
                    dropout=dropout, classifier_activation=classifier_activation)
    else:
        x = global_pooling(x, pooling)
    return keras.Model(model_inputs(inputs, input_tensor), x, name=name)


# -- progressive deepening ---------------------------------------------------------------------------
def convs_per_block(model: keras.Model) -> tuple[int, ...]:
    """How many ``block{b}_conv{i}`` layers each of the five blocks of a VGG model has."""
    names = {layer.name for layer in model.layers}
    counts = []
    for b in range(1, len(VGG_WIDTHS) + 1):
        i = 0
        while f"block{b}_conv{i + 1}" in names:
            i += 1
        counts.append(i)
    if 0 in counts:
        raise ValueError(f"{model.name!r} is not a VGG built by keras_repro.models.vgg "
                         f"(convolutions per block: {counts})")
    return tuple(counts)


def vgg_depth(model: keras.Model) -> int:
    """The configuration depth (11, 13, 16, 19) of a VGG model."""
    counts = convs_per_block(model)
    for depth, config in VGG_CONVS_PER_BLOCK.items():
        if config == counts:
            return depth
    raise ValueError(f"{model.name!r} has convolutions per block {counts}, which is none of "
                     f"{VGG_CONVS_PER_BLOCK}")


def copy_weights_by_name(source: keras.Model, target: keras.Model) -> list[str]:
    """Set every weighted layer of ``target`` that ``source`` also has (same name) to ``source``'s weights.

    Returns the names copied, in ``target``'s order. A same-named layer with other weight shapes is an
    error: the two models are not the same family/width.
    """
    by_name = {layer.name: layer for layer in source.layers}
    copied = []
    for layer in target.layers:
        if not layer.weights or layer.name not in by_name:
            continue
        weights = by_name[layer.name].get_weights()
        have = [tuple(w.shape) for w in layer.get_weights()]
        got = [tuple(w.shape) for w in weights]
        if have != got:
            raise ValueError(f"layer {layer.name!r}: weight shapes differ between {source.name!r} {got} and "
                             f"{target.name!r} {have}")
        layer.set_weights(weights)
        copied.append(layer.name)
    return copied


def grow_vgg(trained: keras.Model, depth: int, *, kernel_initializer=None, name: str | None = None) -> keras.Model:
    """A VGG-``depth`` whose layers that exist in ``trained`` start from its weights (by layer name).

    The deeper net has ``trained``'s input shape, widths, dense units, activation, dropout and head;
    its new convolutions are initialised with ``kernel_initializer`` (default: the one ``trained``
    was configured with, e.g. the paper's ``RandomNormal(0, 0.01)``) and zero biases.
    """
    if depth not in VGG_CONVS_PER_BLOCK:
        raise ValueError(f"depth must be one of {sorted(VGG_CONVS_PER_BLOCK)}. Received: depth={depth!r}")
    have = convs_per_block(trained)
    want = VGG_CONVS_PER_BLOCK[depth]
    if any(w < h for w, h in zip(want, have)):
        raise ValueError(f"grow_vgg only adds layers: {trained.name!r} has {have} convolutions per block, "
                         f"VGG-{depth} {want}. Received: depth={depth!r}")
    first = trained.get_layer("block1_conv1").get_config()
    names = {layer.name for layer in trained.layers}
    include_top = "predictions" in names
    top = trained.get_layer("predictions").get_config() if include_top else {}
    dropout = trained.get_layer("fc1_dropout").rate if "fc1_dropout" in names else 0.0
    widths = tuple(trained.get_layer(f"block{b}_conv1").filters for b in range(1, len(have) + 1))
    grown = _vgg(want, widths, include_top=include_top, input_shape=tuple(trained.input_shape[1:]),
                 classes=top.get("units", 1), fc_units=trained.get_layer("fc1").units if include_top else 1,
                 activation=first["activation"],
                 kernel_initializer=first["kernel_initializer"] if kernel_initializer is None else kernel_initializer,
                 dropout=dropout, classifier_activation=top.get("activation", "softmax"),
                 pooling="avg" if "avg_pool" in names else "max" if "max_pool" in names else None,
                 name=name or f"vgg{depth}")
    copy_weights_by_name(trained, grown)
    return grown


# -- VGG as a backbone -------------------------------------------------------------------------------
def vgg_backbone(trained: keras.Model, classes: int, *, head_units: int = 256, activation="relu",
                 classifier_activation="softmax", trainable: bool = False, name: str | None = None) -> keras.Model:
    """``trained``'s convolutional part (frozen unless ``trainable``) under a new classification head.

    The notes: "VGG is often used as a backbone: freeze the convolutional layers, drop the dense ones,
    add your own layers and train". The convolutional part is a copy (``trained`` is left as it is),
    a sub-model named ``backbone`` called with ``training=False``; the head is
    ``head_pool (global average) → head_fc → head_predictions``.
    """
    check_positive(classes=classes, head_units=head_units)
    last_pool = f"block{len(VGG_WIDTHS)}_pool"
    features = keras.Model(trained.inputs, trained.get_layer(last_pool).output)
    backbone = keras.models.clone_model(features)
    backbone.set_weights(features.get_weights())
    backbone = keras.Model(backbone.input, backbone.output, name="backbone")
    backbone.trainable = trainable
    inputs = keras.Input(tuple(trained.input_shape[1:]), name="image")
    x = backbone(inputs, training=False)
    x = keras.layers.GlobalAveragePooling2D(name="head_pool")(x)
    x = keras.layers.Dense(head_units, activation=activation, name="head_fc")(x)
    outputs = keras.layers.Dense(classes, activation=classifier_activation, dtype=output_dtype(),
                                 name="head_predictions")(x)
    return keras.Model(inputs, outputs, name=name or f"{trained.name}_backbone_head")
