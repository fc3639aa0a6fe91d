"""NumPy input pipelines, for machines without TensorFlow (JAX on a GPU box).

In-memory sources feed their uint8 arrays (:class:`ArrayBatches`); image folders are decoded with
Pillow a batch at a time (:class:`FileBatches`), after the same checks as the tf.data pipeline
(``folder.find_unreadable``), so both engines train on the same files and skip the same ones.
The same geometry as the tf.data pipelines in ``transforms``: an AlexNet-style random square crop of
``crop_fraction`` of the shorter side (or an Inception-style random-resized crop), bilinear rescale
with half-pixel centres (``arrays.resize_bilinear``, equal to ``tf.image.resize``), horizontal flip,
per-channel normalisation; evaluation takes the centred square. Batches come from a
``keras.utils.PyDataset``, which ``model.fit`` consumes on every backend. Randomness is drawn from
``numpy.random.default_rng([seed, epoch, image index])``: repeatable, and new crops every epoch.
"""
from __future__ import annotations

import math

import keras
import numpy as np

from keras_repro.data import arrays as _arrays
from keras_repro.data.arrays import AREA_RANGE, ASPECT_RANGE


def square_window(height: int, width: int, fraction: float, rng: np.random.Generator | None = None):
    """(y, x, h, w) of a square of side ``fraction`` × the shorter side: random if ``rng`` else centred."""
    side = max(int(min(height, width) * fraction), 1)
    if rng is None:
        return (height - side) // 2, (width - side) // 2, side, side
    y, x = (min(int(u * (extent - side + 1)), extent - side) for u, extent in zip(rng.random(2), (height, width)))
    return y, x, side, side


def inception_window(height: int, width: int, rng: np.random.Generator, attempts: int = 10):
    """(y, x, h, w) with area in AREA_RANGE of the image and aspect ratio in ASPECT_RANGE; else the whole image."""
    for _ in range(attempts):
        area = rng.uniform(*AREA_RANGE) * height * width
        aspect = rng.uniform(*ASPECT_RANGE)
        w, h = int(round(math.sqrt(area * aspect))), int(round(math.sqrt(area / aspect)))
        if 0 < h <= height and 0 < w <= width:
            return int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1)), h, w
    return 0, 0, height, width


class _CropBatches(keras.utils.PyDataset):
    """Batches of ``(float32 images [B, S, S, C], int64 labels [B])``; subclasses say where image ``i`` comes from."""

    def __init__(self, labels: np.ndarray, *, image_size: int, batch_size: int, train: bool, augment: str = "alexnet",
                 crop_fraction: float = 0.875, flip: bool = True, mean=None, std=None, seed: int = 0,
                 drop_remainder: bool = False):
        super().__init__()
        self.labels = np.asarray(labels, np.int64)
        self.image_size, self.batch_size, self.train = image_size, batch_size, train
        self.augment, self.crop_fraction, self.flip = augment, crop_fraction, flip
        self.mean = None if mean is None else np.asarray(mean, np.float32)
        self.std = None if std is None else np.asarray(std, np.float32)
        self.seed, self.drop_remainder = seed, drop_remainder
        self.epoch = 0
        self._order = self._permutation()

    def _image(self, i: int) -> np.ndarray:
        """The uint8 ``[H, W, C]`` image ``i``."""
        raise NotImplementedError

    def _permutation(self) -> np.ndarray:
        if not self.train:
            return np.arange(len(self.labels))
        return np.random.default_rng([self.seed, self.epoch]).permutation(len(self.labels))

    def __len__(self) -> int:
        whole, rest = divmod(len(self.labels), self.batch_size)
        return whole + (1 if rest and not self.drop_remainder else 0)

    def _window(self, height: int, width: int, rng: np.random.Generator | None):
        if not self.train or self.augment == "none":
            return square_window(height, width, 1.0 if self.augment == "none" else self.crop_fraction)
        if self.augment == "inception":
            return inception_window(height, width, rng)
        return square_window(height, width, self.crop_fraction, rng)

    def __getitem__(self, index: int):
        if not 0 <= index < len(self):
            raise IndexError(f"batch index {index} out of range for {len(self)} batches")
        chosen = self._order[index * self.batch_size:(index + 1) * self.batch_size]
        size = self.image_size
        batch = None
        for k, i in enumerate(chosen):
            image = self._image(int(i))
            if batch is None:
                batch = np.empty((len(chosen), size, size, image.shape[-1]), np.float32)
            rng = np.random.default_rng([self.seed, self.epoch, int(i)]) if self.train else None
            y, x, h, w = self._window(image.shape[0], image.shape[1], rng)
            resized = _arrays.resize_bilinear(image[None, y:y + h, x:x + w], size)[0]
            if rng is not None and self.flip and self.augment != "none" and rng.random() < 0.5:
                resized = resized[:, ::-1]
            batch[k] = resized
        batch *= 1.0 / 255.0
        if self.mean is not None:
            batch = (batch - self.mean) / self.std
        return batch, self.labels[chosen]

    def on_epoch_end(self):
        if self.train:
            self.epoch += 1
            self._order = self._permutation()


