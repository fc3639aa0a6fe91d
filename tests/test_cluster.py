"""`repro run --dask ADDRESS|local:N`: reproductions as Dask distributed tasks (issue 13).

Every run goes through the CLI in a fresh process, as a user calls it (no KERAS_BACKEND set), on a
local cluster of 2 worker processes (``local:2``), which the command starts and closes itself.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from keras_repro.suite import cluster, results

pytest.importorskip("distributed")
pytestmark = pytest.mark.xdist_group("cluster")  # two workers and their runs need both cores at once

ROOT = Path(__file__).resolve().parents[1]
NAMES = ["logic_gates", "linear_collapse"]


def _env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("KERAS_BACKEND", "XLA_FLAGS", cluster.KILL_WORKER_ENV, "REPRO_DASK_CONNECT_TIMEOUT_S")}
    env["PYTHONPATH"] = str(ROOT)
    return {**env, **extra}


def _repro(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "keras_repro.cli", *args], cwd=cwd, env=env or _env(),
                          capture_output=True, text=True, timeout=600)


def _folder(out: Path, name: str) -> Path:
    (folder,) = (out / name).iterdir()
    return folder


def test_a_local_cluster_of_2_workers_gives_the_serial_runs_claims(tmp_path):
    serial, dask = tmp_path / "serial", tmp_path / "dask"
    proc = _repro("run", *NAMES, "--profile", "smoke", "--seed", "3", "--dask", "local:2", "--out", str(dask),
                  cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "on a local Dask cluster of 2 worker processes (2 workers, 2 threads)" in proc.stderr
    for name in NAMES:
        assert f"started  {name} on tcp://127.0.0.1:" in proc.stderr
        assert f"finished {name} on tcp://127.0.0.1:" in proc.stderr
        folder = _folder(dask, name)
        run = results.load_run(folder)  # complete: every file run.json lists is there
        results.check_tables(run)
        assert run.status == results.COMPLETED
        assert run.info["cluster"]["engine"] == "dask" and run.info["cluster"]["worker"].startswith("tcp://")
        assert not [p for p in (dask / name).iterdir() if p.name.startswith(".")]  # no staging folder left
    # one verdict table at the end, a row per claim of both reproductions
    assert proc.stdout.count("reproduction  ") == 1
    assert all(name in proc.stdout for name in NAMES)
    proc = _repro("run", *NAMES, "--profile", "smoke", "--seed", "3", "--out", str(serial), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in NAMES:
        a, b = results.load_run(_folder(serial, name)), results.load_run(_folder(dask, name))
        comparison = results.compare_runs(a, b)
        assert comparison.verdict_changes.empty and not comparison.measured_changes()
        assert all(t.identical() for t in comparison.tables)
        assert (a.path / "claims.csv").read_text() == (b.path / "claims.csv").read_text()


def test_a_worker_that_dies_fails_its_reproduction_and_the_others_go_on(tmp_path):
    # test-only fault injection: linear_collapse's task ends its worker process (as an OOM kill would)
    proc = _repro("run", *NAMES, "--profile", "smoke", "--dask", "local:2", "--out", str(tmp_path), cwd=tmp_path,
                  env=_env(**{cluster.KILL_WORKER_ENV: "linear_collapse"}))
    assert proc.returncode == 1, proc.stderr[-3000:]
    lines = proc.stderr.strip().splitlines()
    # tried once more on another worker, never more often
    assert sum("started  linear_collapse on" in ln for ln in lines) == 2
    (failed,) = [ln for ln in lines if "finished linear_collapse" in ln]
    assert "failed: worker process died (2 workers tried it); no run folder came back; marked failed in" in failed
    assert lines[-1] == "Error: 1 reproduction(s) failed: linear_collapse"
    info = json.loads((_folder(tmp_path, "linear_collapse") / "run.json").read_text())
    assert info["status"] == "failed" and info["claims"] == ["C1.7"] and "worker process died" in info["error"]
    assert results.load_run(_folder(tmp_path, "linear_collapse")).status == results.FAILED
    assert results.load_run(_folder(tmp_path, "logic_gates")).status == results.COMPLETED
    assert "logic_gates" in proc.stdout and "linear_collapse" not in proc.stdout


@pytest.mark.parametrize("args, message", [
    (["--jobs", "2"], "Error: --dask (runs on a Dask cluster) and --jobs do not combine"),
    (["--processes", "2"], "Error: --dask (runs on a Dask cluster) and --processes do not combine"),
    (["--log-dir", "logs"], "Error: --log-dir does not combine with --dask (the logs would stay on the workers)"),
])
def test_dask_refuses_options_it_does_not_combine_with(tmp_path, args, message):
    proc = _repro("run", "xor", "--dask", "local:2", *args, "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.strip() == message
    assert not (tmp_path / "out").exists() and not (tmp_path / "logs").exists()


@pytest.mark.parametrize("address", ["local:0", "local:two", "not an address"])
def test_a_bad_address_gets_one_line(tmp_path, address):
    proc = _repro("run", "xor", "--dask", address, "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith("Error: --dask ") and repr(address) in proc.stderr


def test_without_dask_one_line_says_what_to_install(tmp_path):
    code = ("import sys; sys.modules['distributed'] = None\n"  # as if Dask distributed were not installed
            "from keras_repro.cli import main; main(['run', 'xor', '--dask', 'local:2'])")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=_env(), capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "Error: --dask needs Dask distributed: pip install 'keras-repro[dask]'"


def test_an_unreachable_scheduler_gets_one_line(tmp_path):
    proc = _repro("run", "xor", "--profile", "smoke", "--dask", "tcp://127.0.0.1:9", "--out", str(tmp_path),
                  cwd=tmp_path, env=_env(REPRO_DASK_CONNECT_TIMEOUT_S="2"))
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith(
        "Error: cannot reach the Dask scheduler at tcp://127.0.0.1:9: "), proc.stderr
    assert not (tmp_path / "xor").exists()


def test_the_cluster_module_imports_neither_keras_nor_dask():
    code = ("import sys, keras_repro.suite.cluster\n"
            "print(sorted(m for m in ('keras', 'tensorflow', 'jax', 'torch', 'dask', 'distributed') "
            "if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stderr


def test_a_sent_folder_is_published_under_a_free_run_id_and_stays_inside_it(tmp_path):
    info = {"reproduction": "xor", "run_id": "20260101-000000-smoke-s0", "status": "failed", "profile": "smoke",
            "seed": 0, "claims": ["C1.3"], "started": "x", "error": "boom"}
    sent = {"run.json": json.dumps(info).encode(), "sub/table.csv": b"a\n1\n"}
    first = cluster.publish(tmp_path, "xor", info["run_id"], sent, {"cluster": {"engine": "dask"}})
    second = cluster.publish(tmp_path, "xor", info["run_id"], sent, {})
    assert first.name == info["run_id"] and second.name == f"{info['run_id']}-2"
    assert json.loads((second / "run.json").read_text())["run_id"] == second.name
    assert json.loads((first / "run.json").read_text())["cluster"] == {"engine": "dask"}
    assert (first / "sub" / "table.csv").read_bytes() == b"a\n1\n"
    for bad in ("../evil", "/etc/evil", "a/../../evil"):
        with pytest.raises(results.ResultsError, match="outside its run folder"):
            cluster.publish(tmp_path, "xor", "other", {bad: b"x"}, {})
    assert sorted(p.name for p in (tmp_path / "xor").iterdir()) == [first.name, second.name]
    assert not (tmp_path / "evil").exists()


def test_a_run_that_fails_on_its_worker_comes_back_marked_failed(tmp_path):
    info = {"reproduction": "xor", "run_id": "20260101-000000-smoke-s0", "status": "failed", "profile": "smoke",
            "seed": 0, "claims": ["C1.3"], "started": "x", "error": "run process died (killed by signal 9)"}
    reply = {"name": "xor", "code": -9, "status": "failed", "run_id": info["run_id"], "seconds": 4.0,
             "files": {"run.json": json.dumps(info).encode()}, "tail": ["epoch 1"], "worker": "tcp://w:1"}
    task = cluster.Task("xor")
    cluster._settle(task, reply, tmp_path, "tcp://s:8786")
    assert task.outcome == f"failed (exit status -9; see {tmp_path / 'xor' / info['run_id'] / 'run.json'})"
    run = results.load_run(task.folder)
    assert run.status == results.FAILED and run.info["cluster"]["worker"] == "tcp://w:1"
    # no folder came back (the run stopped before it made one): said in one line, with the log's last line
    task = cluster.Task("xor")
    cluster._settle(task, {**reply, "code": 2, "status": None, "run_id": None, "files": {},
                           "tail": ["...", "Error: bad things"]}, tmp_path / "other", "tcp://s:8786")
    assert task.outcome == "failed before a run folder existed (exit status 2): Error: bad things"
    assert task.folder is None and not (tmp_path / "other").exists()
