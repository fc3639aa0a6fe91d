"""Stand-in data of a dataset's real shape and class count, for ``repro run --profile full --dry-run``.

A dry run exercises the full profile's data path where the real dataset is not prepared. With
TensorFlow, tensorflow-datasets' own ``tfds.testing.mock_data`` generates random records from the
dataset's feature spec, so the real tfds reading, decoding and streaming code runs. Without
TensorFlow (a JAX- or PyTorch-only machine), the tfds path cannot run at all; random uint8 arrays of
the dataset's shape stand in, served by the in-memory (NumPy) pipeline.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import numpy as np

from keras_repro.data.sources import ArrayData, DataUnavailable, Spec

# (height, width, channels, classes) of the datasets we name; variable-size sets at a typical size
SHAPES = {"mnist": (28, 28, 1, 10), "fashion_mnist": (28, 28, 1, 10), "cifar10": (32, 32, 3, 10),
          "cifar100": (32, 32, 3, 100), "imagenette": (320, 320, 3, 10), "imagenet2012": (256, 256, 3, 1000)}

_active: dict[str, int] = {}  # {"examples": N} while mock_tfds() is active without TensorFlow


def tensorflow_datasets_usable() -> bool:
    try:
        import tensorflow  # noqa: F401
        import tensorflow_datasets  # noqa: F401
    except ImportError:
        return False
    return True


@contextlib.contextmanager
def mock_tfds(num_examples: int) -> Iterator[str]:
    """Inside: every tfds dataset yields ``num_examples`` random examples per split; yields how, in words."""
    if tensorflow_datasets_usable():
        import tensorflow_datasets as tfds

        from keras_repro.data import tfds_source

        probe = tfds_source.network_available
        tfds_source.network_available = lambda *a, **k: True  # "downloading" is a no-op under the mock
        try:
            with tfds.testing.mock_data(num_examples=num_examples):
                yield f"tfds.testing.mock_data, {num_examples} random examples per split"
        finally:
            tfds_source.network_available = probe
        return
    _active["examples"] = num_examples
    try:
        yield f"random uint8 arrays of the real shape, {num_examples} per split (no TensorFlow here)"
    finally:
        _active.clear()


def active_examples() -> int | None:
    """How many examples the NumPy stand-in gives per split, or ``None`` when it is off."""
    return _active.get("examples")


def mock_arrays(spec: Spec, num_examples: int, seed: int = 0) -> ArrayData:
    """Random images and labels of ``spec``'s shape and classes (a tfds name from ``SHAPES``)."""
    base = spec.name.split("/")[0].split(":")[0]
    if base not in SHAPES:
        raise DataUnavailable(f"no stand-in shape is known for {spec}; known: {', '.join(SHAPES)}")
    height, width, channels, classes = SHAPES[base]
    rng = np.random.default_rng(seed)

    def split():
        x = rng.integers(0, 256, (num_examples, height, width, channels), dtype=np.uint8)
        return x, rng.integers(0, classes, num_examples).astype(np.int64)

    (x_train, y_train), (x_test, y_test) = split(), split()
    return ArrayData(x_train, y_train, x_test, y_test, tuple(str(c) for c in range(classes)), f"{spec} (stand-in)")
