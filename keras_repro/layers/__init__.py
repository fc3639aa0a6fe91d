"""Custom Keras layers, registered with ``package="keras_repro"``."""
from keras_repro.layers.convolution import GroupedConv2D
from keras_repro.layers.regularization import ClassicDropout, DropConnect

__all__ = ["ClassicDropout", "DropConnect", "GroupedConv2D"]
