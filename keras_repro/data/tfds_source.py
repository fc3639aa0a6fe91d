"""tensorflow-datasets by name, prepared under a data directory, failing fast and clearly when offline.

tfds retries unreachable downloads for minutes, printing a warning per retry. Before any download
we check in a few seconds that the network answers; when it does not (or the download fails anyway)
:class:`DataUnavailable` says in one sentence what is missing and which embedded sources work.
Set ``KERAS_REPRO_OFFLINE=1`` to never try to download.
"""
from __future__ import annotations

import contextlib
import os
import socket
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from keras_repro.data import arrays as _arrays
from keras_repro.data.sources import ArrayData, DataUnavailable, embedded_alternatives

# The eval split of the datasets we name (tfds knows it once a dataset is prepared; this table is
# for when it is not, e.g. under tfds.testing.mock_data).
EVAL_SPLITS = {"mnist": "test", "fashion_mnist": "test", "cifar10": "test", "cifar100": "test",
               "imagenette": "validation", "imagenet2012": "validation", "imagenet_v2": "test"}
# Datasets with a fixed image shape are decoded into memory when all their images take at most this.
IN_MEMORY_BYTES = 1 << 30
PROBE_HOSTS = (("storage.googleapis.com", 443),)
PROBE_TIMEOUT_S = 4.0