class ArrayBatches(_CropBatches):
    """Batches cut from uint8 NHWC ``images`` held in memory."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, **kwargs):
        if images.ndim != 4 or len(images) != len(labels) or len(images) == 0:
            raise ValueError(f"need non-empty NHWC images with one label each. Received: images.shape={images.shape}, "
                             f"labels.shape={np.shape(labels)}")
        self.images = images
        super().__init__(labels, **kwargs)

    def _image(self, i: int) -> np.ndarray:
        return self.images[i]


def decode_image_file(path: str, channels: int = 3) -> np.ndarray:
    """The first frame of an image file as uint8 ``[H, W, channels]``, as ``tf.io.decode_image`` gives it:
    alpha dropped, CMYK and palettes converted to RGB, 16-bit samples cut to their high byte."""
    from PIL import Image

    with Image.open(path) as image:
        if image.mode in ("I;16", "I;16B", "I;16L", "I"):
            grey = (np.asarray(image).astype(np.uint32) >> 8).astype(np.uint8)[..., None]
            rgb = np.repeat(grey, 3, axis=-1)
        else:
            rgb = np.asarray(image.convert("RGB"))
    return _arrays.convert_channels(rgb, channels)


class FileBatches(_CropBatches):
    """Batches decoded from image ``files`` with Pillow, a batch at a time (nothing is cached)."""

    def __init__(self, files, labels: np.ndarray, *, channels: int = 3, **kwargs):
        if len(files) != len(labels) or len(files) == 0:
            raise ValueError(f"need a non-empty list of files with one label each. Received: {len(files)} files, "
                             f"{len(labels)} labels")
        self.files, self.channels = tuple(files), channels
        super().__init__(labels, **kwargs)

    def _image(self, i: int) -> np.ndarray:
        return decode_image_file(self.files[i], self.channels)


def array_datasets(data, *, image_size: int, batch_size: int, seed: int, augment: str, crop_fraction: float,
                   flip: bool, normalize: bool, drop_remainder: bool = False):
    """Training and evaluation :class:`ArrayBatches` for an ``ArrayData``, and (mean, std) used."""
    mean = std = None
    if normalize:
        x = data.x_train.reshape(-1, data.x_train.shape[-1]) / 255.0
        mean = tuple(float(m) for m in x.mean(axis=0))
        std = tuple(float(max(s, 1e-3)) for s in x.std(axis=0))
    common = {"image_size": image_size, "batch_size": batch_size, "augment": augment,
              "crop_fraction": crop_fraction, "flip": flip, "mean": mean, "std": std, "seed": seed}
    train = ArrayBatches(data.x_train, data.y_train, train=True, drop_remainder=drop_remainder, **common)
    evaluation = ArrayBatches(data.x_test, data.y_test, train=False, **common)
    return train, evaluation, mean, std


def folder_datasets(files_train, labels_train, files_eval, labels_eval, *, channels: int, image_size: int,
                    batch_size: int, seed: int, augment: str, crop_fraction: float, flip: bool, normalize: bool,
                    drop_remainder: bool = False, stats_sample: int = 512):
    """Training and evaluation :class:`FileBatches` for checked image files, and the (mean, std) used.

    The statistics are those of ``stats_sample`` training images picked by ``seed``, seen through the
    evaluation crop, as in the tf.data pipeline.
    """
    common = {"image_size": image_size, "batch_size": batch_size, "augment": augment,
              "crop_fraction": crop_fraction, "flip": flip, "seed": seed, "channels": channels}
    mean = std = None
    if normalize:
        pick = np.random.default_rng(seed).permutation(len(files_train))[:stats_sample]
        sample = FileBatches([files_train[i] for i in pick], np.asarray(labels_train)[pick], train=False,
                             **{**common, "batch_size": 64})
        x = np.concatenate([sample[i][0].reshape(-1, channels) for i in range(len(sample))]).astype(np.float64)
        mean = tuple(float(m) for m in x.mean(axis=0))
        std = tuple(float(max(s, 1e-3)) for s in x.std(axis=0))
    common.update(mean=mean, std=std)
    train = FileBatches(files_train, labels_train, train=True, drop_remainder=drop_remainder, **common)
    evaluation = FileBatches(files_eval, labels_eval, train=False, **common)
    return train, evaluation, mean, std
