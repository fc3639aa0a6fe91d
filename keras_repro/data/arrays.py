"""NumPy image utilities shared by the in-memory sources (no TensorFlow, so they run on JAX-only machines).

``resize_bilinear`` follows ``tf.image.resize(..., method="bilinear", antialias=False)`` exactly
(half-pixel centres), so an image resized here and one resized in a tf.data pipeline agree.
"""
from __future__ import annotations

import numpy as np

# The augmentations of the training pipelines (tf.data in ``transforms``, NumPy in ``numpy_pipeline``)
AUGMENTATIONS = ("alexnet", "inception", "none")
AREA_RANGE = (0.08, 1.0)  # Inception-style crops: fraction of the image area
ASPECT_RANGE = (3.0 / 4.0, 4.0 / 3.0)  # and aspect ratio


def _interpolation_matrix(src: int, dst: int) -> np.ndarray:
    """(dst, src) matrix of bilinear weights with half-pixel centres (TF's convention)."""
    scale = src / dst
    centres = (np.arange(dst) + 0.5) * scale - 0.5
    centres = np.clip(centres, 0.0, src - 1)
    low = np.floor(centres).astype(int)
    high = np.minimum(low + 1, src - 1)
    frac = centres - low
    matrix = np.zeros((dst, src))
    matrix[np.arange(dst), low] += 1.0 - frac
    matrix[np.arange(dst), high] += frac
    return matrix


def resize_bilinear(images: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Bilinear resize of NHWC ``images`` to ``size`` (int: square); returns float32.

    Bilinear interpolation is separable, so it is two matrix products: rows, then columns.
    """
    height, width = (size, size) if isinstance(size, int) else size
    if images.ndim != 4:
        raise ValueError(f"resize_bilinear expects NHWC images. Received: shape={images.shape}")
    n, src_h, src_w, channels = images.shape
    rows = _interpolation_matrix(src_h, height).astype(np.float32)
    cols = _interpolation_matrix(src_w, width).astype(np.float32)
    x = images.astype(np.float32).reshape(n, src_h, src_w * channels)
    x = np.matmul(rows, x).reshape(n, height, src_w, channels)  # (h, src_h) @ (src_h, src_w·c)
    x = np.matmul(cols, x)  # (w, src_w) @ (src_w, c), batched over n and h
    return x


def resize_images(images: np.ndarray, size: int, chunk: int = 256) -> np.ndarray:
    """Bilinear resize of uint8 NHWC ``images`` to ``size``×``size`` uint8, a chunk at a time (bounded memory)."""
    if images.shape[1:3] == (size, size):
        return images
    return np.concatenate([to_uint8(resize_bilinear(images[i:i + chunk], size))
                           for i in range(0, len(images), chunk)]) if len(images) else \
        np.zeros((0, size, size, images.shape[-1]), np.uint8)


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Round and clip float images in [0, 255] to uint8."""
    return np.clip(np.rint(images), 0, 255).astype(np.uint8)


def to_unit_float(images: np.ndarray, *, flatten: bool = False) -> np.ndarray:
    """uint8 ``images`` as float32 in [0, 1] (``/ 255``); ``flatten``: one row of pixels per image."""
    images = np.asarray(images)
    if flatten:
        images = images.reshape(len(images), -1)
    return images.astype(np.float32) / 255.0


def grayscale_weights() -> np.ndarray:
    """ITU-R BT.601 luma weights, as ``tf.image.rgb_to_grayscale`` uses."""
    return np.array([0.2989, 0.5870, 0.1140])


def convert_channels(images: np.ndarray, channels: int | None) -> np.ndarray:
    """NHWC uint8 ``images`` with ``channels`` (1 or 3) channels; ``None`` keeps them as they are."""
    if channels is None or images.shape[-1] == channels:
        return images
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1, 3 or None. Received: channels={channels}")
    if channels == 3:
        return np.repeat(images[..., :1], 3, axis=-1)
    return to_uint8(images[..., :3].astype(np.float64) @ grayscale_weights())[..., None]


def stratified_split(labels: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test) with ``test_fraction`` of every class in test, chosen by ``seed``.

    Both index arrays are sorted, so the split does not depend on anything but the labels and the seed.
    Every class keeps at least one training example and, if it has two or more, gives one to test.
    ``sklearn.model_selection.train_test_split(stratify=...)`` is not used: it refuses a class with one
    member and a test set smaller than the number of classes (tests/test_data_arrays.py).
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1). Received: test_fraction={test_fraction}")
    rng = np.random.default_rng(seed)
    test = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        n_test = max(1, int(round(test_fraction * len(members))))
        test.append(rng.choice(members, size=min(n_test, len(members) - 1), replace=False))
    test_idx = np.sort(np.concatenate(test))
    train_idx = np.setdiff1d(np.arange(len(labels)), test_idx)
    return train_idx, test_idx


def subset_indices(count: int, max_examples: int | None, seed: int) -> np.ndarray | None:
    """Sorted indices of a seeded subset of ``max_examples`` out of ``count`` (``None``: keep all)."""
    if max_examples is None or max_examples >= count:
        return None
    if max_examples < 1:
        raise ValueError(f"max_examples must be >= 1. Received: max_examples={max_examples}")
    return np.sort(np.random.default_rng([seed, 1]).choice(count, max_examples, replace=False))
