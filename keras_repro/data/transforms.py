"""Per-image TensorFlow transforms of the ImageNet-style pipelines (graph code: no Python per image).

An image arrives either decoded (a uint8 ``[H, W, C]`` tensor, from in-memory sources) or encoded
(JPEG/PNG/BMP/GIF/WebP bytes, from folders and tfds). A crop window is chosen from the image's
height and width, and for JPEG only that window is decoded (``decode_and_crop_jpeg``, reading the
size from the header first): the crop saves part of the decoding that the resize then spends. When
the window is at least 2, 4 or 8 times the target size on both sides, libjpeg decodes it at 1/2, 1/4
or 1/8 scale in the DCT domain (``ratio``): the decoded window is still at least the target size, so
nothing is upsampled; the DCT reduction is a low-pass filter, so the result stays close to an
antialiased resize of the full window (bilinear resizing without antialiasing looks at 2×2 pixels
only and aliases fine texture at large reductions). The result is resized bilinearly and normalised
in the same function, to float32.

- ``alexnet``: a random square crop whose side is ``crop_fraction`` of the shorter side (224/256 as
  in AlexNet), rescaled bilinearly to the target size, flipped horizontally with probability 1/2.
- ``inception``: a random crop of 8–100% of the area with aspect ratio 3/4–4/3
  (``stateless_sample_distorted_bounding_box``), rescaled and flipped likewise.
- evaluation (and ``none``): the centred square crop of ``crop_fraction`` of the shorter side
  (1.0 for ``none``), rescaled: the same geometry as "resize the shorter side to S/fraction, crop S".

All randomness is stateless, driven by a per-image seed, so a pipeline is repeatable.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from keras_repro.data.arrays import AREA_RANGE, ASPECT_RANGE, AUGMENTATIONS  # noqa: F401  (shared with NumPy)


def square_window(height, width, fraction: float, seed=None):
    """(y, x, h, w) of a square of side ``fraction`` × the shorter side: random if ``seed`` else centred."""
    side = tf.maximum(tf.cast(tf.cast(tf.minimum(height, width), tf.float32) * fraction, tf.int32), 1)
    if seed is None:
        return (height - side) // 2, (width - side) // 2, side, side
    offsets = tf.random.stateless_uniform([2], seed=seed, minval=0.0, maxval=1.0)
    y = tf.cast(offsets[0] * tf.cast(height - side + 1, tf.float32), tf.int32)
    x = tf.cast(offsets[1] * tf.cast(width - side + 1, tf.float32), tf.int32)
    return tf.minimum(y, height - side), tf.minimum(x, width - side), side, side


def inception_window(height, width, seed):
    """(y, x, h, w) of a random crop with area in AREA_RANGE and aspect ratio in ASPECT_RANGE."""
    begin, size, _ = tf.image.stateless_sample_distorted_bounding_box(
        tf.stack([height, width, 1]), bounding_boxes=tf.constant([[[0.0, 0.0, 1.0, 1.0]]]), seed=seed,
        min_object_covered=0.0, aspect_ratio_range=ASPECT_RANGE, area_range=AREA_RANGE, max_attempts=10,
        use_image_if_no_bounding_boxes=True)
    return begin[0], begin[1], size[0], size[1]


def _match_channels(image, channels: int):
    have = image.shape[-1]
    if have == channels:
        return image
    if channels == 3:
        return tf.image.grayscale_to_rgb(image[..., :1])
    return tf.cast(tf.round(tf.image.rgb_to_grayscale(tf.cast(image[..., :3], tf.float32))), tf.uint8)


DCT_RATIOS = (1, 2, 4, 8)  # the scales libjpeg can decode at


def dct_ratio_index(h, w, target: int):
    """Index into ``DCT_RATIOS`` of the coarsest scale at which an ``h``×``w`` window stays ≥ ``target``."""
    q = tf.minimum(h, w) // target
    return tf.add_n([tf.cast(q >= r, tf.int32) for r in DCT_RATIOS[1:]])


def decode_window(payload, window_fn, *, encoded: bool, channels: int, target: int | None = None):
    """Decode (if ``encoded``) only the window ``window_fn(height, width) -> (y, x, h, w)``; uint8 HWC.

    With ``target``, a JPEG window that is at least 2, 4 or 8 × ``target`` pixels on both sides is
    decoded at that reduced scale (never below ``target``), the window's corners rounded down to it.
    """
    if not encoded:
        image = _match_channels(payload, channels)
        shape = tf.shape(image)
        y, x, h, w = window_fn(shape[0], shape[1])
        return image[y:y + h, x:x + w]

    # Files are decoded to RGB (the decoders convert grey, CMYK and palettes to it; libjpeg cannot
    # convert CMYK to grey) and turned grey afterwards when one channel is asked for.
    def jpeg():
        shape = tf.io.extract_jpeg_shape(payload)
        y, x, h, w = window_fn(shape[0], shape[1])
        if target is None:
            return tf.image.decode_and_crop_jpeg(payload, tf.stack([y, x, h, w]), channels=3)

        def at(ratio):  # the window in the coordinates of the image decoded at 1/ratio scale
            return lambda: tf.image.decode_and_crop_jpeg(payload, tf.stack([y, x, h, w]) // ratio, channels=3,
                                                         ratio=ratio)

        return tf.switch_case(dct_ratio_index(h, w, target), [at(r) for r in DCT_RATIOS])

    def other():
        image = tf.io.decode_image(payload, channels=3, expand_animations=False)
        shape = tf.shape(image)
        y, x, h, w = window_fn(shape[0], shape[1])
        return image[y:y + h, x:x + w]

    return _match_channels(tf.cond(tf.io.is_jpeg(payload), jpeg, other), channels)


def _finish(image, image_size: int, mean, std):
    """Bilinear rescale to ``image_size`` and per-channel normalisation ``(x / 255 - mean) / std``.

    The normalisation is one multiply-add by constants of the image's full shape: a per-channel
    vector would broadcast, and broadcasting in TensorFlow's CPU kernels costs more than the resize.
    """
    # float32 input: the same outputs as resizing the uint8 image, and TensorFlow's CPU kernel takes a
    # third less time on it (docs/data.md)
    resized = tf.image.resize(tf.cast(image, tf.float32), [image_size, image_size], method="bilinear",
                              antialias=False)
    if mean is None:
        return resized * (1.0 / 255.0)
    shape = (image_size, image_size, len(mean))
    scale = tf.constant(np.broadcast_to([1.0 / (255.0 * s) for s in std], shape), tf.float32)
    offset = tf.constant(np.broadcast_to([m / s for m, s in zip(mean, std)], shape), tf.float32)
    return resized * scale - offset


def train_image(payload, seed, *, encoded: bool, augment: str, image_size: int, channels: int,
                crop_fraction: float, flip: bool, mean=None, std=None):
    """One augmented, normalised training image (float32 ``[image_size, image_size, channels]``)."""
    crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    if augment == "alexnet":
        window = lambda h, w: square_window(h, w, crop_fraction, crop_seed)  # noqa: E731
    elif augment == "inception":
        window = lambda h, w: inception_window(h, w, crop_seed)  # noqa: E731
    else:
        window = lambda h, w: square_window(h, w, 1.0)  # noqa: E731
    image = decode_window(payload, window, encoded=encoded, channels=channels, target=image_size)
    if flip and augment != "none":
        # (tf.image.stateless_random_flip_left_right does the same behind rank checks and asserts)
        mirror = tf.random.stateless_uniform([], seed=flip_seed) < 0.5
        image = tf.cond(mirror, lambda: tf.reverse(image, axis=[1]), lambda: image)
    return _finish(image, image_size, mean, std)


def eval_image(payload, *, encoded: bool, image_size: int, channels: int, crop_fraction: float, mean=None,
               std=None):
    """One evaluation image: centred square crop of ``crop_fraction`` of the shorter side, rescaled."""
    window = lambda h, w: square_window(h, w, crop_fraction)  # noqa: E731
    image = decode_window(payload, window, encoded=encoded, channels=channels, target=image_size)
    return _finish(image, image_size, mean, std)
