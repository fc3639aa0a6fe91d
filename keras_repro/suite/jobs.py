"""``repro run --jobs N``: reproductions in N worker processes, one progress view, one verdict table.

Each worker is a fresh ``repro run NAME ...`` process (its own Keras, its own run folder), so a
worker that dies takes only its own run with it: its run folder is marked ``failed`` here and the
others go on. Where GPUs exist, each worker slot is pinned to its own GPU(s) with
``CUDA_VISIBLE_DEVICES``. A reproduction that measures wall-clock time (``timed``) runs alone: it starts
when no other worker runs, and none starts beside it. Each worker's environment says how it ran
(:data:`JOBS_ENV`, recorded in run.json as ``jobs``). Imports neither Keras nor a backend.
"""
from __future__ import annotations

import datetime as _dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from keras_repro.suite import results

# set in each worker's environment: "<workers>" or "<workers>:alone" (run.json's ``jobs``, see :func:`recorded`)
JOBS_ENV = "REPRO_JOBS_WORKER"


def recorded() -> dict:
    """What run.json says of a run started by ``repro run --jobs``: ``{"jobs": {"workers": N, "alone": bool}}``
    (``alone``: no other run shared the machine with it); empty for any other run."""
    value = os.environ.get(JOBS_ENV, "")
    workers, _, alone = value.partition(":")
    if not workers.isdigit():
        return {}
    return {"jobs": {"workers": int(workers), "alone": alone == "alone"}}


def visible_gpus() -> list[str]:
    """GPU indices this process may use: ``$CUDA_VISIBLE_DEVICES``, else ``nvidia-smi -L``, else none."""
    if os.environ.get("CUDA_VISIBLE_DEVICES") is not None:
        return [g for g in os.environ["CUDA_VISIBLE_DEVICES"].split(",") if g.strip() and g.strip() != "-1"]
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(ln for ln in listing.splitlines() if ln.startswith("GPU "))]


@dataclass
class Job:
    name: str
    slot: int = -1
    process: subprocess.Popen | None = None
    log_path: Path | None = None
    started: float = 0.0
    before: set[str] = field(default_factory=set)
    folder: Path | None = None
    outcome: str = ""


def _run_folders(out: Path, name: str) -> set[str]:
    parent = out / name
    return {p.name for p in parent.iterdir() if p.is_dir()} if parent.is_dir() else set()


def run_jobs(names: list[str], jobs: int, child_args: list[str], out: Path, echo: Callable[[str], None],
             devices_per_job: int = 1, alone: set[str] | frozenset[str] = frozenset()) -> list[Job]:
    """Run ``repro run NAME *child_args`` for every name, at most ``jobs`` at a time; return the jobs.

    ``child_args`` must contain ``--out OUT``; run folders are found as the new folder under
    ``OUT/NAME`` (one worker per reproduction, so it is unambiguous). The names in ``alone`` run first,
    one at a time with no other worker beside them (they measure wall-clock time).
    """
    gpus = visible_gpus()
    # the lone runs first: they start on an idle machine without waiting for others to drain
    pending = [Job(n) for n in names if n in alone] + [Job(n) for n in names if n not in alone]
    running: list[Job] = []
    done: list[Job] = []
    free = list(range(jobs))
    total = len(pending)
    logs = Path(tempfile.mkdtemp(prefix="repro-jobs-"))
    try:
        while pending or running:
            while pending and free and not any(j.name in alone for j in running):
                if pending[0].name in alone and running:
                    break  # it waits for the machine to be idle
                job = pending.pop(0)
                job.slot = free.pop(0)
                env = dict(os.environ)
                env[JOBS_ENV] = f"{jobs}:alone" if job.name in alone else str(jobs)
                if gpus:
                    env["CUDA_VISIBLE_DEVICES"] = ",".join(
                        gpus[(job.slot * devices_per_job + i) % len(gpus)] for i in range(devices_per_job))
                job.before = _run_folders(out, job.name)
                job.log_path = logs / f"{job.name}.log"
                with open(job.log_path, "w") as log:
                    job.process = subprocess.Popen([sys.executable, "-m", "keras_repro.cli", "run", job.name,
                                                    *child_args], stdout=log, stderr=subprocess.STDOUT, env=env)
                job.started = time.monotonic()
                pinned = f", GPU {env['CUDA_VISIBLE_DEVICES']}" if gpus else ""
                echo(f"[{len(done):>{len(str(total))}}/{total} done] started  {job.name} (worker {job.slot + 1}{pinned})")
                running.append(job)
            time.sleep(0.2)
            for job in list(running):
                code = job.process.poll()
                if code is None:
                    continue
                running.remove(job)
                free.append(job.slot)
                free.sort()
                _finish(job, code, out)
                done.append(job)
                echo(f"[{len(done):>{len(str(total))}}/{total} done] finished {job.name} in "
                     f"{time.monotonic() - job.started:.1f} s: {job.outcome}")
    except KeyboardInterrupt:
        for job in running:
            job.process.terminate()
        for job in running:
            try:
                job.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                job.process.kill()
            _finish(job, job.process.wait(), out)
        raise
    finally:
        shutil.rmtree(logs, ignore_errors=True) if all(j.outcome == "completed" for j in done) else None
    return done


def _finish(job: Job, code: int, out: Path) -> None:
    new = sorted(_run_folders(out, job.name) - job.before)
    job.folder = out / job.name / new[-1] if new else None
    status = settle(job.folder, job.name, code) if job.folder is not None else None
    if status == results.COMPLETED and code == 0:
        job.outcome = "completed"
    elif status is None:
        tail = job.log_path.read_text(errors="replace").strip().splitlines()[-1:] if job.log_path else []
        job.outcome = f"failed before a run folder existed (exit status {code})" + (f": {tail[0]}" if tail else "")
    else:
        job.outcome = f"failed (exit status {code}; see {job.folder / results.RUN_FILE})"


def settle(folder: Path, name: str, code: int, who: str = "worker process") -> str | None:
    """The status of the run in ``folder`` whose ``repro run`` process ended with exit status ``code``.

    A process that died mid-run left run.json saying running (read back as interrupted once the process
    is gone): it is rewritten as failed, with how the process (``who``) died. None: no readable run.json
    and a clean exit (nothing to say).
    """
    status = None
    try:
        run = results.load_run(folder)
        status = run.status
    except results.ResultsError:
        run = None
    if status in (results.RUNNING, results.INTERRUPTED) or (run is None and code != 0):
        info = run.info if run is not None else {"reproduction": name, "run_id": folder.name}
        how = f"killed by signal {-code}" if code < 0 else f"exit status {code}"
        info.update(status=results.FAILED, error=f"{who} died ({how})",
                    finished=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
        results.write_json(folder / results.RUN_FILE, info)
        status = results.FAILED
    return status
