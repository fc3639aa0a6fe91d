"""``make_datasets``: any source → batched, prefetched ``tf.data`` pipelines for ``model.fit``.

The same pipeline serves every source kind. In-memory sources (digits, faces, shapes, small tfds
sets) feed decoded uint8 images; image folders feed file paths, read and decoded in parallel maps;
larger tfds sets feed their encoded bytes. Then, all in graph code (no Python per image)::

    train: [read + cache bytes] → shuffle (seeded, new order every epoch) → zip a seed per image →
           read, decode-and-crop, flip, bilinear resize, normalise (one parallel map) → batch → prefetch
    eval:  read, decode the centre crop, resize, normalise (parallel map) → [cache] → batch → prefetch

The per-image seeds come from ``Dataset.random(seed, rerandomize_each_iteration=True)``: every epoch
sees new crops, and the whole sequence of epochs is the same for the same ``seed``.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from keras_repro.data import arrays as _arrays
from keras_repro.data.folder import MAX_PIXELS
from keras_repro.data.sources import DataUnavailable, Spec, limit_train, load_arrays, parse_spec

CACHE_BYTES = 512 << 20  # encoded training bytes / decoded eval images are cached when they fit
STATS_SAMPLE = 512  # images sampled for the channel statistics of sources not held in memory
SHUFFLE_BUFFER = 10_000  # for streamed tfds records (file names and arrays shuffle completely)
DEFAULT_CROP_FRACTION = 0.875  # 224 / 256: AlexNet's crop of the rescaled image


@dataclass
class DatasetInfo:
    """What ``make_datasets`` built: classes, counts, geometry, normalisation and skipped files."""

    name: str
    num_classes: int
    class_names: tuple[str, ...]
    train_count: int
    eval_count: int
    image_size: int
    channels: int
    batch_size: int
    augment: str
    mean: tuple[float, ...] | None
    std: tuple[float, ...] | None
    unreadable: list[str] = field(default_factory=list)
    unreadable_reasons: dict[str, str] = field(default_factory=dict)
    cached: dict[str, bool] = field(default_factory=dict)

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(self.train_count / self.batch_size)

    def denormalize(self, images) -> np.ndarray:
        """Images from the pipeline back to uint8 (to look at them)."""
        x = np.asarray(images, np.float64)
        if self.mean is not None:
            x = x * np.asarray(self.std) + np.asarray(self.mean)
        return np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class Preprocessing:
    """How an image becomes a model input: crop, flip, rescale, normalise (see ``transforms``)."""

    image_size: int
    channels: int
    augment: str = "alexnet"
    crop_fraction: float = DEFAULT_CROP_FRACTION
    flip: bool = True
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None

    @property
    def eval_fraction(self) -> float:
        return 1.0 if self.augment == "none" else self.crop_fraction

    def train_fn(self, payload, seed_pair, *, encoded: bool):
        from keras_repro.data import transforms

        return transforms.train_image(payload, seed_pair, encoded=encoded, augment=self.augment,
                                      image_size=self.image_size, channels=self.channels,
                                      crop_fraction=self.crop_fraction, flip=self.flip, mean=self.mean, std=self.std)

    def eval_fn(self, payload, *, encoded: bool):
        from keras_repro.data import transforms

        return transforms.eval_image(payload, encoded=encoded, image_size=self.image_size, channels=self.channels,
                                     crop_fraction=self.eval_fraction, mean=self.mean, std=self.std)


def _check_arguments(image_size, batch_size, augment, channels, crop_fraction) -> None:
    if not isinstance(image_size, int) or image_size < 1:
        raise ValueError(f"image_size must be a positive int. Received: image_size={image_size!r}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int. Received: batch_size={batch_size!r}")
    if augment not in _arrays.AUGMENTATIONS:
        raise ValueError(f"augment must be one of {', '.join(_arrays.AUGMENTATIONS)}. Received: augment={augment!r}")
    if channels not in (None, 1, 3):
        raise ValueError(f"channels must be 1, 3 or None. Received: channels={channels!r}")
    if not 0.0 < crop_fraction <= 1.0:
        raise ValueError(f"crop_fraction must be in (0, 1]. Received: crop_fraction={crop_fraction!r}")


def make_datasets(spec: str | Spec, image_size: int = 224, batch_size: int = 64, seed: int = 0,
                  augment: str = "alexnet", channels: int | None = None,
                  data_dir: str | os.PathLike | None = None, normalize: bool = True, *,
                  crop_fraction: float = DEFAULT_CROP_FRACTION, flip: bool = True,
                  max_examples: int | None = None, drop_remainder: bool = False, cache: bool | None = None,
                  validate: bool = True, engine: str = "auto", max_pixels: int = MAX_PIXELS):
    """Training and evaluation ``tf.data`` pipelines for the source ``spec``, and a :class:`DatasetInfo`.

    Both datasets yield ``(float32 images [B, image_size, image_size, channels], int64 labels [B])``.

    ``augment``: ``"alexnet"`` (random square crop of ``crop_fraction`` of the shorter side, bilinear
    rescale, horizontal flip), ``"inception"`` (random-resized-crop, area 0.08–1, aspect 3/4–4/3, flip)
    or ``"none"`` (the whole centred square, rescaled). Evaluation uses the centred square crop of
    ``crop_fraction`` (1.0 with ``"none"``). ``channels``: 1 or 3 (``None``: the source's).
    ``normalize``: per-channel ``(x/255 - mean) / std`` with training statistics (in ``info``);
    ``False`` gives ``x / 255`` in [0, 1]. ``max_examples``: a seeded subset of the training set.
    ``cache``: keep encoded training bytes and decoded evaluation images in memory (``None``: when
    they fit in 512 MiB). ``validate``: decode every folder image once first to skip unreadable ones.
    ``max_pixels``: folder images with more pixels (read from their headers) are skipped undecoded.
    ``engine``: ``"tf"`` (tf.data), ``"numpy"`` (``keras.utils.PyDataset`` batches made with NumPy and
    Pillow, for machines without TensorFlow; in-memory sources and folders) or ``"auto"`` (tf.data when
    TensorFlow imports). Both engines skip the same folder files, listed in ``info.unreadable``.
    Raises :class:`DataUnavailable` when the data are not here.
    """
    _check_arguments(image_size, batch_size, augment, channels, crop_fraction)
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, int) or max_pixels < 1:
        raise ValueError(f"max_pixels must be a positive int. Received: max_pixels={max_pixels!r}")
    if engine not in ("auto", "tf", "numpy"):
        raise ValueError(f"engine must be 'auto', 'tf' or 'numpy'. Received: engine={engine!r}")
    parsed = parse_spec(spec)
    if engine == "numpy" or (engine == "auto" and not _tensorflow_available()):
        return _numpy_datasets(parsed, image_size=image_size, batch_size=batch_size, seed=seed, augment=augment,
                               channels=channels, normalize=normalize, crop_fraction=crop_fraction, flip=flip,
                               max_examples=max_examples, drop_remainder=drop_remainder, validate=validate,
                               max_pixels=max_pixels)
    source = _open(parsed, image_size=image_size, channels=channels, seed=seed, data_dir=data_dir,
                   max_examples=max_examples, validate=validate, max_pixels=max_pixels)
    prep = Preprocessing(image_size, channels or source.channels, augment, crop_fraction, flip)
    if normalize:
        mean, std = _channel_stats(source, prep, seed)
        prep = Preprocessing(prep.image_size, prep.channels, augment, crop_fraction, flip, mean, std)
    train_ds, cached_train = train_dataset(source.train, prep, batch_size=batch_size, seed=seed, cache=cache,
                                           drop_remainder=drop_remainder)
    eval_ds, cached_eval = eval_dataset(source.eval, prep, batch_size=batch_size, cache=cache)
    info = DatasetInfo(
        name=str(parsed), num_classes=len(source.class_names), class_names=tuple(source.class_names),
        train_count=source.train.count, eval_count=source.eval.count, image_size=image_size,
        channels=prep.channels, batch_size=batch_size, augment=augment, mean=prep.mean, std=prep.std,
        unreadable=sorted(source.unreadable), unreadable_reasons=dict(source.unreadable),
        cached={"train": cached_train, "eval": cached_eval})
    return train_ds, eval_ds, info


def _tensorflow_available() -> bool:
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        return False
    return True


def _numpy_datasets(spec: Spec, *, image_size, batch_size, seed, augment, channels, normalize, crop_fraction, flip,
                    max_examples, drop_remainder, validate, max_pixels):
    """``make_datasets`` without TensorFlow: in-memory sources and image folders, batches made with NumPy."""
    from keras_repro.data import numpy_pipeline
    from keras_repro.data.sources import EMBEDDED

    geometry = {"image_size": image_size, "batch_size": batch_size, "seed": seed, "augment": augment,
                "crop_fraction": crop_fraction, "flip": flip, "normalize": normalize, "drop_remainder": drop_remainder}
    if spec.kind == "folder":
        from keras_repro.data.folder import checked_folder

        folder = checked_folder(spec.path, seed=seed, max_examples=max_examples, validate=validate,
                                max_pixels=max_pixels, engine="numpy")
        train, evaluation, mean, std = numpy_pipeline.folder_datasets(
            folder.train.files, folder.train.labels, folder.val.files, folder.val.labels, channels=channels or 3,
            **geometry)
        info = DatasetInfo(name=str(spec), num_classes=len(folder.class_names), class_names=folder.class_names,
                           train_count=len(folder.train), eval_count=len(folder.val), image_size=image_size,
                           channels=channels or 3, batch_size=batch_size, augment=augment, mean=mean, std=std,
                           unreadable=sorted(folder.skipped), unreadable_reasons=dict(folder.skipped),
                           cached={"train": False, "eval": False})
        return train, evaluation, info
    from keras_repro.data.mock import active_examples

    if spec.kind not in ("embedded", "synthetic") and not (spec.kind == "tfds" and active_examples() is not None):
        raise DataUnavailable(f"{spec} is read through tf.data and needs TensorFlow (pip install tensorflow); "
                              f"without it, the in-memory sources and image folders work: {', '.join(EMBEDDED)}, "
                              f"folder:PATH")
    data = load_arrays(spec, image_size=image_size, channels=channels, seed=seed, max_examples=max_examples)
    train, evaluation, mean, std = numpy_pipeline.array_datasets(data, **geometry)
    info = DatasetInfo(name=str(spec), num_classes=data.num_classes, class_names=tuple(data.class_names),
                       train_count=len(data.y_train), eval_count=len(data.y_test), image_size=image_size,
                       channels=data.x_train.shape[-1], batch_size=batch_size, augment=augment, mean=mean, std=std,
                       cached={"train": True, "eval": True})
    return train, evaluation, info


# -- the two pipelines ------------------------------------------------------------------------------

@dataclass
class _Split:
    """One split before preprocessing: a dataset of ``(payload, label)``.

    ``payload`` is ``"array"`` (a decoded uint8 image), ``"bytes"`` (an encoded image) or ``"path"``.
    """

    dataset: Any
    count: int
    payload: str
    encoded_bytes: int | None = None  # total file size when known (for the cache decision)


def _map_fn(split: _Split, transform):
    """``(payload, label[, seed]) → (image, label)`` for this split's kind of payload."""
    import tensorflow as tf

    encoded, reads = split.payload != "array", split.payload == "path"

    def fn(payload, label, *seed):
        if reads:
            payload = tf.io.read_file(payload)
        return transform(payload, *seed, encoded=encoded), label

    return fn


def train_dataset(split: _Split, prep: Preprocessing, *, batch_size: int, seed: int, cache: bool | None = None,
                  drop_remainder: bool = False):
    """The training pipeline of ``split``; returns ``(dataset, whether the file bytes are cached)``."""
    import tensorflow as tf

    cached = split.payload == "path" and (cache if cache is not None else
                                          (split.encoded_bytes or CACHE_BYTES + 1) <= CACHE_BYTES)
    ds = split.dataset
    if cached:
        ds = ds.map(lambda path, y: (tf.io.read_file(path), y), num_parallel_calls=tf.data.AUTOTUNE).cache()
        split = _Split(ds, split.count, "bytes")
    buffer = split.count if split.payload != "bytes" or cached else min(split.count, SHUFFLE_BUFFER)
    ds = ds.shuffle(max(buffer, 1), seed=seed, reshuffle_each_iteration=True)
    # one random number per image and epoch, as the seed pair (n, seed) of the stateless random ops
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
    transform = _map_fn(split, prep.train_fn)
    ds = tf.data.Dataset.zip(ds, seeds).map(
        lambda example, n: transform(*example, tf.stack([n, tf.constant(seed, tf.int64)])),
        num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    return ds.prefetch(tf.data.AUTOTUNE), bool(cached)


def eval_dataset(split: _Split, prep: Preprocessing, *, batch_size: int, cache: bool | None = None):
    """The evaluation pipeline (deterministic, so its float32 images are cached when they fit)."""
    import tensorflow as tf

    ds = split.dataset.map(_map_fn(split, prep.eval_fn), num_parallel_calls=tf.data.AUTOTUNE)
    size = split.count * prep.image_size ** 2 * prep.channels * 4
    cached = split.payload != "array" and (cache if cache is not None else size <= CACHE_BYTES)
    if cached:
        ds = ds.cache()
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE), bool(cached)


# -- sources as splits ------------------------------------------------------------------------------

@dataclass
class _Source:
    train: _Split
    eval: _Split
    class_names: tuple[str, ...]
    channels: int
    images_in_memory: np.ndarray | None = None  # the training images, when held as arrays
    unreadable: dict[str, str] = field(default_factory=dict)


def _array_source(data) -> _Source:
    import tensorflow as tf

    def split(x, y):
        return _Split(tf.data.Dataset.from_tensor_slices((x, y)), len(y), "array")

    return _Source(split(data.x_train, data.y_train), split(data.x_test, data.y_test), data.class_names,
                   data.x_train.shape[-1], images_in_memory=data.x_train)


def _folder_source(spec: Spec, seed: int, max_examples: int | None, validate: bool, max_pixels: int) -> _Source:
    import tensorflow as tf

    from keras_repro.data.folder import FolderSplit, checked_folder

    folder = checked_folder(spec.path, seed=seed, max_examples=max_examples, validate=validate,
                            max_pixels=max_pixels, engine="tf")

    def split(part: FolderSplit) -> _Split:
        ds = tf.data.Dataset.from_tensor_slices((list(part.files), part.labels))
        return _Split(ds, len(part), "path", part.total_bytes)

    return _Source(split(folder.train), split(folder.val), folder.class_names, 3, unreadable=folder.skipped)


def _tfds_source(spec: Spec, data_dir, seed: int, max_examples: int | None) -> _Source:
    from keras_repro.data.tfds_source import fits_in_memory, splits_as_arrays, tfds_splits

    splits = tfds_splits(spec.name, data_dir, seed=seed)
    if fits_in_memory(splits):  # decode once, then crop from memory every epoch
        return _array_source(limit_train(splits_as_arrays(splits, spec.name), max_examples, seed))
    train, count = splits.train, splits.train_count
    if max_examples is not None and max_examples < count:
        train, count = train.take(max_examples), max_examples  # records arrive with files shuffled by seed
    return _Source(_Split(train, count, "bytes"), _Split(splits.eval, splits.eval_count, "bytes"),
                   splits.class_names, splits.channels)


def _open(spec: Spec, *, image_size: int, channels: int | None, seed: int, data_dir, max_examples: int | None,
          validate: bool, max_pixels: int) -> _Source:
    if spec.kind in ("embedded", "synthetic"):
        # Held at the target size (they are small), so random crops move by target pixels rather than
        # by whole 8×8 digit pixels, and augment="none" feeds exactly load_arrays(spec, image_size).
        return _array_source(load_arrays(spec, image_size=image_size, channels=channels, seed=seed,
                                         max_examples=max_examples))
    if spec.kind == "folder":
        return _folder_source(spec, seed, max_examples, validate, max_pixels)
    return _tfds_source(spec, data_dir, seed, max_examples)


def _channel_stats(source: _Source, prep: Preprocessing, seed: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std (in [0, 1] units) of the training images: all of them when in memory,
    else ``STATS_SAMPLE`` images picked by ``seed``, seen through the evaluation crop."""
    import tensorflow as tf

    channels = prep.channels
    if source.images_in_memory is not None:
        x = _arrays.convert_channels(source.images_in_memory, channels).reshape(-1, channels) / 255.0
        mean, std = x.mean(axis=0), x.std(axis=0)
    else:
        # a complete shuffle of file names is cheap; streamed records only need a short buffer
        buffer = 4 * STATS_SAMPLE if source.train.payload == "bytes" else source.train.count
        ds = source.train.dataset.shuffle(max(min(buffer, source.train.count), 1), seed=seed).take(STATS_SAMPLE)
        ds = ds.map(_map_fn(source.train, prep.eval_fn), num_parallel_calls=tf.data.AUTOTUNE)
        total, total_sq, n = np.zeros(channels), np.zeros(channels), 0
        for images, _ in ds.batch(64).as_numpy_iterator():
            x = images.reshape(-1, channels).astype(np.float64)  # already x / 255 (no mean/std yet)
            total, total_sq, n = total + x.sum(axis=0), total_sq + (x * x).sum(axis=0), n + len(x)
        mean = total / n
        std = np.sqrt(np.maximum(total_sq / n - mean * mean, 0.0))
    return tuple(float(m) for m in mean), tuple(float(max(s, 1e-3)) for s in std)
