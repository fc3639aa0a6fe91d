"""Image folders in the ImageNet layout: ``ROOT/train/<class>/*.jpg`` and ``ROOT/val/<class>/*.jpg``.

:func:`scan_folder` reads the directory tree only (no TensorFlow, no decoding): classes are the
sub-folders of ``train``, sorted; ``val`` (or ``validation``) must use the same class names. Files
with an image suffix (JPEG, PNG, BMP, GIF, WebP; any case) are listed, everything else is ignored.
:func:`find_unreadable` then decodes every file once with TensorFlow, in parallel, and reports the
ones that cannot be decoded (truncated, not an image, empty), so the training pipeline never meets
them mid-epoch.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from keras_repro._env import native_stderr_silenced
from keras_repro.data.sources import DataUnavailable, embedded_alternatives

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")  # what tf.io.decode_image reads
SPLIT_FOLDERS = {"train": ("train",), "val": ("val", "validation")}


@dataclass(frozen=True)
class FolderSplit:
    """The image files of one split, with integer labels and their total size in bytes."""

    files: tuple[str, ...]
    labels: np.ndarray
    total_bytes: int

    def __len__(self) -> int:
        return len(self.files)

    def without(self, bad: set[str]) -> "FolderSplit":
        keep = [i for i, f in enumerate(self.files) if f not in bad]
        return FolderSplit(tuple(self.files[i] for i in keep), self.labels[keep], self.total_bytes)


@dataclass(frozen=True)
class FolderIndex:
    root: Path
    class_names: tuple[str, ...]
    train: FolderSplit
    val: FolderSplit


def _split_dir(root: Path, split: str) -> Path:
    for name in SPLIT_FOLDERS[split]:
        if (root / name).is_dir():
            return root / name
    expected = " or ".join(f"{root / n}/" for n in SPLIT_FOLDERS[split])
    raise DataUnavailable(f"image folder {root} has no {split} split: expected {expected} with one "
                          f"sub-folder per class")


def _list_split(split_dir: Path, class_names: tuple[str, ...]) -> FolderSplit:
    files, labels, total = [], [], 0
    for label, name in enumerate(class_names):
        class_dir = split_dir / name
        if not class_dir.is_dir():
            continue
        found = []
        with os.scandir(class_dir) as entries:
            for entry in entries:
                if entry.name.startswith(".") or not entry.name.lower().endswith(IMAGE_SUFFIXES):
                    continue
                if entry.is_file():
                    found.append(entry.path)
                    total += entry.stat().st_size
        if not found:
            raise DataUnavailable(f"class {name!r} in {split_dir} has no image files "
                                  f"({', '.join(IMAGE_SUFFIXES)})")
        found.sort()
        files += found
        labels += [label] * len(found)
    return FolderSplit(tuple(files), np.asarray(labels, np.int64), total)


def scan_folder(root: str | os.PathLike) -> FolderIndex:
    """List classes and image files of an ImageNet-layout folder; raise :class:`DataUnavailable` if unusable."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataUnavailable(f"image folder {root} does not exist; {embedded_alternatives()}")
    train_dir = _split_dir(root, "train")
    class_names = tuple(sorted(p.name for p in train_dir.iterdir() if p.is_dir() and not p.name.startswith(".")))
    if not class_names:
        raise DataUnavailable(f"{train_dir} has no class sub-folders; expected {train_dir}/<class>/*.jpg")
    val_dir = _split_dir(root, "val")
    val_classes = sorted(p.name for p in val_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    unknown = [c for c in val_classes if c not in class_names]
    if unknown:
        raise DataUnavailable(f"{val_dir} has classes that train/ does not: {', '.join(unknown[:5])}")
    train = _list_split(train_dir, class_names)
    val = _list_split(val_dir, class_names)  # a class may be missing from val/, not empty in it
    if len(val) == 0:
        raise DataUnavailable(f"{val_dir} has no images")
    return FolderIndex(root, class_names, train, val)


def _probe_fn():
    import tensorflow as tf

    def probe(path, index):
        data = tf.io.read_file(path)

        def jpeg():
            shape = tf.io.extract_jpeg_shape(data)
            # Decoding at 1/8 scale still runs the entropy decoder over the whole file, so it finds
            # truncated and corrupt files at a fraction of the cost of a full decode.
            small = tf.io.decode_jpeg(data, channels=3, ratio=8)
            # The decoded image must feed the output: a control dependency on a stateless op is
            # pruned by the graph optimiser, and the decode (with its error) would never run.
            return tf.concat([shape[:2], tf.shape(small)[:1]], axis=0)

        def other():
            return tf.shape(tf.io.decode_image(data, channels=3, expand_animations=False))

        return index, tf.cond(tf.io.is_jpeg(data), jpeg, other)

    return probe


def _reason(path: str) -> str:
    import tensorflow as tf

    if os.path.getsize(path) == 0:
        return "empty file"
    try:
        tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    except Exception as exc:  # noqa: BLE001  (any decoder error is the reason we report)
        text = re.sub(r"\{\{[^}]*\}\}|\[Op:\w+\].*", "", str(getattr(exc, "message", exc)))
        message = text.strip().splitlines()
        return message[0].strip()[:120] if message else type(exc).__name__
    return "decoding failed in the pipeline's decoder"


def find_unreadable(files: tuple[str, ...] | list[str]) -> tuple[dict[str, str], np.ndarray]:
    """Decode every file once (in parallel); return ``{path: reason}`` of unreadable files and the
    (height, width) of every file (``-1`` where unreadable)."""
    import tensorflow as tf

    sizes = np.full((len(files), 2), -1, np.int64)
    if not files:
        return {}, sizes
    ds = tf.data.Dataset.from_tensor_slices((list(files), np.arange(len(files))))
    ds = ds.map(_probe_fn(), num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
    ds = ds.ignore_errors().batch(1024).prefetch(2)
    with native_stderr_silenced():  # libjpeg's C-level "Premature end of JPEG file" lines
        for index, shape in ds.as_numpy_iterator():
            sizes[index] = shape[:, :2]
        bad = [files[i] for i in np.flatnonzero(sizes[:, 0] < 0)]
        reasons = {path: _reason(path) for path in bad}
    return reasons, sizes
