"""Input preprocessing for apps: inside a saved model (:func:`with_preprocessing`) or as a function
(:func:`preprocess_input`).

Which convention a model expects depends on where its weights come from, not on its family:

==========================================  =================================================================
weights                                      input
==========================================  =================================================================
trained by a reproduction on ``load_arrays``  ``x / 255`` (``mode="unit"``): LeNet-5, the CIFAR ResNets, the MLPs
  (``to_unit_float``)
trained by a reproduction on ``make_datasets`` ``(x / 255 - mean) / std`` per channel (``mode="standardize"``)
  (AlexNet, VGG, GoogLeNet)                   with the training set's mean/std, recorded in ``run.json``
from ``keras.applications.VGG16/VGG19/``      ``mode="caffe"`` (:func:`vgg_preprocess_input`,
  ``ResNet50`` (loaded into ``vgg``/``resnet``)  :func:`resnet_preprocess_input`): RGB → BGR, minus the
                                              ImageNet BGR means, no scaling (``keras.applications.vgg16.
                                              preprocess_input``)
==========================================  =================================================================

Models saved by the suite (``ctx.save_model(..., preprocessing=...)``) carry their preprocessing as
built-in ``Rescaling`` and ``Normalization`` layers, so ``load_model(path).predict(uint8_images)`` is
right without any of this; the images must only have the model's input size (and channel order RGB).
"""
from __future__ import annotations

from typing import Sequence

import keras
import numpy as np
from keras import ops

MODES = ("unit", "standardize", "caffe", "torch", "tf")
CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)  # ImageNet, in BGR order (keras.applications.imagenet_utils)
TORCH_MEAN = (0.485, 0.456, 0.406)  # ImageNet, RGB, in [0, 1] units
TORCH_STD = (0.229, 0.224, 0.225)


def _check_stats(mean, std, channels: int | None) -> tuple[np.ndarray, np.ndarray]:
    if mean is None or std is None:
        raise ValueError(f"mean and std are both needed. Received: mean={mean!r}, std={std!r}")
    mean, std = np.asarray(mean, "float32").reshape(-1), np.asarray(std, "float32").reshape(-1)
    if len(mean) != len(std) or (channels is not None and len(mean) not in (1, channels)):
        raise ValueError(f"mean and std need one value per channel ({channels}). "
                         f"Received: mean={mean.tolist()}, std={std.tolist()}")
    if not np.all(std > 0):
        raise ValueError(f"std must be > 0. Received: std={std.tolist()}")
    return mean, std


def preprocess_input(x, mode: str = "unit", *, mean: Sequence[float] | None = None,
                     std: Sequence[float] | None = None):
    """Images ``x`` (``[..., height, width, channels]``, values 0…255, RGB) as a model expects them.

    Modes (see the module docstring for which model expects which):

    - ``"unit"``: ``x / 255``;
    - ``"standardize"``: ``(x / 255 - mean) / std`` per channel (``mean``/``std`` in [0, 1] units,
      as ``make_datasets`` computes them and ``run.json`` records them);
    - ``"caffe"``: RGB → BGR, then minus the ImageNet BGR means, unscaled: the weights of
      ``keras.applications.VGG16``/``VGG19``/``ResNet50``;
    - ``"torch"``: ``(x / 255 - ImageNet mean) / ImageNet std``;
    - ``"tf"``: ``x / 127.5 - 1``.

    Returns a float32 tensor of the backend (``keras.ops`` only, so it also runs inside a model).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}. Received: mode={mode!r}")
    x = ops.cast(ops.convert_to_tensor(x), "float32")
    if mode == "unit":
        return x / 255.0
    if mode == "tf":
        return x / 127.5 - 1.0
    if mode == "caffe":
        return ops.flip(x, axis=-1) - ops.convert_to_tensor(np.asarray(CAFFE_BGR_MEAN, "float32"))
    if mode == "torch":
        mean, std = TORCH_MEAN, TORCH_STD
    mean, std = _check_stats(mean, std, x.shape[-1])
    return (x / 255.0 - ops.convert_to_tensor(mean)) / ops.convert_to_tensor(std)


def vgg_preprocess_input(x):
    """For ``vgg(16)``/``vgg(19)`` holding ``keras.applications`` weights: ``mode="caffe"``."""
    return preprocess_input(x, "caffe")


def resnet_preprocess_input(x):
    """For ``resnet(50, conv_bias=True)`` holding ``keras.applications.ResNet50`` weights: ``mode="caffe"``."""
    return preprocess_input(x, "caffe")


def with_preprocessing(model: keras.Model, *, scale: float = 1 / 255, mean: Sequence[float] | None = None,
                       std: Sequence[float] | None = None, name: str | None = None) -> keras.Model:
    """``model`` behind its input preprocessing: a model that takes raw images (0…255).

    ``raw → Rescaling(scale) → Normalization(mean, std²) → model`` (the normalisation only when
    ``mean``/``std`` are given, per channel, in the units after ``scale``). Built-in layers only, so
    the saved ``.keras`` file loads with ``safe_mode=True`` and keeps ``scale``, ``mean`` and
    ``std`` in its config; ``model`` is a sub-model, its weights shared, not copied.
    """
    if len(model.inputs) != 1:
        raise ValueError(f"with_preprocessing needs a model with one input. Received: {len(model.inputs)} inputs")
    if not scale > 0:
        raise ValueError(f"scale must be > 0. Received: scale={scale!r}")
    shape = tuple(model.inputs[0].shape[1:])
    raw = keras.Input(shape, name="raw_image")
    x = keras.layers.Rescaling(scale, name="rescale")(raw)
    if mean is not None or std is not None:
        mean, std = _check_stats(mean, std, shape[-1])
        x = keras.layers.Normalization(axis=-1, mean=mean.tolist(), variance=np.square(std).tolist(),
                                       name="normalize")(x)
    return keras.Model(raw, model(x), name=name or f"{model.name}_with_preprocessing")
