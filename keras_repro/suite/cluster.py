"""``repro run --dask ADDRESS``: reproductions as tasks on a Dask distributed cluster, one verdict table.

The plan of ``--jobs`` (:mod:`keras_repro.suite.jobs`) on an existing engine instead of local
processes: one Dask task per reproduction. On its worker the task runs a fresh ``repro run NAME``
process into a worker-local temporary folder (its own Keras and backend; a run that crashes leaves
the worker alive), then returns the run folder's files, the exit status and the tail of the log. The
client writes each folder under its own ``OUT/NAME/<run_id>/`` (staged, then renamed into place), so
the results are self-contained on the machine that asked for them and ``repro report`` reads them as
any other run.

A worker that dies while it holds a task is the engine's business: the scheduler gives the task to
another worker once (``allowed-failures`` 1 on a ``local:N`` cluster; a remote scheduler keeps its own
setting, and a task started a third time is cancelled here), then the reproduction is reported failed
and the others go on.

``ADDRESS`` is a scheduler (``tcp://host:8786``) or ``local:N``: a ``distributed.LocalCluster`` of N
worker processes with one thread each, started and closed by the command. Imports neither Keras nor a
backend, and Dask only inside functions (it is an optional extra).
"""
from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from keras_repro.suite import results

INSTALL_HINT = "pip install 'keras-repro[dask]'"
TOPIC = "keras-repro-started"  # the event a task logs on the scheduler when it starts on a worker
ALLOWED_FAILURES = 1  # a task whose worker died is given to another worker once, never more
CONNECT_TIMEOUT_S = 30  # REPRO_DASK_CONNECT_TIMEOUT_S overrides it (e.g. for tests)
LOG_TAIL_LINES = 20
# test-only fault injection: the task of this reproduction ends its worker process at once
KILL_WORKER_ENV = "REPRO_TEST_KILL_WORKER"
_LOCAL = re.compile(r"^local:(\d+)$")
_SCHEDULER = re.compile(r"^\S+$")  # tcp://host:8786, tls://..., tcp://[::1]:8786: Dask says more if wrong


class ClusterError(RuntimeError):
    """``--dask`` cannot be used as given; the message says why in one line."""


def check(address: str) -> int | None:
    """Check ``address`` and that Dask distributed is installed; return N for ``local:N``, else None."""
    local = _LOCAL.match(address)
    if local is None and (address == "local" or address.startswith("local:") or not _SCHEDULER.match(address)):
        raise ClusterError(f"--dask takes a scheduler address (tcp://host:8786) or local:N. Received: {address!r}")
    if local is not None and int(local[1]) < 1:
        raise ClusterError(f"--dask local:N needs at least one worker. Received: {address!r}")
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise ClusterError(f"--dask needs Dask distributed: {INSTALL_HINT}") from None
    return int(local[1]) if local is not None else None


# -- on the worker --------------------------------------------------------------------------------

def _still_wanted() -> bool:
    """False once the client has cancelled this task (or let it go); True when that cannot be told."""
    try:
        from distributed import get_worker
        from distributed.worker import thread_state

        ts = get_worker().state.tasks.get(thread_state.key)
        return ts is not None and ts.state not in ("cancelled", "released", "forgotten")
    except Exception:  # noqa: BLE001 - an engine detail that changed: keep running
        return True


def run_task(name: str, child_args: list[str], session: str) -> dict[str, Any]:
    """The Dask task: ``repro run NAME *child_args`` into a temporary folder; return its run folder.

    Returns ``name``, ``code`` (exit status), ``status`` (of the run folder, None when none was made),
    ``run_id``, ``files`` (relative path → bytes), ``tail`` (the log's last lines), ``seconds``,
    ``worker`` (its address).
    """
    from distributed import get_worker

    from keras_repro.suite import jobs

    worker = get_worker()
    worker.log_event(TOPIC, {"session": session, "name": name, "worker": worker.address})
    if os.environ.get(KILL_WORKER_ENV) == name:
        time.sleep(1.0)  # let the start event reach the scheduler first
        os._exit(1)  # test-only: this worker process dies as an out-of-memory kill would end it
    tmp = Path(tempfile.mkdtemp(prefix=f"repro-dask-{name}-"))
    started = time.monotonic()
    try:
        log_path = tmp / "log.txt"
        with open(log_path, "wb") as log:
            child = subprocess.Popen([sys.executable, "-m", "keras_repro.cli", "run", name, *child_args,
                                      "--out", str(tmp / "out")], stdout=log, stderr=subprocess.STDOUT)
            try:
                while child.poll() is None:
                    time.sleep(0.5)
                    if not _still_wanted():  # the client cancelled it: end the run as Ctrl-C would
                        child.terminate()
                        try:
                            child.wait(timeout=30)
                        except subprocess.TimeoutExpired:
                            child.kill()
            finally:
                if child.poll() is None:
                    child.kill()
                code = child.wait()
        parent = tmp / "out" / name
        folders = sorted(p for p in parent.iterdir() if p.is_dir() and not p.name.startswith(".")) \
            if parent.is_dir() else []
        folder = folders[-1] if folders else None
        status = jobs.settle(folder, name, code, who="run process") if folder is not None else None
        files = {}
        if folder is not None:
            for path in sorted(folder.rglob("*")):
                if path.is_file() and not path.name.startswith("."):  # not a killed writer's temporary file
                    files[path.relative_to(folder).as_posix()] = path.read_bytes()
        tail = log_path.read_text(errors="replace").strip().splitlines()[-LOG_TAIL_LINES:]
        return {"name": name, "code": code, "status": status, "run_id": folder.name if folder else None,
                "files": files, "tail": tail, "seconds": time.monotonic() - started, "worker": worker.address}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# -- on the client ----------------------------------------------------------------------------------

