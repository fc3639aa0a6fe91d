"""ResNet (He et al., 2015) and ResNeXt (Xie et al., 2016), ImageNet- and CIFAR-style.

ImageNet-style (:func:`resnet`, :func:`resnext`): a 7×7/2 convolution and a 3×3/2 max-pool, four
stages of residual blocks at 64, 128, 256, 512 base widths (each later stage halves the side), global
average pooling and one dense softmax layer. Five halvings: the side before pooling is input/32, and
any input of at least 32 pixels works, since pooling is global. Blocks follow the reference
implementation of torchvision (and ``keras.applications``): convolutions without bias, each followed
by batch normalisation (ε = 1e-5 and moving averages with momentum 0.9, i.e. torchvision's
0.1); the stride of a bottleneck sits on its 3×3 convolution ("ResNet v1.5"); a
1×1 convolution + BN projects the shortcut where the shape changes. ``conv_bias=True`` gives the
convolutions biases as in ``keras.applications.ResNet50`` (a Caffe port), and with them that model's
layout, ``variant="v1"``: the paper's stride on the first 1×1 convolution of a bottleneck,
symmetric zero padding before the stem convolution and pooling (``conv1_pad``, ``pool1_pad``) and
BN ε = 1.001e-5. Its layer names are ``keras.applications``' (``conv3_block1_1_conv`` ...), so
:func:`keras_repro.models.load_applications_weights` copies a ``keras.applications.ResNet50``'s
weights into ``resnet(50, conv_bias=True)`` and both compute the same function.

- basic block (ResNet-18/34): 3×3 → 3×3, output = relu(F(x) + x);
- bottleneck (ResNet-50/101/152): 1×1 (reduce) → 3×3 → 1×1 (expand ×4);
- ResNeXt bottleneck: the 3×3 is a grouped convolution of ``cardinality`` groups, each
  ``base_width`` channels wide at the first stage (ResNeXt-50 32×4d).

``residual=False`` drops the shortcuts (the "plain" networks of the paper's degradation experiment).

CIFAR-style (:func:`resnet_cifar`): 6n + 2 layers on 32×32 inputs, a 3×3 convolution, three stages of
n basic blocks at 16, 32, 64 filters, global average pooling and a dense layer (the paper's §4.2).
"""
from __future__ import annotations

import keras

from keras_repro.layers.convolution import GroupedConv2D
from keras_repro.models._common import (
    output_dtype,
    check_positive, check_top, fresh_initializer, global_pooling, image_input, model_inputs, scaled,
)

RESNET_STAGES = {  # depth → (block, blocks per stage)
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    26: ("bottleneck", (2, 2, 2, 2)),  # not in the paper; timm's resnet26, a quick bottleneck net
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}
RESNET_WIDTHS = (64, 128, 256, 512)
BOTTLENECK_EXPANSION = 4
BN_EPSILON = 1e-5
BN_MOMENTUM = 0.9  # torchvision's momentum=0.1: moving statistics settle within short CPU runs
APPLICATIONS_BN_EPSILON = 1.001e-5  # keras.applications' ResNets (variant "v1")
VARIANTS = ("v1", "v1.5")


def _conv_bn(x, filters: int, kernel: int, stride: int, name: str, *, groups: int = 1, use_bias: bool = False,
             kernel_initializer="he_normal", padding: str = "same", epsilon: float = BN_EPSILON):
    conv = GroupedConv2D if groups > 1 else keras.layers.Conv2D  # grouped: fast on CPUs too (see the layer)
    x = conv(filters, kernel, strides=stride, padding=padding, groups=groups, use_bias=use_bias,
             kernel_initializer=fresh_initializer(kernel_initializer), name=f"{name}_conv")(x)
    return keras.layers.BatchNormalization(epsilon=epsilon, momentum=BN_MOMENTUM, name=f"{name}_bn")(x)


