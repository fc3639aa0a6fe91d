"""Real data that ships with scikit-learn and scikit-image: available offline, loaded with NumPy only.

- ``digits``: scikit-learn's 1,797 handwritten digits, 8×8 grey levels 0–16, 10 classes; as images
  (:func:`digits_raw`, behind ``load_arrays("digits")``) and as small per-class training sets of
  pixel features (:func:`digits_split`, for the overfitting experiments).
- ``faces``: scikit-image's ``lfw_subset``, 100 face and 100 non-face 25×25 grey patches.
- photos: scikit-image's sample photographs (colour and grey), for super-resolution and crops.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Natural photographs and textures that scikit-image ships inside its wheel (no download needed).
COLOUR_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "motorcycle", "hubble_deep_field",
                 "immunohistochemistry", "retina", "colorwheel")
GREY_PHOTOS = ("camera", "coins", "moon", "clock", "cell", "brick", "grass", "gravel")
PHOTOS = COLOUR_PHOTOS + GREY_PHOTOS


def _sklearn_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits as they ship: (1797, 8, 8) grey levels 0–16 (float64) and labels 0–9."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.images, bunch.target


def digits_raw() -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """scikit-learn digits as uint8 (N, 8, 8, 1) images scaled from 0–16 to 0–255, labels, class names."""
    grey_levels, labels = _sklearn_digits()
    images = np.rint(grey_levels * (255.0 / 16.0)).astype(np.uint8)[..., None]
    return images, labels.astype(np.int64), tuple(str(d) for d in range(10))


@dataclass(frozen=True)
class DigitsSplit:
    """Flattened 8×8 digits scaled to [0, 1]: a small training set, a validation set, a test set."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def digits_split(per_class: int, n_val: int, seed: int) -> DigitsSplit:
    """scikit-learn's digits (1797 images, 64 features): ``per_class`` training examples of each
    digit, ``n_val`` validation examples, the rest for test (drawn with ``seed``)."""
    images, y = _sklearn_digits()
    x = (images.reshape(len(images), -1) / 16.0).astype("float32")
    y = y.astype("int32")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    train = np.concatenate([order[y[order] == c][:per_class] for c in range(10)])
    if len(train) != 10 * per_class:
        raise ValueError(f"not enough examples for per_class={per_class}")
    rest = np.setdiff1d(order, train, assume_unique=True)
    rest = rest[rng.permutation(len(rest))]
    if n_val >= len(rest):
        raise ValueError(f"n_val={n_val} leaves no test examples ({len(rest)} remain after training)")
    train = train[rng.permutation(len(train))]
    val, test = rest[:n_val], rest[n_val:]
    return DigitsSplit(x[train], y[train], x[val], y[val], x[test], y[test])


def faces_raw() -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """scikit-image ``lfw_subset``: uint8 (200, 25, 25, 1); label 1 = face, 0 = non-face."""
    from skimage.data import lfw_subset

    patches = lfw_subset()  # the first 100 are faces, the last 100 are not
    images = np.rint(patches * 255.0).astype(np.uint8)[..., None]
    labels = np.concatenate([np.ones(100, np.int64), np.zeros(len(patches) - 100, np.int64)])
    return images, labels, ("non_face", "face")


def load_photo(name: str) -> np.ndarray:
    """One scikit-image sample photo as uint8 HWC (grey photos have one channel)."""
    import skimage.data

    if name not in PHOTOS:
        raise ValueError(f"unknown photo {name!r}; choose one of {', '.join(PHOTOS)}. Received: name={name!r}")
    image = skimage.data.stereo_motorcycle()[0] if name == "motorcycle" else getattr(skimage.data, name)()
    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = np.rint(image.astype(np.float64) * (255.0 / max(float(image.max()), 1.0))).astype(np.uint8)
    return image[..., None] if image.ndim == 2 else image[..., :3]


def load_photos(names: tuple[str, ...] | None = None, channels: int | None = None) -> dict[str, np.ndarray]:
    """scikit-image sample photos by name (default: all), uint8 HWC, optionally forced to 1 or 3 channels."""
    from keras_repro.data.arrays import convert_channels

    names = PHOTOS if names is None else tuple(names)
    return {n: convert_channels(load_photo(n)[None], channels)[0] for n in names}


def random_crops(photos: dict[str, np.ndarray] | list[np.ndarray], size: int, count: int,
                 seed: int = 0) -> np.ndarray:
    """``count`` random ``size``×``size`` crops drawn evenly from ``photos`` (uint8 NHWC), seeded.

    Used for patch-based training (super-resolution): hold whole photos out for testing and crop the rest.
    """
    images = list(photos.values()) if isinstance(photos, dict) else list(photos)
    if not images:
        raise ValueError("random_crops needs at least one photo")
    small = [i for i, im in enumerate(images) if min(im.shape[:2]) < size]
    if small:
        raise ValueError(f"photos {small} are smaller than the crop. Received: size={size}")
    if len({im.shape[-1] for im in images}) != 1:
        raise ValueError("random_crops needs photos with the same number of channels (use channels=...)")
    rng = np.random.default_rng(seed)
    out = np.empty((count, size, size, images[0].shape[-1]), np.uint8)
    for k in range(count):
        image = images[k % len(images)]
        y = rng.integers(0, image.shape[0] - size + 1)
        x = rng.integers(0, image.shape[1] - size + 1)
        out[k] = image[y:y + size, x:x + size]
    return out
