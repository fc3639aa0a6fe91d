"""One training job over several processes: `repro run --processes K --process-id I --coordinator H:P`
(issue 13). Two processes on this machine over the loopback address, JAX on CPU (gloo), each in a
fresh interpreter with no environment prepared."""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import write_import_blocker

ROOT = Path(__file__).resolve().parents[1]
PROBE = Path(__file__).with_name("processes_probe.py")
pytestmark = pytest.mark.xdist_group("processes")  # the two processes of a job need both cores at once




def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "XLA_FLAGS")}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _job(make_args, k: int = 2, timeout: int = 600, **env) -> list[subprocess.CompletedProcess]:
    """Start the K processes of a job at once and wait for every one (each must end by itself).

    Output goes to files, not pipes: a process blocked on a full pipe would miss the job's shutdown barrier.
    """
    coordinator = f"127.0.0.1:{_port()}"
    with tempfile.TemporaryDirectory() as tmp:
        files = [(open(Path(tmp) / f"{i}.out", "w+"), open(Path(tmp) / f"{i}.err", "w+")) for i in range(k)]
        procs = [subprocess.Popen(make_args(i, coordinator), cwd=ROOT, env=_env(**env), stdout=out, stderr=err,
                                  text=True) for i, (out, err) in enumerate(files)]
        done = []
        for p, (out, err) in zip(procs, files, strict=True):
            p.wait(timeout=timeout)
            out.seek(0), err.seek(0)
            done.append(subprocess.CompletedProcess(p.args, p.returncode, out.read(), err.read()))
            out.close(), err.close()
    return done


def _result(proc) -> dict:
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def test_two_processes_train_as_one_job_like_one_process():
    single = _result(subprocess.run([sys.executable, str(PROBE), "single"], cwd=ROOT, env=_env(),
                                    capture_output=True, text=True, timeout=600))
    job = [_result(p) for p in _job(lambda i, c: [sys.executable, str(PROBE), "2", str(i), c])]
    assert [r["process"] for r in job] == [0, 1]
    for r in job:
        # one job: 2 devices, one per process; each compiled step sees a global batch of 32, 16 per device
        dist = r["facts"]["distribution"]
        assert (dist["processes"], dist["devices"]) == (2, 2)
        assert r["batch"] and all(b == {"devices": 2, "shard_batch": 16, "batch": 32} for b in r["batch"])
        # the same global batches as the single process, so the same steps up to float-sum order
        np.testing.assert_allclose(r["loss"], single["loss"], rtol=1e-5)
        for a, b in zip(r["weights"], single["weights"], strict=True):
            np.testing.assert_allclose(a, b, atol=1e-5)
    np.testing.assert_array_equal(job[0]["loss"], job[1]["loss"])  # both processes hold the same model


def test_repro_run_over_two_processes_writes_one_run_folder(tmp_path):
    out = tmp_path / "results"
    procs = _job(lambda i, c: [sys.executable, "-m", "keras_repro.cli", "run", "lenet", "--profile", "smoke",
                               "--backend", "jax", "--processes", "2", "--process-id", str(i), "--coordinator", c,
                               "--out", str(out)])
    for p in procs:
        assert p.returncode == 0, p.stderr[-3000:]
    assert "process 0 writes the results" in procs[1].stderr
    folders = list((out / "lenet").iterdir())
    assert len(folders) == 1  # process 1 keeps nothing in the results
    record = json.loads((folders[0] / "run.json").read_text())
    assert record["status"] == "completed"
    dist = record["distribution"]
    assert (dist["processes"], dist["process_id"], dist["devices"]) == (2, 0, 2)
    assert dist["device_names"] == ["cpu:0 (process 0)", "cpu:2048 (process 1)"] or \
        {n.split(" ", 1)[1] for n in dist["device_names"]} == {"(process 0)", "(process 1)"}


def test_a_process_whose_peer_never_comes_ends_by_itself(tmp_path):
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "keras_repro.cli", "run", "lenet", "--profile", "smoke",
                           "--backend", "jax", "--processes", "2", "--process-id", "0", "--coordinator",
                           f"127.0.0.1:{_port()}", "--out", str(tmp_path)], cwd=ROOT,
                          env=_env(REPRO_JOIN_TIMEOUT_S="5"), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert "could not join the job" in proc.stderr.strip().splitlines()[-1]
    assert time.monotonic() - start < 120
    assert not any(tmp_path.iterdir())  # nothing written