def network_available(hosts=PROBE_HOSTS, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Whether a TCP connection to one of ``hosts`` opens within ``timeout`` seconds (DNS included)."""
    if os.environ.get("KERAS_REPRO_OFFLINE", "").strip().lower() in ("1", "true", "yes"):
        return False
    result: list[bool] = []

    def attempt():
        for host, port in hosts:
            try:
                with socket.create_connection((host, port), timeout=timeout):
                    result.append(True)
                    return
            except OSError:
                continue

    # getaddrinfo ignores socket timeouts, so the attempt runs in a thread we stop waiting for.
    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(timeout * len(hosts) + 1.0)
    return bool(result)


@contextlib.contextmanager
def _quiet_tfds():
    """Keep tfds's absl warnings and progress bars out of the terminal."""
    import absl.logging
    import tensorflow_datasets as tfds

    verbosity = absl.logging.get_verbosity()
    absl.logging.set_verbosity(absl.logging.ERROR)
    tfds.disable_progress_bar()
    try:
        yield tfds
    finally:
        absl.logging.set_verbosity(verbosity)


def _unavailable(name: str, where: str, why: str) -> DataUnavailable:
    manual = ""
    if name.startswith("imagenet2012"):
        manual = " (ImageNet needs ILSVRC2012_img_train.tar and ILSVRC2012_img_val.tar in " \
                 f"{where}/downloads/manual/)"
    return DataUnavailable(f"tfds dataset {name!r} is not prepared in {where} and {why}{manual}; "
                           f"point to prepared data (--data-dir; in `repro run`, --set data_dir=...), or use another source: "
                           f"{embedded_alternatives()}")


def _open_builder(tfds, name: str, data_dir):
    """(tfds builder for ``name``, the data directory it reads) or :class:`DataUnavailable` for an unknown name."""
    try:
        builder = tfds.builder(name, data_dir=None if data_dir is None else os.fspath(data_dir), try_gcs=False)
    except tfds.core.registered.DatasetNotFoundError:
        raise DataUnavailable(f"tensorflow-datasets has no dataset {name!r}; {embedded_alternatives()}") from None
    where = os.fspath(data_dir) if data_dir is not None else str(getattr(builder, "_data_dir_root", builder.data_dir))
    return builder, where


def check_obtainable(name: str, data_dir: str | os.PathLike | None = None) -> None:
    """Raise :class:`DataUnavailable` unless ``name`` is prepared under ``data_dir`` or can be downloaded."""
    with _quiet_tfds() as tfds:
        builder, where = _open_builder(tfds, name, data_dir)
        if builder.is_prepared():
            return
        if name.startswith("imagenet2012"):
            manual = os.path.join(where, "downloads", "manual")
            if not os.path.isdir(manual) or not os.listdir(manual):
                raise _unavailable(name, where, "its manual download is missing")
        if not network_available():
            raise _unavailable(name, where, "cannot be downloaded (no network)")


def tfds_builder(name: str, data_dir: str | os.PathLike | None = None, download: bool = True):
    """A prepared tfds builder for ``name``: downloaded and prepared if needed and possible."""
    with _quiet_tfds() as tfds:
        builder, where = _open_builder(tfds, name, data_dir)
        if builder.is_prepared():
            return builder
        if not download:
            raise _unavailable(name, where, "downloading is off")
        if not network_available():
            raise _unavailable(name, where, "cannot be downloaded (no network)")
        manual_dir = os.path.join(where, "downloads", "manual")
        try:
            builder.download_and_prepare(
                download_config=tfds.download.DownloadConfig(manual_dir=manual_dir, try_download_gcs=False))
        except Exception as exc:  # noqa: BLE001  (network, checksum, missing manual files: all mean "not here")
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
            raise _unavailable(name, where, f"preparing it failed ({first})") from None
        return builder


@dataclass(frozen=True)
class TfdsSplits:
    """Train/eval ``tf.data`` datasets of ``(encoded image bytes, label)``, with what describes them."""

    train: Any
    eval: Any
    train_count: int
    eval_count: int
    class_names: tuple[str, ...]
    channels: int
    fixed_shape: tuple[int, int, int] | None


def _keys(builder) -> tuple[str, str]:
    keys = builder.info.supervised_keys
    if not keys or len(keys) != 2:
        raise DataUnavailable(f"tfds dataset {builder.name!r} has no (image, label) supervised keys")
    return keys[0], keys[1]


def _split_names(builder, name: str) -> tuple[str, str]:
    splits = list(builder.info.splits.keys()) if builder.info.splits else []
    if splits:
        eval_split = next((s for s in ("test", "validation", "val") if s in splits), None)
        if "train" not in splits or eval_split is None:
            raise DataUnavailable(f"tfds dataset {name!r} has splits {splits}; need train and test/validation")
        return "train", eval_split
    return "train", EVAL_SPLITS.get(name.split("/")[0].split(":")[0], "test")


def _count(ds, builder, split: str) -> int:
    import tensorflow as tf

    n = int(ds.cardinality())
    if n >= 0:
        return n
    if n == tf.data.INFINITE_CARDINALITY:
        raise DataUnavailable(f"tfds split {split!r} of {builder.name!r} is infinite")
    return int(builder.info.splits[split].num_examples)


def tfds_splits(name: str, data_dir=None, seed: int = 0, download: bool = True) -> TfdsSplits:
    """Open a tfds dataset as encoded images (decoding happens in our pipeline, fused with the crop)."""
    builder = tfds_builder(name, data_dir, download)
    with _quiet_tfds() as tfds:
        image_key, label_key = _keys(builder)
        train_split, eval_split = _split_names(builder, name)
        decoders = {image_key: tfds.decode.SkipDecoding()}

        def open_split(split: str, shuffle: bool):
            config = tfds.ReadConfig(shuffle_seed=seed, try_autocache=False)
            ds = builder.as_dataset(split=split, decoders=decoders, shuffle_files=shuffle, read_config=config)
            return ds.map(lambda ex: (ex[image_key], ex[label_key]))

        train, evaluation = open_split(train_split, True), open_split(eval_split, False)
        shape = tuple(builder.info.features[image_key].shape)
        return TfdsSplits(train, evaluation, _count(train, builder, train_split), _count(evaluation, builder, eval_split),
                          tuple(builder.info.features[label_key].names), int(shape[-1] or 3),
                          shape if all(shape) else None)  # type: ignore[arg-type]


def fits_in_memory(splits: TfdsSplits) -> bool:
    if splits.fixed_shape is None:
        return False
    return (splits.train_count + splits.eval_count) * int(np.prod(splits.fixed_shape)) <= IN_MEMORY_BYTES


def _decode_all(ds, channels: int) -> tuple[np.ndarray, np.ndarray]:
    import tensorflow as tf

    decoded = ds.map(lambda data, label: (tf.io.decode_image(data, channels=channels, expand_animations=False), label),
                     num_parallel_calls=tf.data.AUTOTUNE)
    images, labels = [], []
    for x, y in decoded.batch(4096).as_numpy_iterator():
        images.append(x)
        labels.append(y)
    return np.concatenate(images), np.concatenate(labels).astype(np.int64)


def splits_as_arrays(splits: TfdsSplits, name: str) -> ArrayData:
    """Decode both splits into memory (native size and channels)."""
    if not fits_in_memory(splits):
        raise DataUnavailable(f"tfds dataset {name!r} is too large or varied in size to hold in memory; "
                              f"use make_datasets('tfds:{name}', ...)")
    x_train, y_train = _decode_all(splits.train, splits.channels)
    x_test, y_test = _decode_all(splits.eval, splits.channels)
    return ArrayData(x_train, y_train, x_test, y_test, splits.class_names, f"tfds:{name}")


def load_tfds_arrays(name: str, data_dir=None, image_size: int | None = None, channels: int | None = None,
                     download: bool = True) -> ArrayData:
    """A small tfds dataset (fixed image shape, ≤ 1 GiB decoded) as NumPy arrays, official split."""
    data = splits_as_arrays(tfds_splits(name, data_dir, download=download), name)
    x_train, x_test = data.x_train, data.x_test
    if image_size is not None:
        x_train, x_test = _arrays.resize_images(x_train, image_size), _arrays.resize_images(x_test, image_size)
    return ArrayData(_arrays.convert_channels(x_train, channels), data.y_train,
                     _arrays.convert_channels(x_test, channels), data.y_test, data.class_names, data.name)
