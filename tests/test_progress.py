"""Progress a user sees (issue 15): position in the plan and time left, a bar on a terminal, plain
throttled lines elsewhere, --quiet and --verbose. The CLI runs in a fresh process, as a user calls it."""
from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _env():
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "XLA_FLAGS")}
    env["PYTHONPATH"] = str(ROOT)
    return env


def test_runtime_shows_the_position_in_the_plan_and_the_time_left():
    import keras

    from keras_repro.suite.runtime import Runtime

    lines = []
    runtime = Runtime(log=lines.append)
    runtime.plan(3, "networks")
    x, y = np.zeros((8, 2), "float32"), np.zeros((8,), "int32")
    for _ in range(3):
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, activation="softmax")])
        model.compile("sgd", "sparse_categorical_crossentropy")
        runtime.fit(model, x, y, epochs=2, batch_size=4, label="net")
    assert any(line.startswith("1/3 net: epoch 2/2") for line in lines), lines
    assert any(line.startswith("networks 1/3 done; about ") and line.endswith(" left") for line in lines)
    assert any(line.startswith("networks 2/3 done") for line in lines)
    assert not any(line.startswith("networks 3/3 done") for line in lines)  # nothing left to announce


def test_quiet_runtime_logs_nothing_and_verbose_logs_every_epoch():
    import keras

    from keras_repro.suite.runtime import Runtime

    x, y = np.zeros((8, 2), "float32"), np.zeros((8,), "int32")
    for verbosity, expected in ((0, 0), (2, 3)):
        lines = []
        runtime = Runtime(log=lines.append, verbosity=verbosity)
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, activation="softmax")])
        model.compile("sgd", "sparse_categorical_crossentropy")
        runtime.fit(model, x, y, epochs=3, batch_size=4)
        assert len([ln for ln in lines if "epoch" in ln]) == expected, lines


def test_a_terminal_gets_a_redrawn_bar_and_a_pipe_gets_lines(tmp_path):
    # on a terminal: one status line redrawn in place (carriage returns) with the plan's position
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "keras_repro.cli", "run", "resnet_degradation", "--profile",
                             "smoke", "--set", "epochs=3", "--out", str(tmp_path / "tty")], cwd=ROOT,
                            env={**_env(), "COLUMNS": "200"},
                            stdout=subprocess.PIPE, stderr=follower, text=True)
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    proc.wait(timeout=300)
    os.close(leader)
    text = seen.decode(errors="replace")
    assert proc.returncode == 0, text[-2000:]
    assert "\r\x1b[K" in text and "] epoch 1/3" in text and "left in this fit" in text
    assert "networks 1/4 done; about" in text
    # in a pipe (CI): plain lines, no carriage returns, still the position in the plan
    piped = subprocess.run([sys.executable, "-m", "keras_repro.cli", "run", "resnet_degradation", "--profile",
                            "smoke", "--out", str(tmp_path / "pipe")], cwd=ROOT, env=_env(), capture_output=True,
                           text=True, timeout=300)
    assert piped.returncode == 0, piped.stderr[-2000:]
    assert "\r" not in piped.stderr and "networks 1/4 done; about" in piped.stderr
    assert "4/4 residual-14" in piped.stderr


def test_quiet_prints_the_verdict_table_only(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "keras_repro.cli", "run", "logic_gates", "--profile", "smoke",
                           "--quiet", "--out", str(tmp_path)], cwd=ROOT, env=_env(), capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stderr.strip() == ""
    assert "C1.2" in proc.stdout or "logic_gates" in proc.stdout
    both = subprocess.run([sys.executable, "-m", "keras_repro.cli", "run", "logic_gates", "-q", "-v"], cwd=ROOT,
                          env=_env(), capture_output=True, text=True, timeout=120)
    assert both.returncode == 2 and "exclude each other" in both.stderr


def test_log_dir_writes_csv_and_tensorboard_logs_per_trained_model(tmp_path):
    logs = tmp_path / "logs"
    proc = subprocess.run([sys.executable, "-m", "keras_repro.cli", "run", "lenet", "--profile", "smoke",
                           "--log-dir", str(logs), "--out", str(tmp_path / "runs")], cwd=ROOT, env=_env(),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (run_logs,) = list((logs / "lenet").iterdir())
    (run_folder,) = list((tmp_path / "runs" / "lenet").iterdir())
    assert run_logs.name == run_folder.name  # the logs are named by the run they belong to
    csvs = sorted(run_logs.glob("*.csv"))
    assert csvs and csvs[0].read_text().splitlines()[0].startswith("epoch,")
    import importlib.util
    import json

    record = json.loads((run_folder / "run.json").read_text())
    assert record["training_logs"] == str(run_logs)
    if importlib.util.find_spec("tensorboard") is not None:
        assert list((run_logs / "tensorboard").rglob("events.out.tfevents.*"))
    else:  # said once, in the output and in run.json; the CSV logs are still there
        assert "pip install tensorboard" in record["tensorboard_skipped"] and "tensorboard" in proc.stderr
    bad = subprocess.run([sys.executable, "-m", "keras_repro.cli", "run", "lenet", "--profile", "smoke",
                          "--log-dir", "/proc/no/such", "--out", str(tmp_path / "runs")], cwd=ROOT, env=_env(),
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and len(bad.stderr.strip().splitlines()) == 1