@pytest.mark.parametrize("args, message", [
    (["--processes", "2", "--backend", "jax"], "give --coordinator HOST:PORT"),
    (["--processes", "2", "--coordinator", "127.0.0.1:1", "--backend", "tensorflow"], "keras-team/keras#20585"),
    (["--processes", "2", "--coordinator", "127.0.0.1:1", "--backend", "torch"], "not supported on the torch"),
    (["--processes", "2", "--process-id", "2", "--coordinator", "127.0.0.1:1", "--backend", "jax"],
     "--process-id must be in 0..1"),
    (["--processes", "2", "--coordinator", "127.0.0.1:1", "--devices", "2", "--backend", "jax"],
     "leave --devices out"),
    (["--process-id", "1"], "need --processes K"),
])
@pytest.mark.parametrize("installed", ["as here", "no backend installed"])
def test_options_that_cannot_form_a_job_get_one_line(tmp_path, args, message, installed):
    """A usage error is judged from the options alone, before what is installed: the same line, exit 2, on a
    machine without torch (CI) or without any backend package."""
    env = _env()
    if installed == "no backend installed":
        site = write_import_blocker(tmp_path / "site", "tensorflow", "jax", "torch")  # no backend installed
        env["PYTHONPATH"] = os.pathsep.join([str(site), str(ROOT)])
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "keras_repro.cli", "run", "lenet", "--profile", "smoke", *args,
                           "--out", str(out)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert not out.exists() or not any(out.iterdir())


def test_a_missing_backend_package_is_one_line(tmp_path):
    site = write_import_blocker(tmp_path / "site", "tensorflow", "jax", "torch")
    env = _env(PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]))
    proc = subprocess.run([sys.executable, "-m", "keras_repro.cli", "run", "lenet", "--profile", "smoke",
                           "--backend", "torch", "--out", str(tmp_path / "out")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == ["Error: backend 'torch' is not installed (pip install torch)"]


def test_a_process_whose_peer_dies_ends_with_one_line(tmp_path):
    """A peer killed mid-run (SIGKILL): JAX's distributed service aborts the survivor from C++; what the user
    sees is one line naming the cause and the file with the engine's report, and the run is not left running."""
    port = _port()
    out0, err0, err1 = tmp_path / "out0", tmp_path / "err0.txt", tmp_path / "err1.txt"
    env = _env(REPRO_HEARTBEAT_TIMEOUT_S="10")

    def start(i, err):
        return subprocess.Popen([sys.executable, "-m", "keras_repro.cli", "run", "lenet", "--profile", "smoke",
                                 "--set", "epochs=500", "--backend", "jax", "--processes", "2", "--process-id", str(i),
                                 "--coordinator", f"127.0.0.1:{port}", "--out", str(out0 if i == 0 else tmp_path / "o1")],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err.open("w"),
                                start_new_session=True)

    procs = [start(0, err0), start(1, err1)]
    try:
        deadline = time.monotonic() + 300
        while "epoch" not in err0.read_text() and time.monotonic() < deadline:  # both are training
            assert procs[0].poll() is None, err0.read_text()[-3000:]
            time.sleep(0.5)
        assert "epoch" in err0.read_text(), err0.read_text()[-3000:]
        os.killpg(procs[1].pid, 9)  # process 1 and its child
        killed = time.monotonic()
        code = procs[0].wait(timeout=180)
        assert time.monotonic() - killed < 150
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, 9)
                proc.wait()
    lines = [line for line in err0.read_text().splitlines() if line.strip()]
    assert code == 1, lines[-20:]
    last = lines[-1]
    assert last.startswith("Error: process 0: JAX ended this process: a peer of the job died"), lines[-20:]
    report = Path(last.rsplit("the engine's full report: ", 1)[1])
    assert report.is_file() and re.search(r"^F\d{4} ", report.read_text(), re.M), report.read_text()[-2000:]
    assert not any(line.startswith(("F0", "E0", "*** ", "Fatal Python")) for line in lines), lines[-20:]
    (folder,) = (out0 / "lenet").iterdir()
    from keras_repro.suite.run_record import live_status

    assert live_status(json.loads((folder / "run.json").read_text()))[0] in ("failed", "interrupted")
    report.unlink()
