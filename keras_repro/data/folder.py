"""Image folders in the ImageNet layout: ``ROOT/train/<class>/*.jpg`` and ``ROOT/val/<class>/*.jpg``.

:func:`scan_folder` reads the directory tree only (no TensorFlow, no decoding): classes are the
sub-folders of ``train``, sorted; ``val`` (or ``validation``) must use the same class names. Files
with an image suffix (JPEG, PNG, BMP, GIF, WebP; any case) are listed, everything else is ignored.
Entries that cannot be used are listed in ``FolderIndex.skipped`` with the reason, never raised:
symbolic-link loops, broken links, names that are not UTF-8 (tf.data takes UTF-8 paths only) and
folders that cannot be read.

:func:`find_unreadable` then checks every file in two passes, so the training pipeline never meets
a bad one mid-epoch: the header (a few bytes) gives the size, and images over ``max_pixels`` are
refused before anything is decoded (a 400 KB PNG can hold 20000×20000 pixels: 1.2 GB decoded);
the rest are decoded once, in parallel, by the engine's decoder (TensorFlow or Pillow), and the
ones that fail (truncated, not an image, empty) are reported with the decoder's reason.
"""
from __future__ import annotations

import errno
import os
import re
import struct
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from keras_repro._env import native_stderr_silenced
from keras_repro.data.sources import DataUnavailable, embedded_alternatives

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")  # what tf.io.decode_image reads
SPLIT_FOLDERS = {"train": ("train",), "val": ("val", "validation")}
MAX_PIXELS = 100_000_000  # images with more pixels are skipped unread (make_datasets(max_pixels=...))


@dataclass(frozen=True)
class FolderSplit:
    """The image files of one split, with integer labels and their total size in bytes."""

    files: tuple[str, ...]
    labels: np.ndarray
    total_bytes: int

    def __len__(self) -> int:
        return len(self.files)

    def without(self, bad: set[str]) -> FolderSplit:
        keep = [i for i, f in enumerate(self.files) if f not in bad]
        return FolderSplit(tuple(self.files[i] for i in keep), self.labels[keep], self.total_bytes)


@dataclass(frozen=True)
class FolderIndex:
    root: Path
    class_names: tuple[str, ...]
    train: FolderSplit
    val: FolderSplit
    skipped: dict[str, str] = field(default_factory=dict)  # path → why it is not listed