def _finish_block(shortcut, y, x, filters: int, stride: int, name: str, residual: bool, conv_bias: bool,
                  kernel_initializer, epsilon: float = BN_EPSILON):
    if residual:
        if shortcut is None:
            shortcut = x
            if stride != 1 or x.shape[-1] != filters:
                shortcut = _conv_bn(x, filters, 1, stride, f"{name}_0", use_bias=conv_bias,
                                    kernel_initializer=kernel_initializer, epsilon=epsilon)
        y = keras.layers.Add(name=f"{name}_add")([shortcut, y])
    return keras.layers.Activation("relu", name=f"{name}_out")(y)


def basic_block(x, filters: int, stride: int = 1, *, name: str, residual: bool = True, conv_bias: bool = False,
                kernel_initializer="he_normal", epsilon: float = BN_EPSILON):
    """Two 3×3 convolutions (+ BN); ``relu(F(x) + x)`` with ``residual``, ``relu(F(x))`` without."""
    common = dict(use_bias=conv_bias, kernel_initializer=kernel_initializer, epsilon=epsilon)
    y = _conv_bn(x, filters, 3, stride, f"{name}_1", **common)
    y = keras.layers.Activation("relu", name=f"{name}_1_relu")(y)
    y = _conv_bn(y, filters, 3, 1, f"{name}_2", **common)
    return _finish_block(None, y, x, filters, stride, name, residual, conv_bias, kernel_initializer, epsilon=epsilon)


def bottleneck_block(x, filters: int, stride: int = 1, *, name: str, cardinality: int = 1, base_width: int = 64,
                     residual: bool = True, conv_bias: bool = False, kernel_initializer="he_normal",
                     variant: str = "v1.5"):
    """1×1 reduce → 3×3 (grouped when ``cardinality`` > 1) → 1×1 expand to ``4 × filters``; the inner
    width is ``filters × base_width / 64 × cardinality``. The stride sits on the 3×3 (``"v1.5"``) or
    on the first 1×1 (``"v1"``, the paper's and ``keras.applications``', with BN ε = 1.001e-5)."""
    width = max(1, int(filters * base_width / 64)) * cardinality
    out = filters * BOTTLENECK_EXPANSION
    v1 = variant == "v1"
    eps = APPLICATIONS_BN_EPSILON if v1 else BN_EPSILON
    common = dict(use_bias=conv_bias, kernel_initializer=kernel_initializer, epsilon=eps)
    y = _conv_bn(x, width, 1, stride if v1 else 1, f"{name}_1", **common)
    y = keras.layers.Activation("relu", name=f"{name}_1_relu")(y)
    y = _conv_bn(y, width, 3, 1 if v1 else stride, f"{name}_2", groups=cardinality, **common)
    y = keras.layers.Activation("relu", name=f"{name}_2_relu")(y)
    y = _conv_bn(y, out, 1, 1, f"{name}_3", **common)
    return _finish_block(None, y, x, out, stride, name, residual, conv_bias, kernel_initializer, epsilon=eps)


def _head(x, inputs, *, include_top: bool, classes: int, pooling, classifier_activation, name: str):
    if include_top:
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = keras.layers.Dense(classes, activation=classifier_activation, dtype=output_dtype(), name="predictions")(x)
    else:
        x = global_pooling(x, pooling)
    return keras.Model(inputs, x, name=name)


def _stem(inputs, filters: int, *, variant: str, conv_bias: bool, kernel_initializer):
    """7×7/2 convolution + BN + ReLU, 3×3/2 max-pool: "same" padding (``"v1.5"``) or, as
    ``keras.applications``, symmetric zero padding then "valid" (``"v1"``; for even sides "same"
    pads one more pixel after than before, so the two see shifted windows)."""
    if variant == "v1":
        x = keras.layers.ZeroPadding2D(3, name="conv1_pad")(inputs)
        x = _conv_bn(x, filters, 7, 2, "conv1", use_bias=conv_bias, kernel_initializer=kernel_initializer,
                     padding="valid", epsilon=APPLICATIONS_BN_EPSILON)
        x = keras.layers.Activation("relu", name="conv1_relu")(x)
        x = keras.layers.ZeroPadding2D(1, name="pool1_pad")(x)  # after the ReLU, zeros never win the max
        return keras.layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    x = _conv_bn(inputs, filters, 7, 2, "conv1", use_bias=conv_bias, kernel_initializer=kernel_initializer)
    x = keras.layers.Activation("relu", name="conv1_relu")(x)
    return keras.layers.MaxPooling2D(3, strides=2, padding="same", name="pool1")(x)


