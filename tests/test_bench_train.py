"""`repro bench train MODEL` as a user calls it: a fresh process, no KERAS_BACKEND, tiny sizes.

No timing assertions: speed is measured by the benchmark itself (docs/performance.md), never by unit tests.
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from conftest import REPO

FIELDS = ("model", "backend", "batch", "image_size", "channels", "classes", "precision", "devices", "jit_compile",
          "steps", "warmup", "repeats", "optimizer", "contenders", "ratio", "cpu_ratio", "ratio_rounds", "keras_twin", "twin_skipped", "torch_skipped", "machine")
CONTENDER_FIELDS = ("name", "role", "img_per_s", "img_per_s_rounds", "step_ms", "cpu_ms_per_step", "compile_s",
                    "params", "multiply_adds_per_image", "memory")


def bench(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "TF_CPP_MIN_LOG_LEVEL")}
    return subprocess.run([sys.executable, "-m", "keras_repro.cli", "bench", "train", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO, env=env)


def bench_json(*args: str) -> dict:
    proc = bench(*args, "--json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_lenet5_json_has_the_fields_and_no_ratio(backend):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed")
    result = bench_json("lenet5", "--steps", "2", "--warmup", "1", "--repeats", "1", "--batch", "4",
                        "--backend", backend)
    for key in FIELDS:
        assert key in result, key
    assert result["backend"] == backend and result["model"] == "lenet5"
    assert (result["image_size"], result["channels"], result["classes"]) == (32, 1, 10)
    assert result["ratio"] is None and "no model of this architecture" in result["twin_skipped"]  # no LeNet there
    (ours,) = result["contenders"]
    for key in CONTENDER_FIELDS:
        assert key in ours, key
    assert ours["role"] == "ours" and ours["params"] == 61_706 and ours["img_per_s"] > 0
    assert len(ours["img_per_s_rounds"]) == 1 and ours["memory"]["bytes"] > 0 and ours["memory"]["what"]
    assert result["torch_skipped"]  # torchvision has no LeNet: the reason is given


def test_resnet50_has_a_keras_applications_twin_and_a_ratio():
    proc = bench("resnet50", "--image-size", "32", "--batch", "2", "--steps", "1", "--warmup", "0", "--repeats", "1",
                 "--classes", "10", "--no-torch", "--backend", "tensorflow")
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    assert lines[-1].startswith("ratio=") and float(lines[-1].split("=")[1]) > 0
    assert "keras.applications.ResNet50" in proc.stdout and "keras_repro.models resnet50" in proc.stdout


def test_lenet5_text_output_ends_with_ratio_na():
    proc = bench("lenet5", "--steps", "1", "--warmup", "0", "--repeats", "1", "--batch", "2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1].startswith("ratio=n/a")


@pytest.mark.parametrize("args,message", [
    (["resnet51"], "'resnet51' is not one of"),
    (["lenet5", "--steps", "0"], "--steps"),
    (["lenet5", "--bogus"], "--bogus"),
    (["lenet5", "--devices", "two"], "--devices must be a positive number"),
    (["lenet5", "--data", "mnist"], "--data takes an image folder"),
    (["alexnet", "--image-size", "32", "--no-torch"], "alexnet at 32×32: input_shape must be"),
    (["resnet50", "--image-size", "16", "--no-torch"], "keras.applications.ResNet50 at 16×16"),
])
def test_bad_arguments_give_one_line_and_exit_2(args, message):
    proc = bench(*args)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:") and message in lines[0], proc.stderr


def test_the_cli_lists_the_same_models_as_the_benchmark():
    code = ("from keras_repro.data.commands import TRAIN_MODELS; from keras_repro.suite.bench_train import MODELS; "
            "assert tuple(MODELS) == TRAIN_MODELS, (tuple(MODELS), TRAIN_MODELS)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_data_option_times_the_input_pipeline_against_the_model(tmp_path):
    from keras_repro.data.bench import write_photo_folder

    folder = write_photo_folder(tmp_path / "photos", count=24, side_range=(40, 80))
    result = bench_json("resnet20", "--batch", "4", "--steps", "1", "--warmup", "0", "--repeats", "1",
                        "--backend", "tensorflow", "--data", f"folder:{folder}")
    assert result["input"]["spec"] == f"folder:{folder}" and result["input"]["img_per_s"] > 0
    faster_input = result["input"]["img_per_s"] >= result["contenders"][0]["img_per_s"]
    assert result["input"]["bound"] == ("compute" if faster_input else "input")


FAKE_TORCHVISION = '''
import torch


class _Tiny(torch.nn.Module):
    def __init__(self, num_classes):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)
        self.fc = torch.nn.Linear(4, num_classes)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).mean(dim=(2, 3)))


def resnet50(weights=None, num_classes=1000):
    assert weights is None
    return _Tiny(num_classes)
'''


def test_torch_baseline_trains_torchvisions_model_when_torchvision_is_installed(tmp_path):
    """torchvision is not in this venv: a stand-in exposes ``models.resnet50`` to run the baseline's code."""
    if importlib.util.find_spec("torch") is None:
        pytest.skip("torch is not installed")
    package = tmp_path / "torchvision"
    package.mkdir()
    (package / "__init__.py").write_text("from torchvision import models  # noqa: F401\n")
    (package / "models.py").write_text(FAKE_TORCHVISION)
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(REPO)])
    proc = subprocess.run([sys.executable, "-m", "keras_repro.cli", "bench", "train", "resnet50", "--image-size", "32",
                           "--batch", "2", "--classes", "10", "--steps", "1", "--warmup", "0", "--repeats", "1",
                           "--no-twin", "--backend", "tensorflow", "--json"],
                          capture_output=True, text=True, timeout=120, cwd=REPO, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert result["torch_skipped"] is None and result["ratio"] is None and result["twin_skipped"] == "left out (--no-twin)"
    torch_row = next(c for c in result["contenders"] if c["role"] == "torch")
    assert torch_row["name"] == "torchvision.models.resnet50" and torch_row["params"] == 3 * 9 * 4 + 4 + 4 * 10 + 10
