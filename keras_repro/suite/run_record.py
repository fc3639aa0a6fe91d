"""The ``run.json`` of a run in progress, and how a reader tells a live run from a dead one.

While a run lives, its ``run.json`` says ``"status": "running"`` with the ``pid`` and ``host`` of
its process and a ``heartbeat`` (UTC time) that a daemon thread rewrites every ``HEARTBEAT_S``
seconds. Every write goes through one lock, and the last one (``completed`` or ``failed``) closes
the record, so a late heartbeat can never bring a finished run back to ``running``.

A process killed without warning (SIGKILL, power cut, OOM killer) cannot write its end. Readers
then call :func:`live_status`: a ``running`` run whose process is gone (same host) or whose
heartbeat is older than ``STALE_AFTER_S`` is ``interrupted``.

On a full disk a new file cannot be created, so the usual atomic write (temporary file + rename)
fails exactly when a failure must be recorded. The running record is therefore written with
``RESERVE_BYTES`` of trailing blanks (valid JSON whitespace): the final ``failed`` record is
rewritten in place, into blocks the file already owns, when the atomic write is refused.
"""
from __future__ import annotations

import datetime as _dt
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

from keras_repro.suite import results

HEARTBEAT_S = 30.0  # how often a live run rewrites its heartbeat
STALE_AFTER_S = 600.0  # a heartbeat this old means the run is dead, whatever its pid says
RESERVE_BYTES = results.RUN_JSON_RESERVE  # room kept in the running run.json for the failure record

INTERRUPTED = "interrupted"


def timestamp(seconds: float | None = None) -> str:
    when = _dt.datetime.fromtimestamp(time.time() if seconds is None else seconds, _dt.timezone.utc)
    return when.isoformat(timespec="seconds")


def _age_s(stamp: Any) -> float | None:
    try:
        return time.time() - _dt.datetime.fromisoformat(str(stamp)).timestamp()
    except ValueError:
        return None


def process_gone(pid: Any) -> bool:
    """Whether process ``pid`` of this machine has ended (a zombie counts as ended)."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # someone else's process: alive
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
        return state in (b"Z", b"X")
    except (OSError, IndexError):
        return False


def live_status(info: dict[str, Any]) -> tuple[str, str]:
    """(status, why): ``info["status"]``, except that a dead ``running`` run is ``interrupted``."""
    status = info.get("status", "unknown")
    if status != results.RUNNING:
        return status, ""
    host, pid = info.get("host"), info.get("pid")
    if host == socket.gethostname() and process_gone(pid):
        return INTERRUPTED, f"its process {pid} on {host} ended without recording an end (killed?)"
    age = _age_s(info.get("heartbeat", info.get("started")))
    if age is not None and age > STALE_AFTER_S:
        return INTERRUPTED, f"no heartbeat for {age / 60:.0f} min (process {pid} on {host})"
    return status, ""


class RunRecord:
    """Writes one run's ``run.json``: the running record with pid, host and heartbeat, then its end."""

    def __init__(self, path: Path, info: dict[str, Any]):
        self.path = Path(path)
        self.info = info
        self._lock = threading.Lock()
        self._closed = False
        self._stop = threading.Event()
        info.update(pid=os.getpid(), host=socket.gethostname(), heartbeat=timestamp())
        self._write_running()

    def _write_running(self) -> None:
        text = results.json_text(self.info)
        results.atomic_write_text(self.path, text + " " * RESERVE_BYTES + "\n")

    def moved_to(self, folder: Path) -> None:
        """The run folder was renamed (staging → final): write there from now on."""
        self.path = Path(folder) / self.path.name

    def start_heartbeat(self) -> None:
        threading.Thread(target=self._beat, name="repro-heartbeat", daemon=True).start()

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            with self._lock:
                if self._closed:
                    return
                self.info["heartbeat"] = timestamp()
                try:
                    self._write_running()
                except OSError:  # a full disk: the previous record (and its reserve) stays; the end says why
                    pass

    def complete(self, **fields: Any) -> None:
        """Record the run as completed (atomically); raises ``OSError`` when that cannot be written."""
        with self._lock:
            info = {k: v for k, v in {**self.info, **fields}.items() if k != "heartbeat"}
            results.write_json(self.path, info)
            self.info, self._closed = info, True
            self._stop.set()

    def fail(self, **fields: Any) -> str | None:
        """Record the run as failed; ``None`` when recorded (or already ended), else why it could not be."""
        with self._lock:
            if self._closed:
                return None
            self._closed = True
            self._stop.set()
            self.info = {k: v for k, v in {**self.info, **fields}.items() if k != "heartbeat"}
            try:
                results.write_json(self.path, self.info)
                return None
            except OSError as exc:
                first = exc.strerror or str(exc)
            try:  # into the blocks the running record reserved
                results.rewrite_in_place(self.path, _fitting(self.info, self.path))
                return None
            except OSError as exc:
                return f"{first}; rewriting it in place: {exc.strerror or exc}"


def _fitting(info: dict[str, Any], path: Path) -> str:
    """``info`` as JSON no longer than ``path`` is now (the traceback shortened first, then the error)."""
    room = path.stat().st_size
    text = results.json_text(info)
    for cut in ("traceback", "error"):
        if len(text.encode()) <= room:
            break
        value = str(info.get(cut, ""))
        excess = len(text.encode()) - room + 40
        info = {**info, cut: "…" + value[-max(len(value) - excess, 0):] if excess < len(value) else "(cut: disk full)"}
        text = results.json_text(info)
    return text
