"""Run folders, durable atomic writes, and reading results back (``repro show`` / ``compare`` / ``report``).

Layout: ``<out>/<name>/<run_id>/`` holds ``run.json`` (status, provenance, config, table index),
``claims.csv``/``claims.md`` and the reproduction's other tables (CSV + Markdown), figures (PNG) and
models (``.keras``).

Writing: every file is written to a hidden temporary name in the same folder
(``.NAME-<pid>-<random>.partial.EXT``, created with the user's umask), flushed to disk (fsync),
renamed into place, and the folder's entry flushed too: a reader never sees half a file, and a
rename never publishes data the disk does not hold yet (what SQLite and git do). A temporary file is
removed on every exit path that runs Python code; one left by a killed process is removed by the
next run into that results folder, of any reproduction (:func:`sweep_results`).

Reading: every run is checked against its schema (``schemas``) and its liveness (``run_record``):
a damaged run is one clear error, and a ``running`` run whose process is gone reads as
``interrupted``; neither is ever read as results.
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import math
import os
import re
import secrets
import shutil
import socket
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import pandas as pd

from keras_repro.suite import schemas
from keras_repro.suite.claims import first_sentence
from keras_repro.suite.text import natural_key

RUN_FILE = "run.json"
CLAIMS_TABLE = "claims"
RUNNING, COMPLETED, FAILED, INTERRUPTED = "running", "completed", "failed", "interrupted"
RUN_JSON_RESERVE = 32 * 1024  # bytes the running run.json keeps for its failure record (run_record)
_TEMP = re.compile(r"^\.(?P<stem>.+)-(?P<pid>\d+)-[0-9a-f]{8}\.partial(?:\.[^.]*)?$")


class ResultsError(RuntimeError):
    """A results folder or run spec cannot be used; the message says which and why."""


# -- writing --------------------------------------------------------------------------------------

def temp_path(path: Path) -> Path:
    """The hidden temporary name for ``path``: ``.STEM-<pid>-<random>.partial<suffix>`` (suffix kept for writers
    that choose the format by it, such as ``model.save``)."""
    return path.parent / f".{path.stem}-{os.getpid()}-{secrets.token_hex(4)}.partial{path.suffix}"


def publish_new_folder(parent: Path, base: str, fill) -> tuple[Path, Any]:
    """Create a new folder ``parent/base`` (or ``base-N`` when taken) filled by ``fill(staging, name)``.

    ``fill`` writes into a hidden staging folder, which is then renamed into place, so the folder never
    appears half-written. A rename onto a folder another process just published fails, and the next name is
    tried. Returns the folder and what ``fill`` returned.
    """
    for attempt in range(1000):
        name = base if attempt == 0 else f"{base}-{attempt + 1}"
        folder = parent / name
        if folder.exists():
            continue
        staging = temp_path(folder)
        staging.mkdir()
        try:
            filled = fill(staging, name)
            os.rename(staging, folder)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):  # another run took this name meanwhile
                continue
            raise
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return folder, filled
    raise ResultsError(f"cannot create a new run folder under {parent}")


def _create_temp(path: Path) -> None:
    # mode 0o666 before the umask, as open() would: mkstemp's 0600 ignores the user's umask
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666))


def _fsync_path(path: Path, directory: bool = False) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0))
    except OSError:
        if directory:  # some systems cannot open a folder: nothing more to flush
            return
        raise
    try:
        os.fsync(fd)
    except OSError as exc:
        if not (directory and exc.errno in (errno.EINVAL, errno.EBADF)):  # folders of some file systems
            raise
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; when the block succeeds, flush it and rename it onto ``path``."""
    path = Path(path)
    tmp = temp_path(path)
    try:  # created inside the try, so an interrupt at any point after it still removes it
        _create_temp(tmp)
        yield tmp
        _fsync_path(tmp)
        os.replace(tmp, path)
        _fsync_path(path.parent, directory=True)
    finally:
        with contextlib.suppress(FileNotFoundError):  # gone once renamed
            os.unlink(tmp)


