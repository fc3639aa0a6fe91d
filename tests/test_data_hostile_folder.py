"""A hostile image folder, read by both pipeline engines (tf.data and NumPy) and by ``repro data inspect``.

Every file a real folder can hold that is not a plain image either trains (CMYK, 16-bit PNG,
animated GIF, a PNG named .jpg) or is listed with its reason and skipped (corrupt, zero-byte, a
symlink loop, a non-UTF-8 name, a PNG whose header claims 400 megapixels, an unreadable folder).
Both engines skip the same files; nothing ends in a traceback.
"""
from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from PIL import Image

from keras_repro.data import DataUnavailable, make_datasets
from keras_repro.data.folder import find_unreadable, image_size_from_header, scan_folder

from conftest import REPO

ENGINES = ("tf", "numpy")
NON_UTF8 = b"caf\xe9.jpg"  # Latin-1 bytes: not a valid UTF-8 file name


def _save(path, array, mode=None, fmt=None, **kwargs):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, mode).save(path, format=fmt, **kwargs)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def huge_header_png(width=20_000, height=20_000) -> bytes:
    """A few hundred bytes whose header claims ``width`` × ``height`` grey pixels (a decompression bomb's header)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (width + 1) * 4)  # a few rows; a decoder would allocate all of them first
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", rows) + _png_chunk(b"IEND", b"")


def _animated_gif(path, rng):
    frames = [Image.fromarray(rng.integers(0, 256, (24, 32), dtype=np.uint8), "L") for _ in range(3)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50, loop=0)


def write_hostile_folder(root):
    """2 classes of good JPEGs plus every awkward file; returns the names expected to be skipped."""
    rng = np.random.default_rng(0)
    for split, per_class, shape in (("train", 4, (40, 56, 3)), ("val", 2, (24, 32, 3))):
        for name in ("cat", "dog"):
            for i in range(per_class):
                _save(root / split / name / f"good_{i}.jpg", rng.integers(0, 256, shape, dtype=np.uint8))
    cat, dog = root / "train" / "cat", root / "train" / "dog"
    _save(cat / "cmyk.jpg", rng.integers(0, 256, (30, 40, 4), dtype=np.uint8), mode="CMYK")
    _save(cat / "deep.png", rng.integers(0, 65536, (30, 20), dtype=np.uint16))  # 16-bit grey
    _animated_gif(dog / "animated.gif", rng)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)).save(buffer, format="PNG")
    (dog / "really_a_png.jpg").write_bytes(buffer.getvalue())  # mislabelled: decoders sniff the content
    (cat / "zero.jpg").write_bytes(b"")
    (cat / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0" + rng.integers(0, 256, 500, dtype=np.uint8).tobytes())
    (dog / "huge.png").write_bytes(huge_header_png())
    os.symlink("loop.jpg", cat / "loop.jpg")  # a link to itself: ELOOP on every stat
    with open(os.path.join(os.fsencode(dog), NON_UTF8), "wb") as f:
        f.write((cat / "good_0.jpg").read_bytes())
    return {"zero.jpg", "corrupt.jpg", "huge.png", "loop.jpg", os.fsdecode(NON_UTF8)}


def _names(paths) -> set[str]:
    return {os.path.basename(p) for p in paths}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    return root, write_hostile_folder(root)


def test_header_sizes_are_read_without_decoding(hostile, tmp_path):
    root, _ = hostile
    assert image_size_from_header(root / "train/dog/huge.png") == (20_000, 20_000)
    assert image_size_from_header(root / "train/cat/good_0.jpg") == (40, 56)
    assert image_size_from_header(root / "train/cat/cmyk.jpg") == (30, 40)
    assert image_size_from_header(root / "train/dog/animated.gif") == (24, 32)
    for fmt, suffix in (("BMP", "bmp"), ("WEBP", "webp"), ("GIF", "gif"), ("PNG", "png")):
        _save(tmp_path / f"x.{suffix}", np.zeros((13, 17, 3), np.uint8), fmt=fmt)
        assert image_size_from_header(tmp_path / f"x.{suffix}") == (13, 17), fmt
    assert image_size_from_header(root / "train/cat/zero.jpg") is None


def test_scan_lists_loops_and_non_utf8_names_with_a_reason(hostile):
    root, _ = hostile
    index = scan_folder(root)
    assert {"loop.jpg", os.fsdecode(NON_UTF8)} == _names(index.skipped)
    assert any("symbolic link" in r for r in index.skipped.values())
    assert any("UTF-8" in r for r in index.skipped.values())
    for path in index.train.files:
        path.encode("utf-8")  # every listed path can be handed to TensorFlow


@pytest.mark.parametrize("engine", ENGINES)
def test_both_engines_skip_the_same_files_and_train_past_the_rest(hostile, engine):
    root, expected = hostile
    train, evaluation, info = make_datasets(f"folder:{root}", image_size=16, batch_size=4, seed=0, engine=engine)
    assert _names(info.unreadable) == expected
    assert all(info.unreadable_reasons[p] for p in info.unreadable)
    assert "pixel" in info.unreadable_reasons[str(root / "train/dog/huge.png")]
    assert info.train_count == 8 + 4 and info.eval_count == 4  # good + CMYK, 16-bit, GIF, mislabelled
    batches = train if engine == "numpy" else list(train.as_numpy_iterator())
    labels = np.concatenate([np.asarray(batches[i][1]) for i in range(len(batches))])
    assert sorted(np.bincount(labels).tolist()) == [6, 6]
    x = np.asarray(batches[0][0])
    assert x.shape == (4, 16, 16, 3) and np.isfinite(x).all()


def test_both_engines_give_the_same_reasons_list(hostile):
    root, _ = hostile
    found = {engine: make_datasets(f"folder:{root}", image_size=8, batch_size=4, engine=engine)[2]
             for engine in ENGINES}
    assert found["tf"].unreadable == found["numpy"].unreadable
    assert found["tf"].train_count == found["numpy"].train_count


@pytest.mark.parametrize("engine", ENGINES)
def test_pixel_limit_is_configurable(hostile, engine):
    root, _ = hostile
    _, _, info = make_datasets(f"folder:{root}", image_size=8, batch_size=4, engine=engine, max_pixels=1500)
    big = [p for p in info.unreadable if "limit of 1,500" in info.unreadable_reasons[p]]
    assert len(big) == 9 and _names(big) == {f"good_{i}.jpg" for i in range(4)} | {"huge.png"}  # 40×56 in train/
    assert info.train_count == 4 and info.eval_count == 4  # the 24×32 val JPEGs and the small odd files


@pytest.mark.parametrize("engine", ENGINES)
def test_unreadable_directory_is_listed_and_skipped(tmp_path, monkeypatch, engine):
    write_hostile_folder(tmp_path)
    locked = str(tmp_path / "train" / "dog")
    real_scandir = os.scandir

    def scandir(path="."):  # root ignores chmod 000, so refuse the way a locked folder does
        if os.fspath(path) == locked:
            raise PermissionError(13, "Permission denied", locked)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    index = scan_folder(tmp_path)
    assert "Permission denied" in index.skipped[locked]
    _, _, info = make_datasets(f"folder:{tmp_path}", image_size=8, batch_size=4, engine=engine)
    assert locked in info.unreadable and info.num_classes == 2


@pytest.mark.parametrize("engine", ENGINES)
def test_empty_class_is_one_clear_error_on_both_engines(tmp_path, engine):
    write_hostile_folder(tmp_path)
    (tmp_path / "train" / "empty").mkdir()
    with pytest.raises(DataUnavailable, match="class 'empty'.*no image files"):
        make_datasets(f"folder:{tmp_path}", image_size=8, engine=engine)


def test_find_unreadable_engines_agree_file_by_file(hostile):
    root, _ = hostile
    index = scan_folder(root)
    files = index.train.files + index.val.files
    tf_reasons, tf_sizes = find_unreadable(files, engine="tf")
    np_reasons, np_sizes = find_unreadable(files, engine="numpy")
    assert set(tf_reasons) == set(np_reasons)
    np.testing.assert_array_equal(tf_sizes, np_sizes)


def test_data_inspect_lists_every_skipped_file_in_one_line_each(hostile):
    root, expected = hostile
    proc = subprocess.run([sys.executable, "-m", "keras_repro.cli", "data", "inspect", f"folder:{root}"],
                          capture_output=True, text=True, timeout=300, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "unreadable files: 5" in proc.stdout
    for name in expected - {os.fsdecode(NON_UTF8)}:
        assert name in proc.stdout
    assert "caf\\xe9.jpg" in proc.stdout or "caf" in proc.stdout  # printable, whatever the terminal encoding
