"""Run folders, atomic writes, and reading results back (``repro show`` / ``repro compare``).

Layout: ``<out>/<name>/<run_id>/`` holds ``run.json`` (status, provenance, config, table index),
``claims.csv``/``claims.md`` and the reproduction's other tables (CSV + Markdown), figures (PNG) and
models (``.keras``). Every file is written to a temporary name in the same folder and renamed into
place, so a reader never sees half a file and an interrupted run leaves only whole files behind.
"""
from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import pandas as pd

RUN_FILE = "run.json"
CLAIMS_TABLE = "claims"
RUNNING, COMPLETED, FAILED = "running", "completed", "failed"


class ResultsError(RuntimeError):
    """A results folder or run spec cannot be used; the message says which and why."""


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success rename it onto ``path``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix or ".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False, default=_json_default) + "\n")


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


def write_table(folder: Path, name: str, df: pd.DataFrame, caption: str = "") -> None:
    """Write ``name.csv`` and ``name.md`` atomically; the Markdown names its provenance file."""
    with atomic_path(folder / f"{name}.csv") as tmp:
        df.to_csv(tmp, index=False)
    md = f"# {name}\n\n" + (f"{caption}\n\n" if caption else "") + to_markdown(df)
    md += f"\nProvenance (commit, versions, backend, device, seed, profile, config): `{RUN_FILE}` in this folder.\n"
    atomic_write_text(folder / f"{name}.md", md)


def check_writable(folder: Path) -> None:
    """Create ``folder`` if needed and prove that files can be written there, or raise ResultsError."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise ResultsError(f"cannot write results to {folder}: {exc.strerror or exc}") from None


@dataclass
class Run:
    """A run folder read back from disk."""

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
        return self.info.get("status", "unknown")

    def table_names(self) -> list[str]:
        return [t["name"] for t in self.info.get("tables", [])] or sorted(p.stem for p in self.path.glob("*.csv"))

    def table_keys(self, table: str) -> list[str]:
        for t in self.info.get("tables", []):
            if t["name"] == table:
                return list(t.get("keys", []))
        return ["claim_id"] if table == CLAIMS_TABLE else []

    def table(self, name: str) -> pd.DataFrame:
        path = self.path / f"{name}.csv"
        try:
            return pd.read_csv(path)
        except FileNotFoundError:
            raise ResultsError(f"{path} is missing: the run folder is incomplete") from None
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise ResultsError(f"{path} is not a readable CSV table ({exc.__class__.__name__})") from None


def load_run(path: Path) -> Run:
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
    if not isinstance(info, dict) or "status" not in info:
        raise ResultsError(f"{run_file} is corrupted (no status field); remove the folder or re-run")
    return Run(path, info)


def list_runs(results_dir: Path, name: str) -> tuple[list[Run], list[str]]:
    """Readable runs of ``name`` (oldest first) and one line per unreadable folder."""
    runs, problems = [], []
    folder = Path(results_dir) / name
    if not folder.is_dir():
        return [], []
    for child in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            runs.append(load_run(child))
        except ResultsError as exc:
            problems.append(str(exc))
    runs.sort(key=lambda r: (r.info.get("started", ""), r.run_id))
    return runs, problems


def latest_run(results_dir: Path, name: str, status: str | None = COMPLETED) -> Run | None:
    runs, _ = list_runs(results_dir, name)
    runs = [r for r in runs if status is None or r.status == status]
    return runs[-1] if runs else None


def resolve_run(spec: str, results_dir: Path) -> Run:
    """A run folder path, ``NAME@latest`` or ``NAME@<run_id>`` → :class:`Run`."""
    if "@" in spec and not Path(spec).exists():
        name, _, which = spec.partition("@")
        if which == "latest":
            run = latest_run(results_dir, name)
            if run is None:
                raise ResultsError(f"no completed run of {name!r} under {results_dir}")
            return run
        return load_run(Path(results_dir) / name / which)
    return load_run(Path(spec))


@dataclass
class TableComparison:
    name: str
    frame: pd.DataFrame
    note: str = ""


@dataclass
class Comparison:
    a: Run
    b: Run
    tables: list[TableComparison]
    verdict_changes: pd.DataFrame

    @property
    def regressions(self) -> pd.DataFrame:
        """Claims that went from reproduced in A to not reproduced in B."""
        ch = self.verdict_changes
        return ch[(ch["verdict_a"] == "reproduced") & (ch["verdict_b"] == "not reproduced")]


def _side_by_side(a: pd.DataFrame, b: pd.DataFrame, keys: Sequence[str]) -> tuple[pd.DataFrame, str]:
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
    columns = list(keys)
    for col in a.columns:
        if col in keys or col not in b.columns:
            continue
        ca, cb = f"{col}_a", f"{col}_b"
        columns += [ca, cb]
        if pd.api.types.is_numeric_dtype(merged[ca]) and pd.api.types.is_numeric_dtype(merged[cb]) \
                and not pd.api.types.is_bool_dtype(merged[ca]):
            merged[f"{col}_diff"] = merged[cb] - merged[ca]
            columns.append(f"{col}_diff")
    return merged[columns], note


def compare_runs(a: Run, b: Run) -> Comparison:
    if a.name != b.name:
        raise ResultsError(f"runs are of different reproductions ({a.name} vs {b.name})")
    tables = []
    for name in a.table_names():
        if name not in b.table_names():
            tables.append(TableComparison(name, pd.DataFrame(), "only in A"))
            continue
        frame, note = _side_by_side(a.table(name), b.table(name), a.table_keys(name))
        tables.append(TableComparison(name, frame, note))
    for name in b.table_names():
        if name not in a.table_names():
            tables.append(TableComparison(name, pd.DataFrame(), "only in B"))
    ca, cb = a.table(CLAIMS_TABLE), b.table(CLAIMS_TABLE)
    merged = ca[["claim_id", "verdict"]].merge(cb[["claim_id", "verdict"]], on="claim_id", how="outer",
                                               suffixes=("_a", "_b"))
    changes = merged[merged["verdict_a"].astype(object).fillna("") != merged["verdict_b"].astype(object).fillna("")].reset_index(drop=True)
    return Comparison(a, b, tables, changes)


def summary(results_dir: Path, names: Sequence[str], profile: str | None = None) -> tuple[pd.DataFrame, list[str]]:
    """One row per claim from the latest completed run of each reproduction (optionally of one profile)."""
    rows, problems = [], []
    for name in names:
        runs, bad = list_runs(results_dir, name)
        problems += bad
        done = [r for r in runs if r.status == COMPLETED and (profile is None or r.info.get("profile") == profile)]
        if not done:
            continue
        run = done[-1]
        try:
            claims = run.table(CLAIMS_TABLE).astype(object).fillna("")
        except ResultsError as exc:
            problems.append(str(exc))
            continue
        for row in claims.itertuples(index=False):
            rows.append({"claim_id": row.claim_id, "reproduction": name, "verdict": row.verdict,
                         "measured": row.measured, "rule": row.rule, "run": f"{name}/{run.run_id}",
                         "profile": run.info.get("profile"), "backend": run.info.get("backend"),
                         "seconds": run.info.get("seconds"), "commit": (run.info.get("git_commit") or "")[:10]})
    return pd.DataFrame(rows), problems
