"""`repro run --resume RUN`: an interrupted resumable run continues in its own folder (issue 15).

The fit-level test checks that a fit cut off after some epochs and resumed ends with the same weights and
history as one that was never cut off. The CLI tests kill a real `repro run` (SIGKILL, as a machine that
goes away would) and resume it as a user would, in fresh processes with no environment prepared.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "XLA_FLAGS")}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def _repro(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "keras_repro.cli", *args], cwd=ROOT, env=_env(),
                          capture_output=True, text=True, timeout=timeout)


# -- the fit: resumed == never interrupted ---------------------------------------------------------

class _Cut(Exception):
    pass


def _fit(backup_dir, epochs, cut_after=None):
    import keras

    from keras_repro.suite.runtime import Runtime

    class CutAfter(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if cut_after is not None and epoch + 1 == cut_after:
                raise _Cut()

    keras.utils.set_random_seed(7)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(0.01), "mse")
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    y = x @ np.arange(1, 5, dtype="float32")[:, None]
    runtime = Runtime(log=lambda message: None, verbosity=0)
    runtime.backup_dir = backup_dir
    history = runtime.fit(model, x, y, batch_size=16, epochs=epochs, shuffle=False, label="net",
                          callbacks=[CutAfter()])
    return model, history, runtime


def test_a_resumed_fit_ends_as_an_uninterrupted_one(tmp_path):
    whole, whole_history, _ = _fit(tmp_path / "a", 6)
    with pytest.raises(_Cut):
        _fit(tmp_path / "b", 6, cut_after=4)
    state = json.loads(next((tmp_path / "b").glob("*/training_metadata.json")).read_text())
    assert state["epoch"] == 4
    resumed, history, runtime = _fit(tmp_path / "b", 6)
    assert runtime.facts["fits_restored"] == 1
    assert history.epoch == list(range(6))
    np.testing.assert_allclose(history.history["loss"], whole_history.history["loss"], rtol=1e-5)
    for a, b in zip(whole.get_weights(), resumed.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # a finished fit trains no more when the run is resumed again: same weights, whole history
    again, history, runtime = _fit(tmp_path / "b", 6)
    assert history.history["loss"] == pytest.approx(whole_history.history["loss"], rel=1e-5)
    for a, b in zip(resumed.get_weights(), again.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)


# -- the command: kill a run, resume it ------------------------------------------------------------

def _start_and_kill(out: Path, *extra) -> Path:
    proc = subprocess.Popen([sys.executable, "-m", "keras_repro.cli", "run", "lenet", "--profile", "smoke",
                             "--set", "epochs=40", "--out", str(out), *extra], cwd=ROOT, env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:
            states = list(out.glob("lenet/*/.resume/*/training_metadata.json"))
            if states:
                try:
                    if json.loads(states[0].read_text())["epoch"] >= 2:
                        break
                except (ValueError, OSError):
                    pass
            if proc.poll() is not None:
                pytest.fail(f"the run ended (rc {proc.returncode}) before it could be killed")
            time.sleep(0.2)
        else:
            pytest.fail("no training state after 240 s")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    (folder,) = (out / "lenet").iterdir()
    return folder


@pytest.mark.xdist_group("resume")
def test_a_killed_run_resumes_in_its_own_folder(tmp_path):
    out, logs = tmp_path / "results", tmp_path / "logs"
    folder = _start_and_kill(out, "--resumable")
    killed_at = json.loads(next(folder.glob(".resume/*/training_metadata.json")).read_text())["epoch"]
    before = json.loads((folder / "run.json").read_text())
    assert before["status"] == "running" and before["resumable"] is True

    proc = _repro("run", "--resume", str(folder), "--log-dir", str(logs), "-q")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert [p.name for p in (out / "lenet").iterdir()] == [folder.name]  # the same folder, no new one
    info = json.loads((folder / "run.json").read_text())
    assert info["status"] == "completed" and info["run_id"] == before["run_id"]
    assert info["started"] == before["started"] and info["config"]["epochs"] == 40
    (attempt,) = info["resumed"]
    assert attempt["status"] == "interrupted" and "killed" in attempt["error"]
    assert info["fits_restored"] == 1
    assert not (folder / ".resume").exists()  # only results stay
    assert (folder / "claims.csv").is_file() and set(info["verdicts"]) == set(info["claims"])
    # the cut fit went on from where it stopped: its log starts at the first epoch not yet finished
    (log,) = logs.glob("lenet/*/*.csv")
    epochs = [int(line.split(",")[0]) for line in log.read_text().splitlines()[1:]]
    assert epochs[0] >= killed_at and epochs[-1] == 39 and len(epochs) == 40 - epochs[0]

    proc = _repro("run", "--resume", str(folder))
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [f"Error: {folder} already completed: there is nothing to resume"]


@pytest.mark.parametrize("args, message, code", [
    (["--profile", "default"], "--resume continues the run as recorded (profile smoke); leave out --profile default",
     2),
    (["--set", "epochs=3"], "--resume takes the run's recorded settings; leave out --set", 2),
    (["xor"], "is a run of 'lenet'; leave out the names or give that one", 2),
    (["--jobs", "2"], "leave out --all, --jobs, --dask and --processes", 2),
])
def test_resume_refuses_options_that_disagree_with_the_run(tmp_path, args, message, code):
    folder = _dead_run(tmp_path, resumable=True)
    names = [a for a in args if not a.startswith("-") and "=" not in a and a not in ("default", "2")]
    options = [a for a in args if a not in names]
    proc = _repro("run", *names, "--resume", str(folder), *options)
    assert proc.returncode == code
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr


def _dead_run(tmp_path: Path, *, resumable: bool, config_change: dict | None = None) -> Path:
    """A lenet smoke run folder whose process died: the running record of a pid that no longer exists."""
    proc = _repro("run", "lenet", "--profile", "smoke", "--out", str(tmp_path / "made"), "-q")
    assert proc.returncode == 0, proc.stderr[-2000:]
    (made,) = (tmp_path / "made" / "lenet").iterdir()
    info = json.loads((made / "run.json").read_text())
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    for key in ("finished", "seconds", "tables", "artifacts", "verdicts"):
        info.pop(key, None)
    info.update(status="running", pid=dead.pid, resumable=resumable)
    info["config"].update(config_change or {})
    (made / "run.json").write_text(json.dumps(info))
    return made


def test_resume_says_why_a_run_cannot_be_resumed(tmp_path):
    folder = _dead_run(tmp_path / "a", resumable=False)
    proc = _repro("run", "--resume", str(folder))
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"Error: {folder} kept no training state (runs keep it on the full profile or with --resumable): "
        "start it again with `repro run lenet`"]

    folder = _dead_run(tmp_path / "b", resumable=True, config_change={"epochs": 7})
    proc = _repro("run", "--resume", str(folder))
    assert proc.returncode == 1
    (line,) = proc.stderr.strip().splitlines()
    assert "this code makes another config than" in line and "(epochs: 7 then, 1 now)" in line
    assert json.loads((folder / "run.json").read_text())["status"] == "running"  # untouched

    proc = _repro("run", "--resume", str(tmp_path / "nowhere"))
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"Error: --resume {tmp_path / 'nowhere'}: no such run folder (give its path, or NAME@RUN_ID under results)"]
