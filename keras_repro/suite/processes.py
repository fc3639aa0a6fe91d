"""One training job over several processes (e.g. one per machine), on JAX.

Each process runs the same ``repro run`` with ``--processes K --process-id I --coordinator HOST:PORT``;
:func:`join` connects it to the others through the engine's own set-up (``jax.distributed``), and the
:class:`~keras_repro.suite.runtime.Runtime` then trains with ``keras.distribution.DataParallel`` over every
device of every process, each process feeding its part of every global batch. Process 0 writes the run
folder. This module imports neither Keras nor a backend until :func:`join` runs (the CLI checks options
before it applies ``--backend``).
"""
from __future__ import annotations

import re


class ProcessesError(ValueError):
    """The options cannot form a job (one sentence, shown before anything runs)."""


# The job this process belongs to when several processes (one per machine) train as one: set once by
# :func:`join` before any JAX computation, read by every Runtime of the process.
_PROCESS_GROUP: dict[str, object] | None = None

# Seconds a process waits for the others to join, and for a silent peer before it gives up (its run then
# fails instead of hanging).
# (REPRO_JOIN_TIMEOUT_S and REPRO_HEARTBEAT_TIMEOUT_S override them, e.g. for tests.)
JOIN_TIMEOUT_S = 120
HEARTBEAT_TIMEOUT_S = 60


def check(backend: str, processes: int, process_id: int, coordinator: str | None,
          devices: int | str | None) -> None:
    """One clear sentence when ``--processes``/``--process-id``/``--coordinator`` cannot form a job."""
    if processes == 1:
        if process_id or coordinator:
            raise ProcessesError("--process-id and --coordinator need --processes K (K > 1)")
        return
    if backend == "tensorflow":
        raise ProcessesError("--processes > 1 is not supported on TensorFlow: it needs MultiWorkerMirroredStrategy, "
                             "which Keras 3's TensorFlow trainer does not run (keras-team/keras#20585); use "
                             "--backend jax")
    if backend != "jax":
        raise ProcessesError(f"--processes > 1 is not supported on the {backend} backend; use --backend jax")
    if not coordinator or ":" not in coordinator or not coordinator.rsplit(":", 1)[1].isdigit():
        raise ProcessesError(f"--processes {processes}: give --coordinator HOST:PORT, the address of process 0, "
                             f"the same in every process. Received: {coordinator!r}")
    if not 0 <= process_id < processes:
        raise ProcessesError(f"--process-id must be in 0..{processes - 1}. Received: {process_id}")
    if devices not in (None, "all"):
        raise ProcessesError("--devices with --processes: a job of several processes trains on every device of "
                             "every process; leave --devices out")


def rendezvous(coordinator: str, processes: int, process_id: int, timeout_s: float) -> None:
    """Wait until every process of the job is there, or raise :class:`ProcessesError` after ``timeout_s``.

    JAX's own set-up aborts the whole interpreter (a native crash dump, no Python exception) when a peer
    never comes; this handshake on the coordinator's port, before JAX starts, turns that into one line.
    Process 0 listens and answers once the others have all connected; the others connect and wait.
    """
    import socket
    import time

    host, port = coordinator.rsplit(":", 1)
    deadline = time.monotonic() + timeout_s
    if process_id == 0:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                server.bind(("", int(port)))
            except OSError as exc:
                raise ProcessesError(f"process 0 cannot listen on port {port}: {exc.strerror or exc}") from None
            server.listen(processes)
            peers: dict[int, socket.socket] = {}
            try:
                while len(peers) < processes - 1:
                    server.settimeout(max(0.1, deadline - time.monotonic()))
                    try:
                        conn, _ = server.accept()
                    except (socket.timeout, TimeoutError):
                        raise ProcessesError(f"process 0: {len(peers)} of the {processes - 1} other process(es) "
                                             f"joined within {timeout_s:g} s (started with --coordinator "
                                             f"{coordinator}?)") from None
                    conn.settimeout(10)
                    try:
                        peers[int(conn.recv(16).decode() or -1)] = conn
                    except (OSError, ValueError):
                        conn.close()
                for conn in peers.values():
                    conn.sendall(b"go")
            finally:
                for conn in peers.values():
                    conn.close()
        return
    while True:
        try:
            with socket.create_connection((host, int(port)), timeout=max(0.1, deadline - time.monotonic())) as conn:
                conn.sendall(str(process_id).encode())
                conn.settimeout(max(0.1, deadline - time.monotonic()))
                if conn.recv(2) == b"go":
                    return
        except OSError:
            pass
        if time.monotonic() >= deadline:
            raise ProcessesError(f"process {process_id}: the job at {coordinator} did not start within "
                                 f"{timeout_s:g} s (is process 0 running with the same --processes?)")
        time.sleep(0.5)