def _imagenet_resnet(block: str, stages: tuple[int, ...], *, include_top, input_shape, classes, width_multiplier,
                     cardinality, base_width, residual, conv_bias, kernel_initializer, classifier_activation,
                     pooling, name, variant=None, input_tensor=None):
    check_top(include_top, classes, pooling)
    check_positive(width_multiplier=width_multiplier, cardinality=cardinality, base_width=base_width)
    variant = ("v1" if conv_bias else "v1.5") if variant is None else variant
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS} or None. Received: variant={variant!r}")
    eps = APPLICATIONS_BN_EPSILON if variant == "v1" else BN_EPSILON
    inputs = image_input(input_shape, input_tensor, name="image")
    x = _stem(inputs, scaled(64, width_multiplier), variant=variant, conv_bias=conv_bias,
              kernel_initializer=kernel_initializer)
    for stage, (blocks, width) in enumerate(zip(stages, RESNET_WIDTHS), start=2):
        filters = scaled(width, width_multiplier)
        for b in range(blocks):
            stride = 2 if b == 0 and stage > 2 else 1
            block_name = f"conv{stage}_block{b + 1}"
            if block == "basic":
                x = basic_block(x, filters, stride, name=block_name, residual=residual, conv_bias=conv_bias,
                                kernel_initializer=kernel_initializer, epsilon=eps)
            else:
                x = bottleneck_block(x, filters, stride, name=block_name, cardinality=cardinality,
                                     base_width=base_width, residual=residual, conv_bias=conv_bias,
                                     kernel_initializer=kernel_initializer, variant=variant)
    return _head(x, model_inputs(inputs, input_tensor), include_top=include_top, classes=classes, pooling=pooling,
                 classifier_activation=classifier_activation, name=name)


def resnet(depth: int = 50, *, include_top: bool = True, input_shape: tuple = (224, 224, 3), classes: int = 1000,
           width_multiplier: float = 1.0, residual: bool = True, conv_bias: bool = False,
           kernel_initializer="he_normal", classifier_activation="softmax", pooling: str | None = None,
           variant: str | None = None, input_tensor=None, name: str | None = None) -> keras.Model:
    """ResNet-``depth`` (18, 34, 50, 101 or 152; also 26) for ImageNet-sized inputs.

    Args:
        depth: 18, 34 (basic blocks), 50, 101, 152 (bottlenecks); 26: two bottlenecks per stage.
        include_top: global average pooling + ``predictions`` (dense, ``classes`` outputs).
        input_shape: ``(height, width, channels)``; ``(None, None, 3)`` accepts any size ≥ 32.
        width_multiplier: scales every width (64 … 512 at 1.0): CPU-sized variants.
        residual: with shortcuts (ResNet) or without (the paper's plain network of the same depth).
        conv_bias: biases in the convolutions (``keras.applications.ResNet50`` has them; torchvision not).
        pooling: with ``include_top=False``: ``None``, ``"avg"`` or ``"max"`` global pooling.
        variant: ``"v1.5"`` (stride on the bottleneck's 3×3, "same" padding in the stem, as torchvision
            places the stride) or ``"v1"`` (``keras.applications.ResNet50``'s layout, see the module
            docstring); ``None``: ``"v1"`` with ``conv_bias``, else ``"v1.5"``.
        input_tensor: a Keras tensor to build on (``keras.Input`` or a layer's output); its shape
            replaces ``input_shape``.
    """
    if depth not in RESNET_STAGES:
        raise ValueError(f"depth must be one of {sorted(RESNET_STAGES)}. Received: depth={depth!r}")
    block, stages = RESNET_STAGES[depth]
    prefix = "resnet" if residual else "plain"
    return _imagenet_resnet(block, stages, include_top=include_top, input_shape=input_shape, classes=classes,
                            width_multiplier=width_multiplier, cardinality=1, base_width=64, residual=residual,
                            conv_bias=conv_bias, kernel_initializer=kernel_initializer,
                            classifier_activation=classifier_activation, pooling=pooling, variant=variant,
                            input_tensor=input_tensor, name=name or f"{prefix}{depth}")