def printable(path: str) -> str:
    """``path`` for a terminal: bytes that are not UTF-8 shown as ``\\xe9`` instead of failing to print."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _os_reason(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "symbolic link loop (too many levels of symbolic links)"
    return exc.strerror or str(exc)


def _usable_name(path: str, skipped: dict[str, str]) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        skipped[path] = "name is not valid UTF-8 (rename the file)"
        return False
    return True


def _entries(folder: Path, skipped: dict[str, str]) -> list[os.DirEntry]:
    """The visible entries of ``folder``; an unreadable folder is recorded in ``skipped``, not raised."""
    try:
        with os.scandir(folder) as entries:
            return sorted((e for e in entries if not e.name.startswith(".")), key=lambda e: e.name)
    except OSError as exc:
        skipped[str(folder)] = f"folder cannot be read: {_os_reason(exc)}"
        return []


def _is(entry: os.DirEntry, kind: str, skipped: dict[str, str]) -> bool:
    """``entry.is_dir()`` / ``is_file()``, with loops and broken links recorded instead of raised."""
    try:
        if getattr(entry, f"is_{kind}")():
            return True
        if entry.is_symlink() and not os.path.exists(entry.path):
            skipped[entry.path] = "broken symbolic link"
    except OSError as exc:
        skipped[entry.path] = _os_reason(exc)
    return False


def _split_dir(root: Path, split: str) -> Path:
    for name in SPLIT_FOLDERS[split]:
        if (root / name).is_dir():
            return root / name
    expected = " or ".join(f"{root / n}/" for n in SPLIT_FOLDERS[split])
    raise DataUnavailable(f"image folder {root} has no {split} split: expected {expected} with one "
                          f"sub-folder per class")


def _list_split(split_dir: Path, class_names: tuple[str, ...], skipped: dict[str, str]) -> FolderSplit:
    files, labels, total = [], [], 0
    for label, name in enumerate(class_names):
        class_dir = split_dir / name
        if not class_dir.is_dir():
            continue
        found, before = [], len(skipped)
        for entry in _entries(class_dir, skipped):
            if not entry.name.lower().endswith(IMAGE_SUFFIXES) or not _is(entry, "file", skipped):
                continue
            if not _usable_name(entry.path, skipped):
                continue
            try:
                total += entry.stat().st_size
            except OSError as exc:
                skipped[entry.path] = _os_reason(exc)
                continue
            found.append(entry.path)
        if not found and len(skipped) == before:  # empty; an unusable entry is listed with its reason instead
            raise DataUnavailable(f"class {name!r} in {printable(str(split_dir))} has no image files "
                                  f"({', '.join(IMAGE_SUFFIXES)})")
        files += found
        labels += [label] * len(found)
    return FolderSplit(tuple(files), np.asarray(labels, np.int64), total)


def _class_names(split_dir: Path, skipped: dict[str, str]) -> list[str]:
    names = [e.name for e in _entries(split_dir, skipped) if _is(e, "dir", skipped)]
    if str(split_dir) in skipped:
        raise DataUnavailable(f"{printable(str(split_dir))}: {skipped[str(split_dir)]}")
    return [n for n in names if _usable_name(str(split_dir / n), skipped)]


def scan_folder(root: str | os.PathLike) -> FolderIndex:
    """List classes and image files of an ImageNet-layout folder; raise :class:`DataUnavailable` if unusable.

    Entries that cannot be used (loops, broken links, non-UTF-8 names, unreadable folders) are in
    ``index.skipped`` with their reason.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataUnavailable(f"image folder {printable(str(root))} does not exist; {embedded_alternatives()}")
    skipped: dict[str, str] = {}
    train_dir = _split_dir(root, "train")
    class_names = tuple(_class_names(train_dir, skipped))
    if not class_names:
        raise DataUnavailable(f"{train_dir} has no class sub-folders; expected {train_dir}/<class>/*.jpg")
    val_dir = _split_dir(root, "val")
    unknown = [c for c in _class_names(val_dir, skipped) if c not in class_names]
    if unknown:
        raise DataUnavailable(f"{val_dir} has classes that train/ does not: {', '.join(unknown[:5])}")
    train = _list_split(train_dir, class_names, skipped)
    val = _list_split(val_dir, class_names, skipped)  # a class may be missing from val/, not empty in it
    if len(val) == 0:
        raise DataUnavailable(f"{val_dir} has no images")
    return FolderIndex(root, class_names, train, val, skipped)


# -- sizes from headers -----------------------------------------------------------------------------

_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_size(f) -> tuple[int, int] | None:
    """Walk the JPEG markers to the frame header (SOF); APP segments (EXIF, thumbnails) are skipped by seeking."""
    f.seek(2)
    while True:
        byte = f.read(1)
        while byte == b"\xff":  # fill bytes
            byte = f.read(1)
        if not byte:
            return None
        marker = byte[0]
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            continue
        length_bytes = f.read(2)
        if len(length_bytes) < 2 or marker == 0xDA:  # start of scan before any frame header
            return None
        length = struct.unpack(">H", length_bytes)[0]
        if marker in _JPEG_SOF:
            data = f.read(5)
            return struct.unpack(">HH", data[1:5]) if len(data) == 5 else None
        f.seek(length - 2, os.SEEK_CUR)


def _webp_size(head: bytes) -> tuple[int, int] | None:
    chunk = head[12:16]
    if chunk == b"VP8 " and head[23:26] == b"\x9d\x01\x2a":
        w, h = struct.unpack("<HH", head[26:30])
        return h & 0x3FFF, w & 0x3FFF
    if chunk == b"VP8L" and head[20:21] == b"\x2f":
        bits = int.from_bytes(head[21:25], "little")
        return ((bits >> 14) & 0x3FFF) + 1, (bits & 0x3FFF) + 1
    if chunk == b"VP8X":
        return int.from_bytes(head[27:30], "little") + 1, int.from_bytes(head[24:27], "little") + 1
    return None


