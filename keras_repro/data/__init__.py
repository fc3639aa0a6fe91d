"""Data sources (embedded, synthetic, tfds, image folders) and ImageNet-style tf.data input pipelines.

    from keras_repro.data import load_arrays, make_datasets, DataUnavailable, list_sources

    arr = load_arrays("digits", image_size=32, channels=1)      # NumPy, no TensorFlow needed
    train_ds, eval_ds, info = make_datasets("folder:/data/imagenet", image_size=224, batch_size=64)

A spec string names a source: ``digits``, ``faces``, ``shapes``, ``tfds:NAME`` (or a known name such
as ``mnist``), ``folder:/path``. See ``docs/data.md``. Importing this package does not import
TensorFlow; ``make_datasets`` and the folder/tfds sources do, when called.
"""
from keras_repro.data.arrays import to_unit_float
from keras_repro.data.batches import first_batch, iterate_batches, len_batches, relabel, repeat
from keras_repro.data.embedded import PHOTOS, DigitsSplit, digits_split, load_photo, load_photos, random_crops
from keras_repro.data.pipeline import DatasetInfo, make_datasets
from keras_repro.data.sources import (
    EMBEDDED, ArrayData, DataError, DataUnavailable, SourceEntry, Spec, SpecError, in_memory_spec, list_sources,
    load_arrays, parse_spec,
)
from keras_repro.data.synthetic import SHAPE_KINDS, Shapes, make_shapes

__all__ = [
    "ArrayData", "DataError", "first_batch", "iterate_batches", "len_batches", "relabel", "repeat", "DataUnavailable", "DatasetInfo", "EMBEDDED", "PHOTOS", "SHAPE_KINDS", "Shapes",
    "SourceEntry", "Spec", "SpecError", "in_memory_spec", "list_sources", "load_arrays", "load_photo", "load_photos",
    "make_datasets", "make_shapes", "parse_spec", "random_crops", "DigitsSplit", "digits_split", "to_unit_float",
]
