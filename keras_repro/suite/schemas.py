"""What ``run.json`` and a run's tables must hold; the results reader checks every run against it.

The same rules, in words, are in ``results/README.md``. A run that breaks them is reported in one
line naming the file, the field or row, and what is wrong (:class:`SchemaError`): it is damaged,
never read as results, so a cut or foreign ``claims.csv`` cannot make ``repro compare`` pass.

``run.json`` (every status): ``reproduction``, ``run_id``, ``profile``, ``started`` (strings),
``status`` (``running``, ``completed`` or ``failed``), ``seed`` (an integer >= 0), ``claims`` (a
list of claim IDs). A ``running`` run may carry ``pid`` (an integer), ``host`` and ``heartbeat``;
a ``failed`` one has ``error``; a ``completed`` one has ``finished``, ``seconds`` (a number >= 0),
``tables`` (one ``{name, keys, rows[, columns]}`` per table, the claims table first),
``artifacts`` (file names) and ``verdicts`` (claim ID → verdict), and every file it lists exists.

``claims.csv``: the columns ``claim_id, verdict, measured, rule, rule_outcome, note``; one row per
claim of ``run.json``'s ``claims``; ``verdict`` one of the vocabulary and equal to ``run.json``'s
``verdicts``; ``rule_outcome`` one of ``reproduced``, ``not reproduced``, ``not evaluated``;
``measured`` empty or ``key=value`` items joined by ``; ``; ``reason`` (where present) one of
``claim holds``, ``claim contradicted``, ``smoke profile``, ``dry run``, ``dataset unavailable``.

Every table (claims included): the number of rows and the key columns that ``run.json`` lists;
where it lists the ``columns`` with their kinds (``number``, ``integer``, ``bool``, ``text``),
exactly those columns, and every cell of a numeric or Boolean column parses as one (empty =
missing); where it lists the file's ``sha256``, the CSV has exactly that digest (runs written
since these checks exist record both).
"""
from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd

from keras_repro.suite.claims import REASONS, VERDICTS

STATUSES = ("running", "completed", "failed")
CLAIMS_COLUMNS = ("claim_id", "verdict", "measured", "rule", "rule_outcome", "note")
RULE_OUTCOMES = ("reproduced", "not reproduced", "not evaluated")
COLUMN_KINDS = ("number", "integer", "bool", "text")
_PLAIN_NAME = re.compile(r"^[^/\\\x00]+$")


class SchemaError(ValueError):
    """A run.json or table breaks its schema; the message is one line that says where and how."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, float)) and not (isinstance(value, float) and math.isnan(value))


def _plain_name(value: Any) -> bool:
    return isinstance(value, str) and bool(_PLAIN_NAME.match(value)) and value not in (".", "..")


def _need(info: dict, field: str, test, what: str, where: str) -> None:
    if field not in info:
        raise SchemaError(f"{where}: field {field!r} is missing")
    if not test(info[field]):
        raise SchemaError(f"{where}: field {field!r} must be {what} (found {str(info[field])[:60]!r})")


def check_run_info(info: Any, where: str) -> None:
    """Raise :class:`SchemaError` unless ``info`` (a parsed run.json) follows the schema."""
    if not isinstance(info, dict):
        raise SchemaError(f"{where}: not a JSON object")
    for field in ("reproduction", "run_id", "profile", "started"):
        _need(info, field, lambda v: isinstance(v, str) and v != "", "a non-empty string", where)
    _need(info, "status", lambda v: v in STATUSES, f"one of {', '.join(STATUSES)}", where)
    _need(info, "seed", lambda v: _is_int(v) and v >= 0, "an integer >= 0", where)
    _need(info, "claims", lambda v: isinstance(v, list) and all(isinstance(c, str) and c for c in v),
          "a list of claim IDs", where)
    if "pid" in info:
        _need(info, "pid", lambda v: _is_int(v) and v > 0, "a process id", where)
    if info["status"] == "failed":
        _need(info, "error", lambda v: isinstance(v, str), "a string", where)
    if info["status"] != "completed":
        return
    _need(info, "finished", lambda v: isinstance(v, str) and v != "", "a non-empty string", where)
    _need(info, "seconds", lambda v: _is_number(v) and v >= 0, "a number >= 0", where)
    _need(info, "artifacts", lambda v: isinstance(v, list) and all(_plain_name(a) for a in v),
          "a list of file names", where)
    _need(info, "verdicts", lambda v: isinstance(v, dict) and all(x in VERDICTS for x in v.values()),
          f"claim IDs mapped to {', '.join(VERDICTS)}", where)
    _need(info, "tables", lambda v: isinstance(v, list) and v != [], "a non-empty list", where)
    for entry in info["tables"]:
        _check_table_entry(entry, where)
    if info["tables"][0]["name"] != "claims":
        raise SchemaError(f"{where}: the first table must be 'claims' (found {info['tables'][0]['name']!r})")
    if sorted(info["verdicts"]) != sorted(info["claims"]):
        raise SchemaError(f"{where}: verdicts are for {', '.join(sorted(info['verdicts']))}, "
                          f"claims are {', '.join(info['claims'])}")


def _check_table_entry(entry: Any, where: str) -> None:
    if not isinstance(entry, dict):
        raise SchemaError(f"{where}: a 'tables' entry is not an object (found {str(entry)[:60]!r})")
    _need(entry, "name", _plain_name, "a file name", f"{where} tables")
    name = f"{where} table {entry['name']!r}"
    _need(entry, "keys", lambda v: isinstance(v, list) and all(isinstance(k, str) for k in v),
          "a list of column names", name)
    _need(entry, "rows", lambda v: _is_int(v) and v >= 0, "an integer >= 0", name)
    if "sha256" in entry:
        _need(entry, "sha256", lambda v: isinstance(v, str) and re.fullmatch(r"[0-9a-f]{64}", v) is not None,
              "a SHA-256 in hex", name)
    if "columns" in entry:
        _need(entry, "columns", lambda v: isinstance(v, dict) and all(k in COLUMN_KINDS for k in v.values()),
              f"column names mapped to {', '.join(COLUMN_KINDS)}", name)


def column_kinds(df: pd.DataFrame) -> dict[str, str]:
    """The kind of every column, as recorded in run.json when the table is written."""
    kinds = {}
    for column in df.columns:
        dtype = df[column].dtype
        if pd.api.types.is_bool_dtype(dtype):
            kinds[str(column)] = "bool"
        elif pd.api.types.is_integer_dtype(dtype):
            kinds[str(column)] = "integer"
        elif pd.api.types.is_float_dtype(dtype):
            kinds[str(column)] = "number"
        else:
            kinds[str(column)] = "text"
    return kinds


def _parses(kind: str, cell: str) -> bool:
    if cell == "" or kind == "text":
        return True
    if kind == "bool":
        return cell in ("True", "False")
    try:
        value = float(cell)
    except ValueError:
        return False
    return kind == "number" or value == int(value)


def check_table(cells: pd.DataFrame, entry: dict[str, Any], where: str) -> None:
    """``cells``: the CSV read as text (no NA conversion); ``entry``: its line in run.json's ``tables``."""
    if len(cells) != entry["rows"]:
        raise SchemaError(f"{where}: {len(cells)} rows, run.json says {entry['rows']} (cut or altered)")
    missing = [k for k in entry["keys"] if k not in cells.columns]
    if missing:
        raise SchemaError(f"{where}: key column(s) {', '.join(missing)} missing (has: {_columns(cells)})")
    kinds = entry.get("columns")
    if kinds is None:
        return
    if list(cells.columns) != list(kinds):
        raise SchemaError(f"{where}: columns are {_columns(cells)}, run.json says {', '.join(kinds)}")
    for column, kind in kinds.items():
        for row, cell in enumerate(cells[column]):
            if not _parses(kind, cell):
                raise SchemaError(f"{where}: row {row + 2}, column {column!r}: {cell[:40]!r} is not "
                                  f"{'a Boolean' if kind == 'bool' else 'an ' + kind if kind == 'integer' else 'a number'}")