def image_size_from_header(path: str | os.PathLike) -> tuple[int, int] | None:
    """(height, width) read from the first bytes of a JPEG, PNG, GIF, BMP or WebP file, nothing decoded.

    ``None`` when the header is not one of these or is cut short (the decoder then gives the reason).
    Raises ``OSError`` when the file cannot be opened.
    """
    with open(path, "rb") as f:
        head = f.read(32)
        if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
            w, h = struct.unpack(">II", head[16:24])
            return h, w
        if head[:2] == b"\xff\xd8":
            return _jpeg_size(f)
        if head[:6] in (b"GIF87a", b"GIF89a") and len(head) >= 10:
            w, h = struct.unpack("<HH", head[6:10])
            return h, w
        if head[:2] == b"BM" and len(head) >= 26:
            if struct.unpack("<I", head[14:18])[0] == 12:  # OS/2 BITMAPCOREHEADER: 16-bit sizes
                w, h = struct.unpack("<HH", head[18:22])
            else:
                w, h = struct.unpack("<ii", head[18:26])
            return abs(h), abs(w)  # a negative height means rows stored top-down
        if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
            return _webp_size(head)
    return None


def _header_check(path: str, max_pixels: int) -> str | None:
    """The reason to skip ``path`` without decoding it, or ``None``."""
    try:
        size = image_size_from_header(path)
    except OSError as exc:
        return _os_reason(exc)
    if size is not None and size[0] * size[1] > max_pixels:
        h, w = size
        return f"{w}×{h} = {h * w:,} pixels, over the limit of {max_pixels:,} (max_pixels); not decoded"
    return None


def _over_limit(files, max_pixels: int) -> dict[str, str]:
    with ThreadPoolExecutor(max_workers=min(16, 4 * (os.cpu_count() or 1))) as pool:  # reads, not compute
        found = pool.map(lambda path: _header_check(path, max_pixels), files)
        return {path: reason for path, reason in zip(files, found) if reason is not None}


@dataclass(frozen=True)
class CheckedFolder:
    """A scanned folder with the files to skip taken out: what both pipeline engines train on."""

    class_names: tuple[str, ...]
    train: FolderSplit
    val: FolderSplit
    skipped: dict[str, str]  # path → reason, from the scan and from the checks


def checked_folder(root: str | os.PathLike, *, seed: int, max_examples: int | None, validate: bool,
                   max_pixels: int = MAX_PIXELS, engine: str = "tf") -> CheckedFolder:
    """Scan ``root``, keep a seeded subset of ``max_examples`` training files, and take out the files that
    :func:`find_unreadable` refuses (headers always; decoding when ``validate``)."""
    from keras_repro.data.arrays import subset_indices

    index = scan_folder(root)
    train, val = index.train, index.val
    keep = subset_indices(len(train), max_examples, seed)
    if keep is not None:
        train = FolderSplit(tuple(train.files[i] for i in keep), train.labels[keep],
                            int(train.total_bytes * len(keep) / len(train)))
    reasons, _ = find_unreadable(train.files + val.files, max_pixels=max_pixels, engine=engine, decode=validate)
    train, val = train.without(set(reasons)), val.without(set(reasons))
    for part, name in ((train, "train"), (val, "val")):
        if len(part) == 0:
            raise DataUnavailable(f"no readable images in {printable(str(index.root))}/{name}/ "
                                  f"({len(reasons) + len(index.skipped)} unreadable)")
    return CheckedFolder(index.class_names, train, val, {**index.skipped, **reasons})


def _probe_fn():
    import tensorflow as tf

    def probe(path, index):
        data = tf.io.read_file(path)

        def jpeg():
            shape = tf.io.extract_jpeg_shape(data)
            # Decoding at 1/8 scale still runs the entropy decoder over the whole file, so it finds
            # truncated and corrupt files at a fraction of the cost of a full decode.
            small = tf.io.decode_jpeg(data, channels=3, ratio=8)
            # The decoded image must feed the output: a control dependency on a stateless op is
            # pruned by the graph optimiser, and the decode (with its error) would never run.
            return tf.concat([shape[:2], tf.shape(small)[:1]], axis=0)

        def other():
            return tf.shape(tf.io.decode_image(data, channels=3, expand_animations=False))

        return index, tf.cond(tf.io.is_jpeg(data), jpeg, other)

    return probe