def atomic_write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def json_text(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=False, default=_json_default)


def write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json_text(data) + "\n")


def rewrite_in_place(path: Path, text: str) -> None:
    """Overwrite ``path`` with ``text`` padded with blanks to its current size: no new block is needed, so
    this works on a full disk (not atomic: the last resort for a failure record)."""
    data = text.encode("utf-8")
    fd = os.open(path, os.O_WRONLY)
    try:
        size = os.fstat(fd).st_size
        if len(data) + 1 > size:
            raise OSError(errno.ENOSPC, f"{len(data)} bytes do not fit in the {size} that {path.name} holds")
        os.pwrite(fd, data + b" " * (size - len(data) - 1) + b"\n", 0)
        os.fsync(fd)
    finally:
        os.close(fd)


def _json_default(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    return str(value)


def to_markdown(df: pd.DataFrame, floatfmt: str = ".6g") -> str:
    """A GitHub-flavoured Markdown table (no extra dependency)."""
    def cell(value: Any) -> str:
        if isinstance(value, float):
            text = format(value, floatfmt)
        else:
            text = str(value)
        return text.replace("|", "\\|").replace("\n", " ")

    header = "| " + " | ".join(str(c) for c in df.columns) + " |"
    rule = "| " + " | ".join("---" for _ in df.columns) + " |"
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([header, rule, *rows]) + "\n"


def write_table(folder: Path, name: str, df: pd.DataFrame, caption: str = "") -> dict[str, Any]:
    """Write ``name.csv`` and ``name.md`` atomically; the Markdown names its provenance file.

    Returns what run.json's table index records about the CSV, for the reader to check it against:
    the kind of every column and the SHA-256 of the file (a cut or altered table cannot pass).
    """
    with atomic_path(folder / f"{name}.csv") as tmp:
        df.to_csv(tmp, index=False)
        digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
    md = f"# {name}\n\n" + (f"{caption}\n\n" if caption else "") + to_markdown(df)
    md += f"\nProvenance (commit, versions, backend, device, seed, profile, config): `{RUN_FILE}` in this folder.\n"
    atomic_write_text(folder / f"{name}.md", md)
    return {"columns": schemas.column_kinds(df), "sha256": digest}


def _reserve(fd: int, size: int) -> None:
    """Make ``fd``'s file own ``size`` bytes on disk (raises ``OSError`` ENOSPC when they are not there)."""
    if hasattr(os, "posix_fallocate"):
        try:
            os.posix_fallocate(fd, 0, size)
            return
        except OSError as exc:
            if exc.errno not in (errno.EINVAL, errno.EOPNOTSUPP):  # not supported here: write the bytes
                raise
    os.pwrite(fd, b" " * size, 0)
    os.fsync(fd)


def check_writable(folder: Path) -> None:
    """Create ``folder`` if needed and prove there is room for a run.json there, or raise ResultsError.

    The probe is a temporary file of the size a running run.json needs (it and its next version); a
    refusal removes the probe and every folder this call created, so it leaves nothing behind.
    """
    folder = Path(folder)
    created = []
    probe = temp_path(folder / ".write-test")
    try:
        missing = [p for p in (folder, *folder.parents) if not p.exists()]
        for path in reversed(missing):
            path.mkdir()
            created.append(path)
        _create_temp(probe)
        fd = os.open(probe, os.O_WRONLY)
        try:
            _reserve(fd, 2 * RUN_JSON_RESERVE)
        finally:
            os.close(fd)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(probe)
        for path in reversed(created):
            with contextlib.suppress(OSError):
                path.rmdir()
        room = f" (a run needs at least {2 * RUN_JSON_RESERVE // 1024} KiB)" if exc.errno == errno.ENOSPC else ""
        raise ResultsError(f"cannot write results to {folder}: {exc.strerror or exc}{room}") from None
    with contextlib.suppress(FileNotFoundError):
        os.unlink(probe)


def _pid_gone(name: str) -> bool:
    from keras_repro.suite.run_record import process_gone

    match = _TEMP.match(name)
    return bool(match) and process_gone(int(match["pid"]))


def sweep_stale(folder: Path, *, run_folders: bool = True) -> list[Path]:
    """Remove what killed processes left in ``folder``: temporary files and staging folders of processes that
    are gone, and (``run_folders``: ``folder`` holds one reproduction's runs) temporary files in run
    folders whose run is over (completed, failed or interrupted). Returns what was removed.

    A process is judged gone by its pid on this machine; a live run's files are never touched.
    """
    from keras_repro.suite.run_record import live_status

    removed = []
    folder = Path(folder)
    if not folder.is_dir():
        return removed
    for entry in folder.iterdir():
        if entry.name.startswith("."):
            if _TEMP.match(entry.name) and _pid_gone(entry.name):
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    with contextlib.suppress(FileNotFoundError):
                        entry.unlink()
                removed.append(entry)
            continue
        temps = [p for p in entry.iterdir() if _TEMP.match(p.name)] if run_folders and entry.is_dir() else []
        if not temps:
            continue
        try:
            info = json.loads((entry / RUN_FILE).read_text(encoding="utf-8"))
            over = live_status(info)[0] != RUNNING
            here = info.get("host") in (None, socket.gethostname())
        except (OSError, ValueError, AttributeError):
            over, here = False, True  # no readable run.json: only the pid can tell
        for temp in temps:  # a pid means something only on the machine that runs the run
            if over or (here and _pid_gone(temp.name)):
                with contextlib.suppress(FileNotFoundError):
                    temp.unlink()
                removed.append(temp)
    return removed


def sweep_results(out: Path, names: Sequence[str]) -> list[Path]:
    """:func:`sweep_stale` on the results folder ``out`` and on the folder of each reproduction in ``names``
    (a run sweeps what killed runs of every reproduction left, not only of its own; folders no reproduction
    owns are not searched)."""
    out = Path(out)
    removed = sweep_stale(out, run_folders=False)
    for name in names:
        removed += sweep_stale(out / name)
    return removed


# -- reading --------------------------------------------------------------------------------------

@dataclass
class Run:
    """A run folder read back from disk (its run.json already checked against the schema)."""

    path: Path
    info: dict[str, Any]

    @property
    def name(self) -> str:
        return self.info.get("reproduction", self.path.parent.name)

    @property
    def run_id(self) -> str:
        return self.info.get("run_id", self.path.name)

    @property
    def status(self) -> str:
        """``running``, ``completed``, ``failed``, or ``interrupted`` (running, but its process is gone)."""
        from keras_repro.suite.run_record import live_status

        return live_status(self.info)[0]

    @property
    def why_interrupted(self) -> str:
        from keras_repro.suite.run_record import live_status

        return live_status(self.info)[1]

    def describe_status(self) -> str:
        """The status in words: ``interrupted (its process ... ended ...)``, ``failed: error``, ..."""
        status = self.status
        if status == INTERRUPTED:
            return f"interrupted ({self.why_interrupted})"
        if status == FAILED:
            return f"failed: {str(self.info.get('error', ''))[:100]}"
        if status == RUNNING:
            return f"running (process {self.info.get('pid')} on {self.info.get('host')})"
        return status

    def require_results(self) -> None:
        """Raise ResultsError unless this run completed (only completed runs are results)."""
        if self.status != COMPLETED:
            raise ResultsError(f"{self.path} is {self.describe_status()}: not results; compare completed runs")

    def table_names(self) -> list[str]:
        return [t["name"] for t in self.info.get("tables", [])] or sorted(p.stem for p in self.path.glob("*.csv"))

    def table_keys(self, table: str) -> list[str]:
        for t in self.info.get("tables", []):
            if t["name"] == table:
                return list(t.get("keys", []))
        return ["claim_id"] if table == CLAIMS_TABLE else []

    def _entry(self, name: str) -> dict[str, Any] | None:
        return next((t for t in self.info.get("tables", []) if t.get("name") == name), None)

    def table(self, name: str) -> pd.DataFrame:
        """The table ``name``, checked against its schema (claims.csv: columns, verdicts, run.json's claims)."""
        path = self.path / f"{name}.csv"
        entry = self._entry(name)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ResultsError(f"{path} is missing: the run folder is incomplete") from None
        if not data.endswith(b"\n"):  # every table is written with a final newline: this one was cut
            raise ResultsError(f"{path} is cut short (no final newline): damaged; remove the run folder or re-run")
        if entry is not None and "sha256" in entry and hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise ResultsError(f"{path} differs from the table run.json recorded (SHA-256): cut or altered: "
                               f"damaged; remove the run folder or re-run")
        try:
            cells = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
            frame = cells if name == CLAIMS_TABLE else pd.read_csv(io.BytesIO(data))
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
            raise ResultsError(f"{path} is not a readable CSV table ({exc.__class__.__name__}): "
                               f"damaged; remove the run folder or re-run") from None
        try:
            if name == CLAIMS_TABLE and self.info.get("status") == COMPLETED:
                schemas.check_claims(cells, self.info, str(path))
            elif entry is not None:
                schemas.check_table(cells, entry, str(path))
        except schemas.SchemaError as exc:
            raise ResultsError(f"{exc}: damaged; remove the run folder or re-run") from None
        return frame


def check_tables(run: Run) -> None:
    """Read every table of ``run`` against its schema (raises ResultsError at the first damaged one)."""
    for name in run.table_names():
        run.table(name)


def load_run(path: Path) -> Run:
    """Read and check a run folder's run.json; a completed run must also hold every file it lists."""
    path = Path(path)
    run_file = path / RUN_FILE
    if not path.is_dir():
        raise ResultsError(f"{path} is not a run folder")
    try:
        info = json.loads(run_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultsError(f"{path} has no {RUN_FILE}: not a run folder, or a corrupted one") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ResultsError(f"{run_file} is corrupted (not valid JSON); remove the folder or re-run") from None
    except OSError as exc:
        raise ResultsError(f"{run_file} cannot be read: {exc.strerror or exc}") from None
    try:
        schemas.check_run_info(info, str(run_file))
    except schemas.SchemaError as exc:
        raise ResultsError(f"{exc}: corrupted; remove the folder or re-run") from None
    if info["status"] == COMPLETED:
        listed = [f"{t['name']}{ext}" for t in info["tables"] for ext in (".csv", ".md")] + info["artifacts"]
        missing = [name for name in listed if not (path / name).is_file()]
        if missing:
            raise ResultsError(f"{path} says completed but lacks {', '.join(missing[:3])}"
                               f"{' …' if len(missing) > 3 else ''}: damaged; remove the folder or re-run")
    return Run(path, info)


def _scan(results_dir: Path, name: str) -> tuple[list[Run], list[tuple[Path, str]]]:
    runs, damaged = [], []
    folder = Path(results_dir) / name
    if not folder.is_dir():
        return [], []
    for child in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            runs.append(load_run(child))
        except ResultsError as exc:
            damaged.append((child, str(exc)))
    runs.sort(key=lambda r: (r.info.get("started", ""), r.run_id))
    return runs, damaged


def list_runs(results_dir: Path, name: str) -> tuple[list[Run], list[str]]:
    """Readable runs of ``name`` (oldest first) and one line per damaged folder."""
    runs, damaged = _scan(results_dir, name)
    return runs, [message for _, message in damaged]


def latest_run(results_dir: Path, name: str, status: str | None = COMPLETED) -> Run | None:
    runs, _ = list_runs(results_dir, name)
    runs = [r for r in runs if status is None or r.status == status]
    return runs[-1] if runs else None


def resolve_run(spec: str, results_dir: Path) -> Run:
    """A run folder path, ``NAME@latest`` or ``NAME@<run_id>`` → :class:`Run`.

    ``NAME@latest`` is the latest completed run; when a newer run folder is damaged, that is an error
    rather than a silent step back to older results.
    """
    if "@" in spec and not Path(spec).exists():
        name, _, which = spec.partition("@")
        if which == "latest":
            runs, damaged = _scan(results_dir, name)
            done = [r for r in runs if r.status == COMPLETED]
            if done:
                newer = [message for path, message in damaged if path.name > done[-1].path.name]
                if newer:
                    raise ResultsError(f"{spec}: a newer run folder is damaged ({newer[-1]})")
                return done[-1]
            raise ResultsError(f"no completed run of {name!r} under {results_dir}"
                               + (f" ({damaged[-1][1]})" if damaged else ""))
        return load_run(Path(results_dir) / name / which)
    return load_run(Path(spec))


DEFAULT_TOLERANCE = 1e-6


def numbers_close(a: float, b: float, tolerance: float = DEFAULT_TOLERANCE) -> bool:
    """Whether two numbers count as the same: ``|b - a| <= tolerance * (1 + max(|a|, |b|))``.

    The tolerance is absolute near zero and relative for large values (``numpy.isclose`` with
    ``rtol = atol = tolerance``); NaN equals NaN, infinities equal themselves.
    """
    if a == b or (math.isnan(a) and math.isnan(b)):
        return True
    if math.isnan(a) or math.isnan(b) or math.isinf(a) or math.isinf(b):
        return False
    return abs(b - a) <= tolerance * (1 + max(abs(a), abs(b)))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def parse_measured(text: Any) -> dict[str, str]:
    """A claims.csv ``measured`` cell (``key=value; key=value``) as a dict of texts."""
    items = {}
    for item in str(text or "").split("; "):
        key, sep, value = item.partition("=")
        if sep:
            items[key.strip()] = value.strip()
    return items


def cells_equal(a: Any, b: Any, tolerance: float = DEFAULT_TOLERANCE) -> bool:
    """Whether two table cells count as the same: numbers within ``tolerance`` (see :func:`numbers_close`),
    ``key=value; ...`` texts key by key, other texts exactly; two empty cells are equal."""
    if _missing(a) or _missing(b) or a == "" or b == "":
        return (_missing(a) or a == "") and (_missing(b) or b == "")
    x, y = _number(a), _number(b)
    if x is not None and y is not None:
        return numbers_close(x, y, tolerance)
    if str(a) == str(b):
        return True
    ma, mb = parse_measured(a), parse_measured(b)
    if ma and mb and set(ma) == set(mb) and len(ma) == str(a).count("=") == str(b).count("="):
        return all(cells_equal(ma[k], mb[k], tolerance) for k in ma)
    return False


@dataclass
class TableComparison:
    """One table of two runs side by side: the keys, then ``COL_a``, ``COL_b`` (and ``COL_diff`` = B - A for
    numbers) for every column both runs have."""

    name: str
    frame: pd.DataFrame
    note: str = ""
    keys: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()  # the compared columns (without suffix)

    def differing(self, tolerance: float = DEFAULT_TOLERANCE) -> tuple[pd.DataFrame, int]:
        """The rows where some column differs beyond ``tolerance``, with the keys and only the columns that
        differ in them; and the number of those rows."""
        if self.frame.empty:
            return self.frame, 0
        changed = {col: [not cells_equal(x, y, tolerance)
                         for x, y in zip(self.frame[f"{col}_a"], self.frame[f"{col}_b"])] for col in self.columns}
        rows = [any(flags[i] for flags in changed.values()) for i in range(len(self.frame))]
        cols = [c for c in self.columns if any(f and r for f, r in zip(changed[c], rows))]
        shown = list(self.keys)
        for col in cols:
            shown += [name for name in (f"{col}_a", f"{col}_b", f"{col}_diff") if name in self.frame.columns]
        return self.frame.loc[rows, shown].reset_index(drop=True), sum(rows)

    def identical(self, tolerance: float = DEFAULT_TOLERANCE) -> bool:
        return not self.note and self.differing(tolerance)[1] == 0


@dataclass
class Comparison:
    a: Run
    b: Run
    tables: list[TableComparison]
    verdict_changes: pd.DataFrame
    measured: pd.DataFrame = None  # claim_id, measured_a, measured_b

    @property
    def regressions(self) -> pd.DataFrame:
        """Claims that went from reproduced in A to not reproduced in B."""
        ch = self.verdict_changes
        return ch[(ch["verdict_a"] == "reproduced") & (ch["verdict_b"] == "not reproduced")]

    def measured_changes(self, tolerance: float = DEFAULT_TOLERANCE) -> list[tuple[str, list[tuple[str, str, str]]]]:
        """Per claim, the measured values that moved beyond ``tolerance``: ``(claim_id, [(key, a, b), ...])``
        (a value recorded by one run only shows as ``absent`` on the other side)."""
        out = []
        for row in self.measured.itertuples(index=False):
            ma, mb = parse_measured(row.measured_a), parse_measured(row.measured_b)
            moved = [(k, ma.get(k, "absent"), mb.get(k, "absent")) for k in [*ma, *(k for k in mb if k not in ma)]
                     if k not in ma or k not in mb or not cells_equal(ma[k], mb[k], tolerance)]
            if moved:
                out.append((row.claim_id, moved))
        return out


def _side_by_side(a: pd.DataFrame, b: pd.DataFrame, keys: Sequence[str]) -> tuple[pd.DataFrame, str, list, list]:
    keys = [k for k in keys if k in a.columns and k in b.columns]
    note = ""
    if keys:
        a_idx, b_idx = a.drop_duplicates(keys), b.drop_duplicates(keys)
        merged = a_idx.merge(b_idx, on=keys, how="outer", suffixes=("_a", "_b"), indicator=True)
        only = merged["_merge"].value_counts()
        if only.get("left_only", 0) or only.get("right_only", 0):
            note = f"{only.get('left_only', 0)} row(s) only in A, {only.get('right_only', 0)} only in B"
        merged = merged.drop(columns="_merge")
    else:
        n = min(len(a), len(b))
        if len(a) != len(b):
            note = f"no key columns; compared the first {n} rows by position (A has {len(a)}, B has {len(b)})"
        merged = a.iloc[:n].reset_index(drop=True).join(b.iloc[:n].reset_index(drop=True), lsuffix="_a", rsuffix="_b")
        position = "row" if "row" not in a.columns else "#row"  # so a row can be identified
        merged.insert(0, position, range(1, n + 1))
        keys = [position]
    columns = list(keys)
    compared = []
    for col in a.columns:
        if col in keys or col not in b.columns:
            continue
        ca, cb = f"{col}_a", f"{col}_b"
        columns += [ca, cb]
        compared.append(col)
        if pd.api.types.is_numeric_dtype(merged[ca]) and pd.api.types.is_numeric_dtype(merged[cb]) \
                and not pd.api.types.is_bool_dtype(merged[ca]):
            merged[f"{col}_diff"] = merged[cb] - merged[ca]
            columns.append(f"{col}_diff")
    return merged[columns], note, keys, compared


def compare_runs(a: Run, b: Run) -> Comparison:
    """Side-by-side tables, verdict changes (with their reasons) and measured values of two completed runs
    (each table checked first)."""
    a.require_results()
    b.require_results()
    if a.name != b.name:
        raise ResultsError(f"runs are of different reproductions ({a.name} vs {b.name})")
    tables = []
    for name in a.table_names():
        if name not in b.table_names():
            tables.append(TableComparison(name, pd.DataFrame(), "only in A"))
            continue
        frame, note, keys, compared = _side_by_side(a.table(name), b.table(name), a.table_keys(name))
        tables.append(TableComparison(name, frame, note, tuple(keys), tuple(compared)))
    for name in b.table_names():
        if name not in a.table_names():
            tables.append(TableComparison(name, pd.DataFrame(), "only in B"))
    ca, cb = a.table(CLAIMS_TABLE), b.table(CLAIMS_TABLE)
    for frame in (ca, cb):
        if "reason" not in frame.columns:  # runs recorded before reasons existed
            frame["reason"] = ""
    merged = ca[["claim_id", "verdict", "reason", "measured"]].merge(
        cb[["claim_id", "verdict", "reason", "measured"]], on="claim_id", how="outer", suffixes=("_a", "_b"))
    changed = merged["verdict_a"].astype(object).fillna("") != merged["verdict_b"].astype(object).fillna("")
    changes = merged.loc[changed, ["claim_id", "verdict_a", "verdict_b", "reason_a", "reason_b"]]
    measured = merged[["claim_id", "measured_a", "measured_b"]].astype(object).fillna("")
    return Comparison(a, b, tables, changes.reset_index(drop=True), measured)


def unfinished_after_latest(runs: Sequence[Run]) -> list[Run]:
    """The runs newer than the latest completed one that did not complete (running, failed, interrupted)."""
    latest = max((i for i, r in enumerate(runs) if r.status == COMPLETED), default=-1)
    return [r for r in runs[latest + 1:] if r.status != COMPLETED]


def unfinished(results_dir: Path, names: Sequence[str]) -> list[str]:
    """One line per run that is newer than its reproduction's latest completed run and did not complete."""
    lines = []
    for name in names:
        runs, _ = list_runs(results_dir, name)
        lines += [f"{name}/{r.run_id}: {r.describe_status()}" for r in unfinished_after_latest(runs)]
    return lines


def _date(stamp: Any) -> str:
    """``2026-11-27T10:24:55+00:00`` → ``2026-11-27 10:24 UTC`` (as recorded when it is not a timestamp)."""
    import datetime as _dt

    try:
        when = _dt.datetime.fromisoformat(str(stamp))
    except ValueError:
        return str(stamp or "")
    if when.utcoffset() is not None:
        return when.astimezone(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return when.strftime("%Y-%m-%d %H:%M")


def summary(results_dir: Path, names: Sequence[str], profile: str | None = None) -> tuple[pd.DataFrame, list[str]]:
    """One row per claim (in natural claim-ID order: C1.3 < C1.10) from the latest completed run of each
    reproduction (optionally of one profile), and one line per damaged run folder or table met."""
    rows, problems = [], []
    for name in names:
        runs, bad = list_runs(results_dir, name)
        problems += bad
        done = [r for r in runs if r.status == COMPLETED and (profile is None or r.info.get("profile") == profile)]
        if not done:
            continue
        run = done[-1]
        try:
            check_tables(run)
            claims = run.table(CLAIMS_TABLE).astype(object).fillna("")
        except ResultsError as exc:
            problems.append(str(exc))
            continue
        for row in claims.itertuples(index=False):
            rows.append({"claim_id": row.claim_id, "reproduction": name, "verdict": row.verdict,
                         "reason": getattr(row, "reason", ""), "why": first_sentence(row.note),
                         "measured": row.measured, "rule": row.rule,
                         "rule_outcome": getattr(row, "rule_outcome", ""), "run": f"{name}/{run.run_id}",
                         "date": _date(run.info.get("started")), "profile": run.info.get("profile"),
                         "backend": run.info.get("backend"), "seconds": run.info.get("seconds"),
                         "commit": (run.info.get("git_commit") or "")[:10]})
    rows.sort(key=lambda r: natural_key(r["claim_id"]))
    return pd.DataFrame(rows), problems