def _columns(cells: pd.DataFrame) -> str:
    shown = ", ".join(str(c)[:30] for c in list(cells.columns)[:8])
    return shown + (", …" if len(cells.columns) > 8 else "")


def check_claims(cells: pd.DataFrame, info: dict[str, Any], where: str) -> None:
    """``cells``: claims.csv read as text; ``info``: the run.json of a completed run."""
    missing = [c for c in CLAIMS_COLUMNS if c not in cells.columns]
    if missing:
        raise SchemaError(f"{where}: not a claims table: column(s) {', '.join(missing)} missing "
                          f"(has: {_columns(cells)})")
    if cells.empty:
        raise SchemaError(f"{where}: no rows; run.json lists {len(info['claims'])} claim(s)")
    for row, (claim_id, verdict, outcome, measured) in enumerate(
            zip(cells["claim_id"], cells["verdict"], cells["rule_outcome"], cells["measured"]), start=2):
        if not claim_id:
            raise SchemaError(f"{where}: row {row}: empty claim_id")
        if verdict not in VERDICTS:
            raise SchemaError(f"{where}: row {row}: verdict {verdict[:40]!r} is not one of {', '.join(VERDICTS)}")
        if outcome not in RULE_OUTCOMES:
            raise SchemaError(f"{where}: row {row}: rule_outcome {outcome[:40]!r} is not one of "
                              f"{', '.join(RULE_OUTCOMES)}")
        if measured and not all(re.match(r"^[^=;]+=", item) for item in measured.split("; ")):
            raise SchemaError(f"{where}: row {row}: measured {measured[:40]!r} is not key=value items")
    if "reason" in cells.columns:
        for row, reason in enumerate(cells["reason"], start=2):
            if reason not in REASONS:
                raise SchemaError(f"{where}: row {row}: reason {reason[:40]!r} is not one of {', '.join(REASONS)}")
    ids = list(cells["claim_id"])
    if len(set(ids)) != len(ids) or sorted(ids) != sorted(info["claims"]):
        raise SchemaError(f"{where}: claims {', '.join(ids)[:80]}; run.json lists {', '.join(info['claims'])}")
    for claim_id, verdict in zip(ids, cells["verdict"]):
        if info["verdicts"].get(claim_id) != verdict:
            raise SchemaError(f"{where}: {claim_id} is {verdict!r} here, {info['verdicts'].get(claim_id)!r} in run.json")
    entry = next(t for t in info["tables"] if t["name"] == "claims")
    check_table(cells, entry, where)
