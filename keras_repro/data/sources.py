"""Which data sources exist, how a spec string names one, and loading the small ones as NumPy arrays.

A spec string selects a source everywhere (``--set dataset=...``, ``repro data inspect SPEC``):

- ``digits``, ``faces``, ``shapes``: embedded or synthetic, always available offline;
- ``tfds:NAME`` (or a bare known name such as ``mnist``): a tensorflow-datasets dataset, prepared
  under ``data_dir`` (tfds's default ``~/tensorflow_datasets`` when none is given);
- ``folder:/path``: an image folder in the ImageNet layout (``train/<class>/*``, ``val/<class>/*``).

This module imports neither TensorFlow nor Keras: the in-memory sources work on a JAX-only machine.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from keras_repro.data import arrays as _arrays

EMBEDDED = ("digits", "faces", "shapes")
TFDS_KNOWN = ("mnist", "fashion_mnist", "cifar10", "imagenette", "imagenet2012")


class DataError(Exception):
    """A data source cannot be used as asked; the message says why and what to do instead."""


class SpecError(DataError, ValueError):
    """A spec string does not name a source."""


class DataUnavailable(DataError):
    """The data are not here (not prepared, no network, missing or empty folder)."""


def embedded_alternatives() -> str:
    return f"the embedded sources work offline: {', '.join(EMBEDDED)}"


@dataclass(frozen=True)
class Spec:
    """A parsed spec string: ``kind`` is ``embedded``, ``synthetic``, ``tfds`` or ``folder``."""

    kind: str
    name: str
    path: Path | None = None

    def __str__(self) -> str:
        if self.kind == "tfds":
            return f"tfds:{self.name}"
        if self.kind == "folder":
            return f"folder:{self.path}"
        return self.name


def parse_spec(text: str | Spec) -> Spec:
    """``"digits"`` / ``"tfds:cifar10"`` / ``"mnist"`` / ``"folder:~/imagenet"`` → :class:`Spec`."""
    if isinstance(text, Spec):
        return text
    spec = str(text).strip()
    prefix, sep, rest = spec.partition(":")
    if sep and prefix == "tfds":
        if not rest.strip():
            raise SpecError(f"'tfds:' needs a dataset name, e.g. tfds:cifar10. Received: {spec!r}")
        return Spec("tfds", rest.strip())
    if sep and prefix == "folder":
        if not rest.strip():
            raise SpecError(f"'folder:' needs a path, e.g. folder:/data/imagenet. Received: {spec!r}")
        return Spec("folder", "folder", Path(os.path.expanduser(rest.strip())))
    if spec in ("digits", "faces"):
        return Spec("embedded", spec)
    if spec == "shapes":
        return Spec("synthetic", spec)
    if spec in TFDS_KNOWN:
        return Spec("tfds", spec)
    if spec == "photos":
        raise SpecError("'photos' is not a labelled set: use keras_repro.data.load_photos() for "
                        "scikit-image's sample photos")
    hint = " (for an image folder write folder:PATH)" if os.sep in spec or Path(spec).exists() else ""
    raise SpecError(f"unknown data source {spec!r}{hint}; known: {', '.join(EMBEDDED + TFDS_KNOWN)}, "
                    f"tfds:NAME, folder:PATH")


@dataclass(frozen=True)
class SourceEntry:
    """One row of ``repro data list``."""

    spec: str
    kind: str
    classes: str
    images: str
    description: str


def list_sources() -> list[SourceEntry]:
    """The known sources (embedded, synthetic, tfds by name, folder) for ``repro data list`` and docs."""
    return [
        SourceEntry("digits", "embedded", "10", "1,797 of 8×8 grey",
                    "scikit-learn handwritten digits, upsampled to the requested size"),
        SourceEntry("faces", "embedded", "2", "200 of 25×25 grey",
                    "scikit-image lfw_subset: 100 faces and 100 non-faces"),
        SourceEntry("shapes", "synthetic", "3", "1,500 of any size",
                    "circles, squares, triangles on noise, with boxes and masks (make_shapes)"),
        SourceEntry("tfds:mnist", "tfds", "10", "70,000 of 28×28 grey", "MNIST (prepared or downloadable)"),
        SourceEntry("tfds:fashion_mnist", "tfds", "10", "70,000 of 28×28 grey", "Fashion-MNIST"),
        SourceEntry("tfds:cifar10", "tfds", "10", "60,000 of 32×32 colour", "CIFAR-10"),
        SourceEntry("tfds:imagenette", "tfds", "10", "13,394 of varied size", "Imagenette: 10 easy ImageNet classes"),
        SourceEntry("tfds:imagenet2012", "tfds", "1000", "1.33M of varied size",
                    "ImageNet ILSVRC-2012; needs the tars in <data-dir>/downloads/manual"),
        SourceEntry("folder:PATH", "folder", "subfolders", "JPEG/PNG/BMP/GIF/WebP",
                    "an ImageNet-layout folder: PATH/train/<class>/*, PATH/val/<class>/*"),
    ]


@dataclass(frozen=True)
class ArrayData:
    """An in-memory labelled image set: uint8 NHWC images, int64 labels (deterministic split)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    name: str
    extras: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])  # type: ignore[return-value]

    def features(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(x_train, y_train, x_test, y_test)`` for a fully connected network: one row of pixels in
        [0, 1] per image (float32), int32 labels."""
        return (_arrays.to_unit_float(self.x_train, flatten=True), self.y_train.astype(np.int32),
                _arrays.to_unit_float(self.x_test, flatten=True), self.y_test.astype(np.int32))


def _finish(images: np.ndarray, labels: np.ndarray, class_names: tuple[str, ...], name: str, *,
            image_size: int | None, channels: int | None, seed: int, test_fraction: float) -> ArrayData:
    """Resize, convert channels and split a whole labelled set."""
    if image_size is not None:
        images = _arrays.resize_images(images, image_size)
    images = _arrays.convert_channels(images, channels)
    train_idx, test_idx = _arrays.stratified_split(labels, test_fraction, seed)
    return ArrayData(images[train_idx], labels[train_idx], images[test_idx], labels[test_idx], class_names, name)


def limit_train(data: ArrayData, max_examples: int | None, seed: int) -> ArrayData:
    """Keep a seeded subset of at most ``max_examples`` training examples (in their original order)."""
    keep = _arrays.subset_indices(len(data.y_train), max_examples, seed)
    if keep is None:
        return data
    return ArrayData(data.x_train[keep], data.y_train[keep], data.x_test, data.y_test, data.class_names,
                     data.name, data.extras)


def in_memory_spec(text: str | Spec) -> Spec:
    """:func:`parse_spec` for the sources :func:`load_arrays` can hold in memory (all but ``folder:``)."""
    parsed = parse_spec(text)
    if parsed.kind == "folder":
        raise SpecError(f"{parsed} is read from files as it is needed, not held in memory: use "
                        f"{', '.join(EMBEDDED)} or tfds:NAME here (make_datasets({str(parsed)!r}, ...) reads folders)")
    return parsed


def _mock_examples() -> int | None:
    from keras_repro.data.mock import active_examples

    return active_examples()


def check_available(spec: str | Spec, data_dir: str | os.PathLike | None = None) -> None:
    """Raise :class:`DataUnavailable` (one sentence) when ``spec``'s data cannot be had here; cheap.

    Embedded and synthetic sources are always here; a folder needs ``train/``; a tfds dataset needs
    TensorFlow and tensorflow-datasets, and either prepared data or a network to download it from.
    """
    parsed = parse_spec(spec)
    if parsed.kind == "folder":
        if not (parsed.path / "train").is_dir():
            raise DataUnavailable(f"{parsed} has no train/ folder (expected train/<class>/*.jpg); "
                                  f"{embedded_alternatives()}")
    elif parsed.kind == "tfds" and _mock_examples() is None:
        from keras_repro.data.mock import tensorflow_datasets_usable

        if not tensorflow_datasets_usable():
            raise DataUnavailable(f"{parsed} is read with tensorflow-datasets, which needs TensorFlow "
                                  f"(pip install tensorflow tensorflow-datasets); {embedded_alternatives()}")
        from keras_repro.data.tfds_source import check_obtainable

        check_obtainable(parsed.name, data_dir)


def load_arrays(spec: str | Spec, image_size: int | None = None, channels: int | None = None, *,
                seed: int = 0, test_fraction: float = 0.2, data_dir: str | os.PathLike | None = None,
                max_examples: int | None = None) -> ArrayData:
    """Load an in-memory source as NumPy arrays (embedded and synthetic sets need no TensorFlow).

    ``image_size``: side of the square images (bilinear resize; ``None`` keeps the native size).
    ``channels``: 1 or 3 (``None`` keeps the source's). ``seed`` and ``test_fraction`` fix the
    stratified split of sources that have no official one (digits, faces, shapes); tfds sets keep
    their own train/test split. ``max_examples`` keeps a seeded subset of the training examples.
    """
    parsed = in_memory_spec(spec)
    options = dict(image_size=image_size, channels=channels, seed=seed, test_fraction=test_fraction)
    if parsed.name == "digits":
        from keras_repro.data.embedded import digits_raw

        data = _finish(*digits_raw(), str(parsed), **options)
    elif parsed.name == "faces":
        from keras_repro.data.embedded import faces_raw

        data = _finish(*faces_raw(), str(parsed), **options)
    elif parsed.name == "shapes":
        from keras_repro.data.synthetic import make_shapes

        shapes = make_shapes(1500, image_size or 32, seed=seed, channels=channels or 1)
        data = _finish(shapes.images, shapes.labels, shapes.class_names, str(parsed), **options)
    elif parsed.kind == "tfds" and _mock_examples() is not None:
        from keras_repro.data.mock import mock_arrays

        data = mock_arrays(parsed, _mock_examples(), seed)
        x_train, x_test = data.x_train, data.x_test
        if image_size is not None:
            x_train, x_test = _arrays.resize_images(x_train, image_size), _arrays.resize_images(x_test, image_size)
        data = ArrayData(_arrays.convert_channels(x_train, channels), data.y_train,
                         _arrays.convert_channels(x_test, channels), data.y_test, data.class_names, data.name)
    else:  # tfds (in_memory_spec refused folders)
        from keras_repro.data.tfds_source import load_tfds_arrays

        data = load_tfds_arrays(parsed.name, data_dir=data_dir, image_size=image_size, channels=channels)
    return limit_train(data, max_examples, seed)
