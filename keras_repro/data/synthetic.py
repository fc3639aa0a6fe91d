"""Synthetic shapes with known class, box and mask: data where a claim needs control over the truth.

One object per image (a circle, a square or a triangle) on a noisy background, rendered at any size
with NumPy. Each image comes with its box ``(xc, yc, w, h)`` in fractions of the image side and its
pixel mask. With ``absent_fraction > 0`` some objects have their centre outside the image (they may
still poke in): they count as absent, which is the localisation convention of the notes (C3.1).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SHAPE_KINDS = ("circle", "square", "triangle")


@dataclass(frozen=True)
class Shapes:
    """Rendered shapes: ``images`` uint8 NHWC, ``labels`` (kind index), ``present`` (centre inside),
    ``boxes`` float (N, 4) as ``(xc, yc, w, h)`` fractions of the side (not clipped), ``masks`` uint8 NHW."""

    images: np.ndarray
    labels: np.ndarray
    present: np.ndarray
    boxes: np.ndarray
    masks: np.ndarray
    class_names: tuple[str, ...] = SHAPE_KINDS


def _shape_mask(kind: str, xs: np.ndarray, ys: np.ndarray, box: np.ndarray) -> np.ndarray:
    xc, yc, w, h = box
    dx, dy = xs - xc, ys - yc
    if kind == "circle":  # an ellipse inscribed in the box
        return (dx / (w / 2)) ** 2 + (dy / (h / 2)) ** 2 <= 1.0
    if kind == "square":
        return (np.abs(dx) <= w / 2) & (np.abs(dy) <= h / 2)
    # triangle: apex at the top centre of the box, base along its bottom edge
    depth = (ys - (yc - h / 2)) / h  # 0 at the apex, 1 at the base
    return (depth >= 0) & (depth <= 1) & (np.abs(dx) <= depth * w / 2)


def make_shapes(count: int, image_size: int = 32, *, seed: int = 0, channels: int = 1,
                size_range: tuple[float, float] = (0.3, 0.7), aspect_jitter: float = 0.0,
                absent_fraction: float = 0.0, noise: float = 0.08) -> Shapes:
    """Render ``count`` images with one shape each (kinds balanced, positions and sizes random, seeded).

    ``size_range``: the box side as a fraction of the image side. ``aspect_jitter``: the box's width
    and height vary independently by up to this factor (0 keeps squares and circles round).
    ``absent_fraction``: share of objects whose centre lies outside the image; otherwise the centre is
    uniform inside the image, so objects may extend past the border.
    """
    if count < 1 or image_size < 4:
        raise ValueError(f"make_shapes needs count >= 1 and image_size >= 4. Received: count={count}, "
                         f"image_size={image_size}")
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3. Received: channels={channels}")
    if not 0.0 <= absent_fraction < 1.0:
        raise ValueError(f"absent_fraction must be in [0, 1). Received: absent_fraction={absent_fraction}")
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(count) % len(SHAPE_KINDS)).astype(np.int64)
    present = rng.random(count) >= absent_fraction
    side = rng.uniform(*size_range, size=count)
    stretch = rng.uniform(1.0 - aspect_jitter, 1.0 + aspect_jitter, size=(count, 2))
    centres = rng.random((count, 2))
    # an absent object's centre lies in a band of width 0.25 just outside one of the four edges
    outside = rng.uniform(-0.25, 0.0, size=count)
    edge = rng.integers(0, 4, size=count)
    for i in np.flatnonzero(~present):
        axis, far = divmod(edge[i], 2)
        centres[i, axis] = 1.0 - outside[i] if far else outside[i]
    boxes = np.column_stack([centres, side[:, None] * stretch])

    grid = (np.arange(image_size) + 0.5) / image_size
    xs, ys = np.meshgrid(grid, grid)
    images = np.empty((count, image_size, image_size, channels), np.uint8)
    masks = np.empty((count, image_size, image_size), np.uint8)
    for i in range(count):
        mask = _shape_mask(SHAPE_KINDS[labels[i]], xs, ys, boxes[i])
        background = rng.uniform(0.0, 0.35, size=channels)
        foreground = rng.uniform(0.6, 1.0, size=channels)
        pixel = np.where(mask[..., None], foreground, background)
        pixel = pixel + rng.normal(0.0, noise, size=pixel.shape)
        images[i] = np.clip(np.rint(pixel * 255.0), 0, 255).astype(np.uint8)
        masks[i] = mask
    return Shapes(images, labels, present, boxes, masks)