def _reason(path: str) -> str:
    import tensorflow as tf

    if os.path.getsize(path) == 0:
        return "empty file"
    try:
        tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    except Exception as exc:  # noqa: BLE001  (any decoder error is the reason we report)
        text = re.sub(r"\{\{[^}]*\}\}|\[Op:\w+\].*", "", str(getattr(exc, "message", exc)))
        message = text.strip().splitlines()
        return message[0].strip()[:120] if message else type(exc).__name__
    return "decoding failed in the pipeline's decoder"


def _tf_decode_check(files: list[str], sizes: np.ndarray) -> dict[str, str]:
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((files, np.arange(len(files))))
    ds = ds.map(_probe_fn(), num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
    ds = ds.ignore_errors().batch(1024).prefetch(2)
    found = np.full((len(files), 2), -1, np.int64)
    with native_stderr_silenced():  # libjpeg's C-level "Premature end of JPEG file" lines
        for index, shape in ds.as_numpy_iterator():
            found[index] = shape[:, :2]
        bad = [files[i] for i in np.flatnonzero(found[:, 0] < 0)]
        reasons = {path: _reason(path) for path in bad}
    sizes[:] = found
    return reasons


def _pil_probe(path: str) -> tuple[tuple[int, int] | None, str | None]:
    """((height, width), None) when Pillow decodes ``path``, else (None, reason)."""
    from PIL import Image

    try:
        if os.path.getsize(path) == 0:
            return None, "empty file"
        with Image.open(path) as image:
            width, height = image.size
            # like the tf probe: JPEGs are decoded at 1/8 scale, which still reads every entropy-coded byte
            image.draft("RGB", (max(width // 8, 1), max(height // 8, 1)))
            image.load()
        return (height, width), None
    except Exception as exc:  # noqa: BLE001  (any decoder error is the reason we report)
        message = str(exc).strip().splitlines()
        return None, (message[0][:120] if message else type(exc).__name__)


def _pil_decode_check(files: list[str], sizes: np.ndarray) -> dict[str, str]:
    reasons = {}
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:  # Pillow decodes without the GIL
        for i, (size, reason) in enumerate(pool.map(_pil_probe, files)):
            if reason is None:
                sizes[i] = size
            else:
                reasons[files[i]] = reason
    return reasons


ENGINES = ("tf", "numpy")


def find_unreadable(files: tuple[str, ...] | list[str], *, max_pixels: int = MAX_PIXELS, engine: str = "tf",
                    decode: bool = True) -> tuple[dict[str, str], np.ndarray]:
    """Check every file (in parallel); return ``{path: reason}`` of the files to skip and the
    (height, width) of every file (``-1`` where skipped, or where nothing was decoded).

    Images over ``max_pixels`` are found from their headers and never decoded. With ``decode`` the
    others are decoded once by ``engine``'s decoder: ``"tf"`` (TensorFlow, what tf.data pipelines
    use) or ``"numpy"`` (Pillow, what the NumPy pipelines use).
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be 'tf' or 'numpy'. Received: engine={engine!r}")
    if not (isinstance(max_pixels, int) and max_pixels > 0):
        raise ValueError(f"max_pixels must be a positive int. Received: max_pixels={max_pixels!r}")
    files = list(files)
    sizes = np.full((len(files), 2), -1, np.int64)
    reasons = _over_limit(files, max_pixels)
    rest = [i for i, path in enumerate(files) if path not in reasons]
    if decode and rest:
        rest_sizes = np.full((len(rest), 2), -1, np.int64)
        check = _tf_decode_check if engine == "tf" else _pil_decode_check
        reasons.update(check([files[i] for i in rest], rest_sizes))
        sizes[rest] = rest_sizes
    return reasons, sizes
