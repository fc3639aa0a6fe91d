"""Image folders in the ImageNet layout, with the files real folders contain, and the data commands."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from keras_repro.data import DataUnavailable, make_datasets
from keras_repro.data.commands import bench, data
from keras_repro.data.folder import find_unreadable, scan_folder

BAD = ("empty.jpg", "text.jpg", "truncated.jpg", "png_named.bmp")


def _save(path, array, mode=None, fmt=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, mode).save(path, format=fmt)


def write_tricky_folder(root):
    """3 classes; JPEG, grey and 16-bit PNG, CMYK JPEG, BMP, GIF, tiny images; a few unreadable files."""
    rng = np.random.default_rng(0)
    for split, per_class in (("train", 4), ("val", 2)):
        for c, name in enumerate(("cat", "dog", "fox")):
            folder = root / split / name
            for i in range(per_class):
                h, w = rng.integers(40, 120, size=2)
                _save(folder / f"rgb_{i}.JPG", rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
            _save(folder / "grey.png", rng.integers(0, 256, (50, 70), dtype=np.uint8))
            _save(folder / "tiny.png", rng.integers(0, 256, (5, 3, 3), dtype=np.uint8))  # smaller than any crop
    train = root / "train"
    _save(train / "cat" / "cmyk.jpg", rng.integers(0, 256, (60, 80, 4), dtype=np.uint8), mode="CMYK")
    _save(train / "dog" / "paletted.gif", rng.integers(0, 256, (30, 40), dtype=np.uint8), mode="L")
    _save(train / "dog" / "plain.bmp", rng.integers(0, 256, (30, 40, 3), dtype=np.uint8))
    _save(train / "fox" / "deep.png", rng.integers(0, 65536, (30, 20), dtype=np.uint16))  # 16-bit grey
    (train / "cat" / "notes.txt").write_text("ignored: not an image suffix")
    (train / "cat" / ".hidden.jpg").write_bytes(b"ignored: hidden")
    (train / "cat" / "empty.jpg").write_bytes(b"")
    (train / "fox" / "text.jpg").write_text("not an image at all")
    whole = (train / "cat" / "rgb_0.JPG").read_bytes()
    (train / "fox" / "truncated.jpg").write_bytes(whole[: len(whole) // 2])
    _save(root / "val" / "dog" / "png_named.bmp", np.zeros((8, 8), np.uint8), fmt="PNG")  # readable
    return root


@pytest.fixture(scope="module")
def tricky(tmp_path_factory):
    return write_tricky_folder(tmp_path_factory.mktemp("tricky"))


def test_scan_lists_images_only(tricky):
    index = scan_folder(tricky)
    assert index.class_names == ("cat", "dog", "fox")
    names = {p.rsplit("/", 1)[-1] for p in index.train.files}
    assert "notes.txt" not in names and ".hidden.jpg" not in names and "rgb_0.JPG" in names
    assert len(index.train) == 3 * 6 + 7 and len(index.val) == 3 * 4 + 1


def test_unreadable_files_are_found_with_reasons(tricky):
    index = scan_folder(tricky)
    reasons, sizes = find_unreadable(index.train.files + index.val.files)
    assert sorted(p.rsplit("/", 1)[-1] for p in reasons) == ["empty.jpg", "text.jpg", "truncated.jpg"]
    assert any("empty" in r for r in reasons.values())
    files = index.train.files + index.val.files
    assert tuple(sizes[files.index(str(tricky / "train/cat/cmyk.jpg"))]) == (60, 80)
    assert tuple(sizes[files.index(str(tricky / "train/cat/tiny.png"))]) == (5, 3)


@pytest.mark.parametrize("augment", ["alexnet", "inception", "none"])
def test_whole_epochs_run_past_every_kind_of_file(tricky, augment):
    train_ds, eval_ds, info = make_datasets(f"folder:{tricky}", image_size=32, batch_size=5, seed=1, augment=augment)
    assert info.train_count == 22 and info.eval_count == 13 and info.channels == 3
    assert sorted(p.rsplit("/", 1)[-1] for p in info.unreadable) == ["empty.jpg", "text.jpg", "truncated.jpg"]
    for _ in range(2):  # two epochs, nothing crashes, every readable image is seen once
        labels = np.concatenate([y.numpy() for x, y in train_ds])
        assert len(labels) == 22 and np.bincount(labels).tolist() == [7, 8, 7]
    x, _ = next(iter(eval_ds))
    assert x.shape == (5, 32, 32, 3) and np.isfinite(x.numpy()).all()


def test_folder_pipeline_is_repeatable_and_caches_when_small(tricky):
    a, _, info = make_datasets(f"folder:{tricky}", image_size=24, batch_size=20, seed=3)
    b, _, _ = make_datasets(f"folder:{tricky}", image_size=24, batch_size=20, seed=3, cache=False)
    assert info.cached == {"train": True, "eval": True}
    np.testing.assert_array_equal(next(iter(a))[0].numpy(), next(iter(b))[0].numpy())


def test_grey_output_from_a_colour_folder(tricky):
    train_ds, _, info = make_datasets(f"folder:{tricky}", image_size=16, batch_size=4, channels=1)
    assert next(iter(train_ds))[0].shape == (4, 16, 16, 1) and len(info.mean) == 1


def test_missing_folder_names_the_alternatives(tmp_path):
    with pytest.raises(DataUnavailable, match="digits, faces, shapes"):
        make_datasets(f"folder:{tmp_path / 'nowhere'}")


def test_missing_split_is_a_clear_error(tmp_path):
    _save(tmp_path / "train" / "a" / "x.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(DataUnavailable, match="no val split"):
        scan_folder(tmp_path)


def test_empty_class_is_a_clear_error(tmp_path):
    _save(tmp_path / "train" / "a" / "x.png", np.zeros((4, 4), np.uint8))
    (tmp_path / "train" / "b").mkdir()
    _save(tmp_path / "val" / "a" / "y.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(DataUnavailable, match="class 'b'.*no image files"):
        scan_folder(tmp_path)


def test_unknown_val_class_is_a_clear_error(tmp_path):
    _save(tmp_path / "train" / "a" / "x.png", np.zeros((4, 4), np.uint8))
    _save(tmp_path / "validation" / "zebra" / "y.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(DataUnavailable, match="zebra"):
        scan_folder(tmp_path)


def test_all_unreadable_split_is_a_clear_error(tmp_path):
    _save(tmp_path / "train" / "a" / "x.png", np.zeros((4, 4), np.uint8))
    (tmp_path / "val" / "a").mkdir(parents=True)
    (tmp_path / "val" / "a" / "broken.jpg").write_bytes(b"\xff\xd8garbage")
    with pytest.raises(DataUnavailable, match="no readable images"):
        make_datasets(f"folder:{tmp_path}", image_size=8)


# -- commands ---------------------------------------------------------------------------------------

def test_data_list():
    result = CliRunner().invoke(data, ["list"])
    assert result.exit_code == 0
    for spec in ("digits", "faces", "shapes", "tfds:mnist", "tfds:imagenet2012", "folder:PATH"):
        assert spec in result.output


def test_data_inspect_folder_lists_unreadable(tricky):
    result = CliRunner().invoke(data, ["inspect", f"folder:{tricky}"])
    assert result.exit_code == 0, result.output
    assert "classes: 3" in result.output and "unreadable files: 3" in result.output
    assert "truncated.jpg" in result.output and "height 5–" in result.output


def test_data_inspect_embedded():
    result = CliRunner().invoke(data, ["inspect", "faces"])
    assert result.exit_code == 0 and "non_face, face" in result.output and "25×25" in result.output


@pytest.mark.parametrize("spec", ["bogus", "folder:/definitely/not/here"])
def test_data_errors_are_one_line_without_traceback(spec):
    result = CliRunner().invoke(data, ["inspect", spec])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1
    assert "Traceback" not in result.output


def test_data_preview_writes_a_grid(tricky, tmp_path):
    out = tmp_path / "grid.png"
    result = CliRunner().invoke(data, ["preview", f"folder:{tricky}", "--out", str(out), "--count", "8",
                                       "--image-size", "48"])
    assert result.exit_code == 0, result.output
    assert "skipped 3 unreadable" in result.output
    image = np.asarray(Image.open(out))
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 300


def test_bench_pipeline_prints_the_ratio_last(tmp_path):
    result = CliRunner().invoke(bench, ["pipeline", "--images", "24", "--repeats", "1", "--batch-size", "8",
                                        "--image-size", "64"])
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("ratio=") and float(last.split("=")[1]) > 0
    assert "plain decode:" in result.output and "pipeline:" in result.output


def test_bench_pipeline_generates_the_asked_sides():
    result = CliRunner().invoke(bench, ["pipeline", "--images", "8", "--repeats", "1", "--batch-size", "4",
                                        "--image-size", "32", "--sides", "40", "60"])
    assert result.exit_code == 0, result.output
    assert "JPEGs of 40–60 px per side" in result.output and result.output.strip().splitlines()[-1].startswith("ratio=")
    result = CliRunner().invoke(bench, ["pipeline", "--sides", "600", "200"])
    assert result.exit_code == 2 and "MIN must not exceed MAX" in result.output


def test_bench_pipeline_refuses_non_folders():
    result = CliRunner().invoke(bench, ["pipeline", "digits"])
    assert result.exit_code == 1 and "folder:PATH" in result.output


@pytest.mark.parametrize("layout", ["train_only", "class_folders", "flat"])
def test_bench_pipeline_times_any_folder_of_images(tmp_path, layout):
    # the bench times the training pipeline only: a folder without val/ (or with no splits at all) is enough
    from keras_repro.data.bench import write_photo_folder

    made = write_photo_folder(tmp_path / "made", count=12, side_range=(60, 90))
    root = tmp_path / layout
    if layout == "train_only":
        shutil.copytree(made / "train", root / "train")
    elif layout == "class_folders":
        shutil.copytree(made / "train", root)
    else:
        root.mkdir()
        for i, f in enumerate(sorted((made / "train").rglob("*.jpg"))):
            shutil.copy(f, root / f"{i}.jpg")
    result = CliRunner().invoke(bench, ["pipeline", f"folder:{root}", "--images", "8", "--repeats", "1",
                                        "--batch-size", "4", "--image-size", "32"])
    assert result.exit_code == 0, result.output
    assert "timing 8 images" in result.output and result.output.strip().splitlines()[-1].startswith("ratio=")
