"""``repro bench pipeline``: how fast the training pipeline feeds images, against plain decoding.

Both sides read the same files through ``tf.data`` with the same parallelism (``AUTOTUNE``):

- plain: read + decode every file (nothing else; each image is reduced to its shape, so there is no
  batching or copying either — the fastest one can go through these files);
- pipeline: the real training pipeline of :func:`make_datasets` (shuffle, read, decode-and-crop,
  flip, bilinear resize to the target size, normalise, batch, prefetch), without the in-memory cache
  of file bytes, so that both sides read the files.

After one warm-up pass of each (file cache, tracing, autotuning), ``repeats`` timed passes of each
alternate, and the median rates are compared. A pass is timed from creating its iterator to the last
element (see :func:`_time_pass` for why the iterator's teardown is not). The target is ``ratio = pipeline / plain ≥ 0.9``.
Process CPU time per image is measured too: on a machine shared with other work, wall-clock rates
swing with the others' load, CPU time per image much less. So is the start-up of a pass (creating
the iterator, which instantiates the map function, and filling the first batch): it is paid once per
epoch, so passes should be long enough for it to weigh as it does in an epoch (the default is 2,048
images; at 512 the pipeline's start-up of ~60 ms is a quarter of a pass on a 2-core machine).
Without a folder, a temporary one of JPEGs is written from scikit-image's photos (varied sizes).
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from keras_repro.data.embedded import COLOUR_PHOTOS, load_photos

# ImageNet's channel statistics: the benchmark times normalisation, whatever the values.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def write_photo_folder(root: str | Path, count: int = 512, *, seed: int = 0, classes: int = 4,
                       side_range: tuple[int, int] = (200, 640), val_fraction: float = 0.125,
                       quality: int = 90) -> Path:
    """Write ``count`` JPEGs in the ImageNet layout under ``root``: random crops of scikit-image's
    colour photos at random sizes (``side_range``), ``classes`` classes, seeded. Returns ``root``."""
    from PIL import Image

    root = Path(root)
    rng = np.random.default_rng(seed)
    photos = [Image.fromarray(p) for p in load_photos(COLOUR_PHOTOS, channels=3).values()]
    for i in range(count):
        photo = photos[i % len(photos)]
        w, h = photo.size
        ch, cw = rng.integers(min(h, 160), h + 1), rng.integers(min(w, 160), w + 1)
        y, x = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
        out_h, out_w = (int(v) for v in rng.integers(side_range[0], side_range[1] + 1, size=2))
        image = photo.crop((int(x), int(y), int(x + cw), int(y + ch))).resize((out_w, out_h), Image.BILINEAR)
        split = "val" if rng.random() < val_fraction else "train"
        folder = root / split / f"class_{i % classes}"
        folder.mkdir(parents=True, exist_ok=True)
        image.save(folder / f"img_{i:05d}.jpg", quality=quality)
    for c in range(classes):  # every class needs at least one validation image
        val_dir = root / "val" / f"class_{c}"
        if not val_dir.is_dir() or not any(val_dir.iterdir()):
            val_dir.mkdir(parents=True, exist_ok=True)
            first = sorted((root / "train" / f"class_{c}").iterdir())[0]
            first.rename(val_dir / first.name)
    return root


@dataclass(frozen=True)
class Timing:
    """One pass over the files: wall-clock images/s, process CPU milliseconds per image, and the
    wall-clock milliseconds from creating the iterator to its first element (included in the rate)."""

    rate: float
    cpu_ms: float
    startup_ms: float = 0.0


@dataclass(frozen=True)
class PipelineBench:
    images: int
    image_size: int
    batch_size: int
    plain: tuple[Timing, ...]
    pipeline: tuple[Timing, ...]

    @property
    def plain_rate(self) -> float:
        return statistics.median(t.rate for t in self.plain)

    @property
    def pipeline_rate(self) -> float:
        return statistics.median(t.rate for t in self.pipeline)

    @property
    def startup_ms(self) -> tuple[float, float]:
        """Median milliseconds to the first element: (plain, pipeline)."""
        return (statistics.median(t.startup_ms for t in self.plain),
                statistics.median(t.startup_ms for t in self.pipeline))

    @property
    def ratio(self) -> float:
        return self.pipeline_rate / self.plain_rate

    @property
    def cpu_ratio(self) -> float:
        """Plain CPU time per image over the pipeline's: the ratio on an otherwise idle machine
        when both sides scale over the cores alike (robust to other processes' load)."""
        return statistics.median(t.cpu_ms for t in self.plain) / statistics.median(t.cpu_ms for t in self.pipeline)


def image_files(root: str | Path) -> list[str]:
    """Every image file under ``root`` (any layout: train/ and val/, class folders, or flat), sorted.

    The bench times only decoding and the training pipeline, so no split or class structure is needed.
    Links to folders are not followed; a folder without images is a :class:`DataUnavailable`.
    """
    import os

    from keras_repro.data.folder import IMAGE_SUFFIXES
    from keras_repro.data.sources import DataUnavailable

    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataUnavailable(f"image folder {root} does not exist")
    found = []
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        found += [os.path.join(folder, n) for n in sorted(names) if n.lower().endswith(IMAGE_SUFFIXES)]
    if not found:
        raise DataUnavailable(f"{root} holds no image files ({', '.join(IMAGE_SUFFIXES)})")
    return found


def _plain_decode(files: list[str]):
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices(files)
    ds = ds.map(lambda p: tf.shape(tf.io.decode_image(tf.io.read_file(p), channels=3, expand_animations=False)),
                num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def _time_pass(ds, count: int) -> Timing:
    """Rate from creating the iterator to its last element. Dropping the iterator afterwards is left
    out: with autotuning, TensorFlow's teardown sometimes waits for the tuning thread's current sleep,
    which grows with the pass (about 0.1 s after 512 images, 0.6 s after 2,048; seen with TF 2.21),
    and that wait delivers no images."""
    start, cpu = time.perf_counter(), time.process_time()
    iterator = iter(ds)
    first = None
    for _ in iterator:
        if first is None:
            first = time.perf_counter() - start
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    del iterator
    return Timing(count / wall, 1000.0 * cpu / count, 1000.0 * (first or 0.0))


def bench_pipeline(files: list[str], *, image_size: int = 224, batch_size: int = 64, repeats: int = 5,
                   augment: str = "alexnet", seed: int = 0, log=None) -> PipelineBench:
    """Time plain decoding and the training pipeline over the same ``files`` (see module docstring)."""
    import tensorflow as tf

    from keras_repro.data.pipeline import Preprocessing, _Split, train_dataset

    if not files:
        raise ValueError("bench_pipeline needs at least one file")
    labels = np.zeros(len(files), np.int64)
    split = _Split(tf.data.Dataset.from_tensor_slices((list(files), labels)), len(files), "path")
    prep = Preprocessing(image_size, 3, augment, mean=IMAGENET_MEAN, std=IMAGENET_STD)
    pipeline, _ = train_dataset(split, prep, batch_size=batch_size, seed=seed, cache=False)
    plain = _plain_decode(list(files))
    for ds in (plain, pipeline):  # warm-up: page cache, tracing, autotuning
        _time_pass(ds, len(files))
    plain_times, pipeline_times = [], []
    for r in range(repeats):
        plain_times.append(_time_pass(plain, len(files)))
        pipeline_times.append(_time_pass(pipeline, len(files)))
        if log:
            log(f"pass {r + 1}/{repeats}: plain {plain_times[-1].rate:7.1f} img/s, "
                f"pipeline {pipeline_times[-1].rate:7.1f} img/s")
    return PipelineBench(len(files), image_size, batch_size, tuple(plain_times), tuple(pipeline_times))
