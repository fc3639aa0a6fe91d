"""``repro run --resume RUN``: continue an interrupted or failed run in its own folder.

A *resumable* run (the full profile, or ``repro run --resumable``) keeps, for each fit, Keras's
``BackupAndRestore`` state (weights and optimizer, saved every epoch, with the previous epoch's copy) and
its epoch logs under the run folder's ``.resume/`` (see :class:`~keras_repro.suite.runtime.Runtime`).
Resuming runs the reproduction again in that folder with the recorded profile, seed, settings and
precision: every fit that had finished trains no more, the one that was cut off continues from its last
finished epoch, the later ones train as before, and every table and verdict is computed afresh. The
code must make the same config as the run recorded; ``run.json`` lists each attempt under ``resumed``.

What is not restored: data shuffling after the restored epoch, and the state of a fit's own callbacks
(e.g. early stopping's patience), so a resumed run matches an uninterrupted one in its budget, not
bit for bit; ``resumed`` says so to whoever compares it.

This module does not import Keras (the CLI reads the run before it applies the run's backend).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from keras_repro.suite import results
from keras_repro.suite.run_record import INTERRUPTED, live_status


class ResumeError(RuntimeError):
    """The run cannot be resumed; the message says why in one line."""


def find(spec: str, results_dir: Path) -> results.Run:
    """The run ``spec`` names: a run folder, or ``NAME@RUN_ID`` under ``results_dir``."""
    if "@" not in spec and not Path(spec).exists():
        raise ResumeError(f"--resume {spec}: no such run folder (give its path, or NAME@RUN_ID under {results_dir})")
    try:
        return results.resolve_run(spec, results_dir)
    except results.ResultsError as exc:
        raise ResumeError(f"--resume {spec}: {exc}") from None


def check_status(run: results.Run) -> None:
    """Refuse a run that is still going, already done, or kept no training state."""
    status, _ = live_status(run.info)
    if status == results.RUNNING:
        raise ResumeError(f"{run.path} is still running (process {run.info.get('pid')} on {run.info.get('host')}); "
                          "wait for it or stop it first")
    if status == results.COMPLETED:
        raise ResumeError(f"{run.path} already completed: there is nothing to resume")
    if not run.info.get("resumable"):
        raise ResumeError(f"{run.path} kept no training state (runs keep it on the full profile or with "
                          f"--resumable): start it again with `repro run {run.info['reproduction']}`")
    if status not in (INTERRUPTED, results.FAILED):
        raise ResumeError(f"{run.path} has status {status!r}; only an interrupted or failed run can be resumed")


def check_resumable(folder: Path, name: str, config: dict[str, Any]) -> dict[str, Any]:
    """The recorded ``run.json`` of ``folder``, once it is a resumable run of ``name`` whose config equals
    ``config`` (what this code makes of the recorded profile and settings)."""
    run = results.load_run(folder)
    check_status(run)
    if run.info["reproduction"] != name:
        raise ResumeError(f"{folder} is a run of {run.info['reproduction']!r}, not of {name!r}")
    recorded = run.info.get("config") or {}
    changed = sorted(k for k in set(recorded) | set(config) if _plain(recorded.get(k)) != _plain(config.get(k)))
    if changed:
        key = changed[0]
        raise ResumeError(f"this code makes another config than {folder} recorded ({key}: {recorded.get(key)!r} "
                          f"then, {config.get(key)!r} now); resume it from commit {run.info.get('git_commit')}")
    return run.info


def resumed_info(previous: dict[str, Any], fresh: dict[str, Any]) -> dict[str, Any]:
    """The running ``run.json`` of a resumed attempt: this attempt's provenance, the run's id and start,
    and the earlier attempts under ``resumed`` (each: when it ended, how, on which commit)."""
    status, why = live_status(previous)
    attempt = {"ended": previous.get("finished") or previous.get("heartbeat"), "status": status,
               "error": previous.get("error") or why, "git_commit": previous.get("git_commit"),
               "seconds": previous.get("seconds"), "command": previous.get("command")}
    return {**fresh, "run_id": previous["run_id"], "started": previous["started"], "resumable": True,
            "resumed": list(previous.get("resumed") or []) + [attempt]}


def _plain(value: Any) -> Any:
    """JSON's view of a value (tuples are lists there)."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
