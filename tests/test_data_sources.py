"""Spec strings, in-memory sources (NumPy only) and the NumPy image helpers."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import assert_ok, run_python
from keras_repro.data import (
    DataUnavailable, SpecError, in_memory_spec, list_sources, load_arrays, load_photos, make_shapes, parse_spec,
    random_crops,
)
from keras_repro.data.arrays import convert_channels, resize_bilinear, stratified_split, subset_indices


@pytest.mark.parametrize("text, kind, name", [
    ("digits", "embedded", "digits"), ("faces", "embedded", "faces"), ("shapes", "synthetic", "shapes"),
    ("tfds:cifar10", "tfds", "cifar10"), ("mnist", "tfds", "mnist"), ("tfds:imagenette/320px-v2", "tfds",
                                                                      "imagenette/320px-v2"),
])
def test_parse_spec_names_each_kind(text, kind, name):
    spec = parse_spec(text)
    assert (spec.kind, spec.name) == (kind, name)
    assert parse_spec(str(spec)) == spec  # a spec prints back as a spec


def test_parse_spec_folder_expands_user(tmp_path):
    spec = parse_spec(f"folder:{tmp_path}")
    assert spec.kind == "folder" and spec.path == tmp_path
    assert parse_spec("folder:~/x").path.is_absolute()


@pytest.mark.parametrize("text, fragment", [
    ("bogus", "unknown data source 'bogus'"), ("tfds:", "needs a dataset name"), ("folder:", "needs a path"),
    ("photos", "load_photos"), ("/some/path", "folder:PATH"),
])
def test_parse_spec_rejects_with_a_hint(text, fragment):
    with pytest.raises(SpecError, match=fragment):
        parse_spec(text)


def test_list_sources_covers_every_kind():
    kinds = {s.kind for s in list_sources()}
    assert kinds == {"embedded", "synthetic", "tfds", "folder"}
    for entry in list_sources():
        if entry.kind != "folder":
            parse_spec(entry.spec)  # every listed spec parses


def test_digits_arrays_contract():
    arr = load_arrays("digits", image_size=32, channels=1)
    assert arr.x_train.dtype == np.uint8 and arr.x_train.shape[1:] == (32, 32, 1)
    assert arr.x_test.shape[1:] == (32, 32, 1)
    assert len(arr.x_train) + len(arr.x_test) == 1797
    assert arr.num_classes == 10 and arr.class_names == tuple("0123456789") and arr.name == "digits"
    assert arr.y_train.dtype == np.int64 and set(arr.y_test) == set(range(10))
    assert arr.x_train.max() > 200  # rescaled from 0..16 to 0..255


def test_split_is_deterministic_and_seeded():
    a, b, c = load_arrays("digits", seed=0), load_arrays("digits", seed=0), load_arrays("digits", seed=1)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    np.testing.assert_array_equal(a.x_test, b.x_test)
    assert not np.array_equal(a.x_test, c.x_test)


def test_stratified_split_keeps_class_shares():
    labels = np.repeat(np.arange(3), [50, 30, 20])
    train, test = stratified_split(labels, 0.2, seed=0)
    assert len(np.intersect1d(train, test)) == 0 and len(train) + len(test) == 100
    assert list(np.bincount(labels[test])) == [10, 6, 4]


def test_max_examples_keeps_a_seeded_subset():
    full, small = load_arrays("digits"), load_arrays("digits", max_examples=100)
    assert len(small.y_train) == 100 and len(small.y_test) == len(full.y_test)
    assert subset_indices(10, None, 0) is None and subset_indices(10, 20, 0) is None
    with pytest.raises(ValueError, match="max_examples=0"):
        subset_indices(10, 0, 0)


def test_faces_and_channels():
    arr = load_arrays("faces", channels=3)
    assert arr.class_names == ("non_face", "face") and arr.x_train.shape[1:] == (25, 25, 3)
    np.testing.assert_array_equal(arr.x_train[..., 0], arr.x_train[..., 2])  # grey repeated
    assert np.bincount(np.concatenate([arr.y_train, arr.y_test])).tolist() == [100, 100]


def test_convert_channels_uses_luma_weights():
    rgb = np.zeros((1, 1, 2, 3), np.uint8)
    rgb[0, 0, 0] = (255, 0, 0)
    rgb[0, 0, 1] = (0, 0, 255)
    grey = convert_channels(rgb, 1)
    assert grey.shape == (1, 1, 2, 1) and grey[0, 0, 0, 0] == 76 and grey[0, 0, 1, 0] == 29
    with pytest.raises(ValueError, match="channels=2"):
        convert_channels(rgb, 2)


def test_resize_bilinear_matches_tensorflow():
    import tensorflow as tf

    rng = np.random.default_rng(0)
    for src, dst in [((8, 8), (32, 32)), ((28, 28), (32, 32)), ((37, 53), (20, 71)), ((25, 25), (25, 25))]:
        x = rng.integers(0, 256, size=(3, *src, 2)).astype(np.uint8)
        expected = tf.image.resize(x, dst, method="bilinear", antialias=False).numpy()
        np.testing.assert_allclose(resize_bilinear(x, dst), expected, atol=2e-3)


def test_shapes_boxes_and_masks_agree():
    shapes = make_shapes(60, 32, seed=3)
    assert shapes.images.shape == (60, 32, 32, 1) and shapes.masks.shape == (60, 32, 32)
    assert shapes.present.all() and np.bincount(shapes.labels).tolist() == [20, 20, 20]
    for mask, (xc, yc, w, h) in zip(shapes.masks, shapes.boxes):
        ys, xs = np.nonzero(mask)
        if len(xs):  # every mask pixel centre lies inside its box
            assert ((xs + 0.5) / 32 >= xc - w / 2 - 1e-9).all() and ((xs + 0.5) / 32 <= xc + w / 2 + 1e-9).all()
            assert ((ys + 0.5) / 32 >= yc - h / 2 - 1e-9).all() and ((ys + 0.5) / 32 <= yc + h / 2 + 1e-9).all()
    # foreground is brighter than background on average
    fg = np.mean([img[m > 0].mean() for img, m in zip(shapes.images[..., 0], shapes.masks) if m.any()])
    bg = np.mean([img[m == 0].mean() for img, m in zip(shapes.images[..., 0], shapes.masks)])
    assert fg > bg + 80


def test_absent_shapes_have_their_centre_outside():
    shapes = make_shapes(200, 16, seed=0, absent_fraction=0.5)
    inside = ((shapes.boxes[:, :2] >= 0) & (shapes.boxes[:, :2] <= 1)).all(axis=1)
    np.testing.assert_array_equal(inside, shapes.present)
    assert 60 < (~shapes.present).sum() < 140
    with pytest.raises(ValueError, match="absent_fraction=1.0"):
        make_shapes(4, 16, absent_fraction=1.0)


def test_shapes_are_repeatable():
    a, b = make_shapes(10, 16, seed=5), make_shapes(10, 16, seed=5)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.boxes, b.boxes)


def test_photos_and_random_crops():
    photos = load_photos(("astronaut", "camera"), channels=3)
    assert photos["astronaut"].shape == (512, 512, 3) and photos["camera"].shape == (512, 512, 3)
    crops = random_crops(photos, 48, 10, seed=1)
    assert crops.shape == (10, 48, 48, 3) and crops.dtype == np.uint8
    np.testing.assert_array_equal(crops, random_crops(photos, 48, 10, seed=1))
    with pytest.raises(ValueError, match="size=600"):
        random_crops(photos, 600, 1)


def test_folder_and_tfds_are_not_arrays(tmp_path):
    with pytest.raises(SpecError, match="make_datasets"):
        load_arrays(f"folder:{tmp_path}")
    with pytest.raises(SpecError, match="not held in memory"):
        in_memory_spec(f"folder:{tmp_path}")  # what configs of load_arrays reproductions check when built
    assert in_memory_spec("mnist").kind == "tfds" and in_memory_spec("digits").kind == "embedded"
    assert issubclass(DataUnavailable, Exception)


def test_in_memory_sources_need_no_tensorflow():
    """A JAX-only machine: TensorFlow cannot be imported, the embedded sources still load."""
    code = """
        import sys
        sys.modules["tensorflow"] = None  # importing it now raises ImportError
        from keras_repro.data import load_arrays, make_shapes
        for spec in ("digits", "faces", "shapes"):
            arr = load_arrays(spec, image_size=16, channels=3)
            assert arr.x_train.shape[1:] == (16, 16, 3), arr.x_train.shape
        import keras
        assert keras.backend.backend() == "jax"
        print("ok")
    """
    assert assert_ok(run_python(code, backend="jax", timeout=120)).strip().endswith("ok")