@dataclass
class Task:
    name: str
    key: str = ""
    worker: str = ""
    starts: int = 0
    started: float = 0.0
    seconds: float = 0.0
    folder: Path | None = None
    outcome: str = ""


def _safe_relative(rel: str) -> Path:
    path = Path(rel)
    if path.is_absolute() or not path.parts or any(part in ("", ".", "..") for part in path.parts):
        raise results.ResultsError(f"a worker sent a file outside its run folder: {rel!r}")
    return path


def publish(out: Path, name: str, run_id: str, files: dict[str, bytes], extra: dict[str, Any]) -> Path:
    """Write a run folder sent by a worker as ``OUT/NAME/<run_id>/`` (or ``<run_id>-N`` when that is taken):
    filled under a hidden staging name, then renamed into place; ``extra`` is added to its run.json."""
    import json

    parent = Path(out) / name
    parent.mkdir(parents=True, exist_ok=True)
    rels = {rel: _safe_relative(rel) for rel in files}

    def fill(staging: Path, candidate: str) -> None:
        for rel, data in files.items():
            if rel == results.RUN_FILE:
                continue
            target = staging / rels[rel]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        if results.RUN_FILE in files:
            info = json.loads(files[results.RUN_FILE].decode("utf-8"))
            info["run_id"] = candidate
            info.update(extra)
            results.write_json(staging / results.RUN_FILE, info)

    return results.publish_new_folder(parent, run_id, fill)[0]


def _verdicts(folder: Path) -> str:
    try:
        verdicts = results.load_run(folder).info.get("verdicts", {})
    except results.ResultsError:
        return ""
    return ", ".join(f"{claim} {verdict}" for claim, verdict in verdicts.items())


def _settle(task: Task, reply: dict[str, Any], out: Path, address: str) -> None:
    code, status = reply["code"], reply["status"]
    task.worker, task.seconds = reply["worker"], reply["seconds"]
    if reply["run_id"] is None:
        tail = reply["tail"][-1:]
        task.outcome = f"failed before a run folder existed (exit status {code})" + (f": {tail[0]}" if tail else "")
        return
    try:
        task.folder = publish(out, task.name, reply["run_id"], reply["files"],
                          {"cluster": {"engine": "dask", "scheduler": address, "worker": reply["worker"]}})
    except (OSError, ValueError, results.ResultsError) as exc:
        task.outcome = f"failed: its run folder could not be written under {out / task.name}: {exc}"
        return
    if status == results.COMPLETED and code == 0:
        verdicts = _verdicts(task.folder)
        task.outcome = "completed" + (f" ({verdicts})" if verdicts else "")
    else:
        task.outcome = f"failed (exit status {code}; see {task.folder / results.RUN_FILE})"


def _quiet_engine() -> None:
    """Dask's own log lines (a lost worker, a restarted nanny) stay out of the output: this module reports
    what they mean, one line per reproduction."""
    for logger in ("distributed", "tornado"):
        logging.getLogger(logger).setLevel(logging.CRITICAL)