def resnext(depth: int = 50, cardinality: int = 32, base_width: int = 4, **kwargs) -> keras.Model:
    """ResNeXt-``depth`` (50, 101 or 152; also 26) ``cardinality``×``base_width``d, e.g. ResNeXt-50 32×4d.

    Keyword arguments as :func:`resnet`.
    """
    if depth not in RESNET_STAGES or RESNET_STAGES[depth][0] != "bottleneck":
        raise ValueError(f"depth must be 26, 50, 101 or 152 (bottleneck ResNets). Received: depth={depth!r}")
    for key in ("residual",):
        if kwargs.get(key) is False:
            raise ValueError("ResNeXt is residual; use resnet(residual=False) for a plain network")
    options = dict(include_top=True, input_shape=(224, 224, 3), classes=1000, width_multiplier=1.0, residual=True,
                   conv_bias=False, kernel_initializer="he_normal", classifier_activation="softmax", pooling=None,
                   variant=None, input_tensor=None, name=f"resnext{depth}_{cardinality}x{base_width}d")
    unknown = set(kwargs) - set(options)
    if unknown:
        raise TypeError(f"resnext() got unexpected keyword arguments: {', '.join(sorted(unknown))}")
    options.update(kwargs)
    return _imagenet_resnet("bottleneck", RESNET_STAGES[depth][1], cardinality=cardinality, base_width=base_width,
                            **options)


def resnet_cifar(depth: int = 20, *, residual: bool = True, input_shape: tuple = (32, 32, 3), classes: int = 10,
                 width_multiplier: float = 1.0, kernel_initializer="he_normal", classifier_activation="softmax",
                 name: str | None = None) -> keras.Model:
    """The CIFAR ResNet of the paper's §4.2 (``depth = 6n + 2``: 20, 32, 44, 56, 110 …), or its plain twin.

    A 3×3 convolution with 16 filters, three stages of n basic blocks (16, 32, 64 filters; the side
    halves at each new stage, by a stride-2 convolution), global average pooling, a dense softmax.
    Shortcuts that change shape use a 1×1 projection (the paper's option B).
    """
    if not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
        raise ValueError(f"depth must be 6n + 2 with n >= 1 (8, 14, 20, 32, 44, 56, 110 ...). Received: {depth!r}")
    check_positive(width_multiplier=width_multiplier)
    n = (depth - 2) // 6
    inputs = keras.Input(input_shape, name="image")
    x = _conv_bn(inputs, scaled(16, width_multiplier), 3, 1, "conv1", kernel_initializer=kernel_initializer)
    x = keras.layers.Activation("relu", name="conv1_relu")(x)
    for stage, width in enumerate((16, 32, 64), start=2):
        for b in range(n):
            stride = 2 if b == 0 and stage > 2 else 1
            x = basic_block(x, scaled(width, width_multiplier), stride, name=f"conv{stage}_block{b + 1}",
                            residual=residual, kernel_initializer=kernel_initializer)
    prefix = "resnet" if residual else "plain"
    return _head(x, inputs, include_top=True, classes=classes, pooling=None,
                 classifier_activation=classifier_activation, name=name or f"{prefix}{depth}_cifar")