# Lines of the engine's native logging (glog), of a native crash dump, or of Python's faulthandler
_NATIVE = re.compile(r"^(?:[FEWI]\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ \S+:\d+\]|\*\*\* |\s+@\s+0x|Fatal Python error|"
                     r"Current thread 0x|Thread 0x|\s+File \".*\", line \d+ in |Extension modules:|\s*$)")
_FATAL = re.compile(r"^(?:F\d{4} \S+\s+\d+ \S+:\d+\]\s*(?P<why>.*)|Fatal Python error: (?P<py>.*))")
SUPERVISED = "REPRO_PROCESS_SUPERVISED"  # set in the supervised child: it runs the job itself


def supervise(process_id: int, argv: list[str]) -> int:
    """Run this process's part of the job in a child ``repro`` and turn a native abort into one line.

    When a peer dies, JAX's distributed service ends the surviving processes from C++ (``LOG(FATAL)``,
    SIGABRT) with a crash dump that no Python code can catch. The child's stderr is read here: its own lines
    pass through; the engine's native lines go to a file (kept only if something was written); if the
    child was aborted, one line says what ended it and where the full report is. Returns the exit status.
    SIGTERM and SIGHUP are passed on to the child (Ctrl-C reaches it from the terminal).
    """
    import os
    import signal
    import subprocess
    import sys
    import tempfile

    env = {**os.environ, SUPERVISED: "1"}
    child = subprocess.Popen([sys.executable, "-m", "keras_repro.cli", *argv], env=env, stderr=subprocess.PIPE,
                             text=True, errors="replace", bufsize=1)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: child.send_signal(signum))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the terminal sends Ctrl-C to the child too; it records the end
    fd, report = tempfile.mkstemp(prefix=f"repro-process-{process_id}-", suffix=".log")
    fatal, native = None, 0
    with os.fdopen(fd, "w") as log:
        for line in child.stderr:
            found = _FATAL.match(line)
            if found and fatal is None:
                fatal = (found.group("why") or found.group("py") or "").strip()
            if fatal is not None or _NATIVE.match(line) and line.strip():
                log.write(line)
                native += 1
            elif line.strip() or not native:
                sys.stderr.write(line)
                sys.stderr.flush()
    code = child.wait()
    if not native:
        os.unlink(report)
    if fatal is None and code >= 0:
        return code
    where = f"; the engine's full report: {report}" if native else ""
    if fatal is None:
        sys.stderr.write(f"Error: process {process_id} was killed (signal {-code}){where}\n")
    else:
        lost = "another task died" in fatal or "heartbeat" in fatal.lower()
        why = f"a peer of the job died or stopped answering ({fatal.split('.')[0]})" if lost else fatal
        sys.stderr.write(f"Error: process {process_id}: JAX ended this process: {why}{where}\n")
    return 1


def join(coordinator: str, processes: int, process_id: int) -> None:
    """Join the job of ``processes`` JAX processes coordinated at ``coordinator`` (``HOST:PORT``).

    Must run before any JAX computation. On CPU the processes exchange gradients through gloo.
    ``jax.distributed.initialize`` is the engine's own set-up (``keras.distribution.initialize`` calls it
    too; called here directly for its time-outs, so a process whose peer never comes or dies ends by itself).
    """
    global _PROCESS_GROUP
    import os

    import jax

    timeout = int(os.environ.get("REPRO_JOIN_TIMEOUT_S", JOIN_TIMEOUT_S))
    rendezvous(coordinator, processes, process_id, timeout)

    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    heartbeat = int(os.environ.get("REPRO_HEARTBEAT_TIMEOUT_S", HEARTBEAT_TIMEOUT_S))
    jax.distributed.initialize(coordinator_address=coordinator, num_processes=processes, process_id=process_id,
                               initialization_timeout=timeout, heartbeat_timeout_seconds=heartbeat,
                               shutdown_timeout_seconds=JOIN_TIMEOUT_S)
    _PROCESS_GROUP = {"processes": processes, "process_id": process_id, "coordinator": coordinator}


def group() -> dict[str, object] | None:
    """``{"processes", "process_id", "coordinator"}`` once :func:`join` ran, else ``None``."""
    return _PROCESS_GROUP