def run_cluster(names: list[str], address: str, child_args: list[str], out: Path,
                echo: Callable[[str], None], record: dict[str, Any] | None = None) -> list[Task]:
    """Run ``repro run NAME *child_args`` for every name as Dask tasks; return the tasks, all settled.

    ``child_args`` must not contain ``--out``: each task writes into a worker-local folder, and its run
    folder is written under ``out`` here. ``record`` (``profile``, ``seed``, ``backend``, ``dry_run``,
    ``claims``: name → claim IDs) describes the runs, so that a reproduction whose worker died still gets a
    run folder here, marked failed.
    """
    import dask
    from distributed import Client, LocalCluster

    n_local = check(address)
    timeout = float(os.environ.get("REPRO_DASK_CONNECT_TIMEOUT_S", CONNECT_TIMEOUT_S))
    session = uuid.uuid4().hex
    tasks = {f"repro-{name}-{session[:8]}": Task(name) for name in names}
    total = len(tasks)
    width = len(str(total))
    done: list[Task] = []
    _quiet_engine()
    settings = {"distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
                "distributed.comm.timeouts.connect": f"{timeout}s",
                "distributed.admin.system-monitor.gil.enabled": False}
    with dask.config.set(settings):
        cluster = None
        try:
            if n_local is not None:
                cluster = LocalCluster(n_workers=n_local, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=logging.CRITICAL)
                shown = f"a local Dask cluster of {n_local} worker process{'es' if n_local > 1 else ''}"
            else:
                shown = f"the Dask cluster at {address}"
            try:
                client = Client(cluster if cluster is not None else address, timeout=timeout)
            except (OSError, TimeoutError) as exc:
                raise ClusterError(f"cannot reach the Dask scheduler at {address}: "
                                   f"{str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__}") from None
            scheduler = cluster.scheduler_address if cluster is not None else address
            with client:
                workers = client.scheduler_info().get("workers", {})
                threads = sum(w.get("nthreads", 0) for w in workers.values())
                echo(f"   on {shown} ({len(workers)} worker{'s' if len(workers) != 1 else ''}, {threads} "
                     f"thread{'s' if threads != 1 else ''})" + ("; the tasks wait for `dask worker "
                                                               f"{address}`" if not workers else ""))
                futures = {key: client.submit(run_task, task.name, child_args, session, key=key, pure=False)
                           for key, task in tasks.items()}
                try:
                    _follow(client, futures, tasks, session, out, scheduler, done, echo, width, total,
                            record or {})
                except BaseException:
                    client.cancel(list(futures.values()))
                    raise
        finally:
            if cluster is not None:
                cluster.close(timeout=30)
    return done


def _record_lost(task: Task, out: Path, scheduler: str, record: dict[str, Any], error: str) -> Path | None:
    """A failed run folder for a reproduction whose worker died (nothing came back): ``repro report`` shows
    the failure like any other; None when it cannot be written (the progress line still says why)."""
    import datetime as dt

    now = dt.datetime.now(dt.timezone.utc)
    profile, seed = record.get("profile", "default"), int(record.get("seed", 0))
    info = {"reproduction": task.name, "run_id": "", "status": results.FAILED, "profile": profile,
            "dry_run": bool(record.get("dry_run", False)), "seed": seed, "backend": record.get("backend"),
            "command": list(sys.argv), "claims": list(record.get("claims", {}).get(task.name, [])),
            "started": now.isoformat(timespec="seconds"), "finished": now.isoformat(timespec="seconds"),
            "error": error}
    run_id = f"{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}-{profile}-s{seed}"
    try:
        return publish(out, task.name, run_id, {results.RUN_FILE: results.json_text(info).encode() + b"\n"},
                       {"cluster": {"engine": "dask", "scheduler": scheduler, "worker": task.worker}})
    except (OSError, results.ResultsError):
        return None


def _follow(client, futures, tasks, session, out, scheduler, done, echo, width, total, record) -> None:
    from distributed import KilledWorker

    seen: set[tuple] = set()
    running = dict(futures)
    while running:
        for stamp, event in client.get_events(TOPIC):
            if not isinstance(event, dict) or event.get("session") != session:
                continue
            mark = (stamp, event.get("name"), event.get("worker"))
            if mark in seen:
                continue
            seen.add(mark)
            task = next((t for k, t in tasks.items() if t.name == event["name"] and k in running), None)
            if task is None:
                continue
            task.starts += 1
            task.worker, task.started = event["worker"], time.monotonic()
            again = " (again: the worker that had it died)" if task.starts > 1 else ""
            echo(f"[{len(done):>{width}}/{total} done] started  {task.name} on {task.worker}{again}")
            if task.starts > ALLOWED_FAILURES + 1:  # a remote scheduler that retries more often
                running[_key(tasks, task)].cancel()
        for key, future in list(running.items()):
            if future.status == "pending":
                continue
            task = tasks[key]
            del running[key]
            if future.status == "finished":
                try:
                    _settle(task, future.result(), out, scheduler)
                except Exception as exc:  # noqa: BLE001 - one line; the others go on
                    task.outcome = f"failed: {exc.__class__.__name__}: {exc}"
            else:
                exc = None if future.status == "cancelled" else future.exception()
                task.seconds = time.monotonic() - task.started if task.started else 0.0
                if exc is None or isinstance(exc, KilledWorker):
                    times = f" ({task.starts} workers tried it)" if task.starts > 1 else ""
                    error = f"worker process died{times}; no run folder came back"
                else:
                    error = f"{exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                task.folder = _record_lost(task, out, scheduler, record, error)
                where = f"; marked failed in {task.folder / results.RUN_FILE}" if task.folder else ""
                task.outcome = f"failed: {error}{where}"
            if not task.seconds and task.started:
                task.seconds = time.monotonic() - task.started
            done.append(task)
            where = f" on {task.worker}" if task.worker else ""
            echo(f"[{len(done):>{width}}/{total} done] finished {task.name}{where} in {task.seconds:.1f} s: "
                 f"{task.outcome}")
        if running:
            time.sleep(0.3)


def _key(tasks: dict[str, Task], task: Task) -> str:
    return next(k for k, t in tasks.items() if t is task)
