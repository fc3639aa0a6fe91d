"""Custom Keras layers, registered with ``package="keras_repro"``."""
from keras_repro.layers.convolution import GroupedConv2D
from keras_repro.layers.regularization import ClassicDropout, DropConnect

__all__ = ["ClassicDropout", "DropConnect", "GroupedConv2D"]


import keras_repro as _package  # noqa: E402

_package._register()  # every registering module, if Keras's first import came from this one
