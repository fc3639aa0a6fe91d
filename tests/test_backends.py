"""`repro` as a user calls it: the installed console script, a fresh process, no KERAS_BACKEND set."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

REPRO = Path(sys.executable).with_name("repro")


def user_env(**extra: str) -> dict[str, str]:
    """The environment of a user's shell: nothing Keras-specific prepared."""
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "TF_CPP_MIN_LOG_LEVEL")}
    return {**env, **extra}


def repro(*args: str, cwd: Path = REPO, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    command = [str(REPRO)] if REPRO.exists() else [sys.executable, "-m", "keras_repro.cli"]
    return subprocess.run(command + list(args), capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env=env or user_env())


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@pytest.mark.parametrize("backend", ["jax", "torch", "tensorflow"])
def test_backend_flag_from_a_fresh_shell(backend, tmp_path):
    if not installed(backend):
        pytest.skip(f"{backend} is not installed")
    proc = repro("run", "neuron_hyperplane", "--backend", backend, "--profile", "smoke", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run_json,) = tmp_path.glob("neuron_hyperplane/*/run.json")
    info = json.loads(run_json.read_text())
    assert info["backend"] == backend and info["status"] == "completed"


def test_importing_the_package_does_not_import_keras():
    code = ("import sys, keras_repro, keras_repro.cli\n"
            "assert 'keras' not in sys.modules and 'tensorflow' not in sys.modules, sorted(sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=user_env(), cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.parametrize("order", ["keras_repro first", "keras first"])
def test_saved_models_load_after_import_keras_repro(order, tmp_path):
    """Apps: `import keras_repro` registers every custom object, whichever of the two comes first."""
    imports = "import keras_repro, keras" if order == "keras_repro first" else "import keras, keras_repro"
    code = f"""
{imports}
from keras_repro.layers import DropConnect
model = keras.Sequential([keras.Input((4,)), DropConnect(3, keep_prob=0.5)])
model.save({str(tmp_path / 'm.keras')!r})
"""
    load = f"""
{imports}
model = keras.saving.load_model({str(tmp_path / 'm.keras')!r}, safe_mode=True)
assert type(model.layers[0]).__name__ == "DropConnect"
"""
    for snippet in (code, load):
        proc = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True,
                              env=user_env(KERAS_BACKEND="jax"), cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.parametrize("first", ["from keras_repro.layers import DropConnect",
                                   "import keras_repro.layers.regularization",
                                   "from keras_repro.models import resnext",
                                   "import keras_repro.losses"])
def test_a_program_can_start_with_any_public_module(first):
    """A fresh program whose first import is one of the package's modules (which imports Keras, whose import
    registers every module): `from keras_repro.layers import DropConnect` failed with a circular ImportError."""
    code = f"""
{first}
import keras
for name in ("DropConnect", "GroupedConv2D", "ClassicDropout"):
    assert keras.saving.get_registered_object(f"keras_repro>{{name}}") is not None, name
"""
    backend = "jax" if installed("jax") else "tensorflow"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=user_env(KERAS_BACKEND=backend), cwd=REPO.parent)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_show_lists_preconditions_and_the_smallest_effect(tmp_path):
    proc = repro("show", "gd_variants", "--results-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "precondition: full-batch GD does not oscillate at the control step" in proc.stdout
    assert "steep_flip_fraction_gd_control == 0" in proc.stdout
    proc = repro("show", "super_resolution", "--results-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "effect: 95% interval of psnr_gain_db_per_seed over seeds above 0" in proc.stdout
    assert "smallest effect of interest is 0.1" in proc.stdout


def test_full_batch_training_runs_on_torch(tmp_path):
    """full_batch_fit runs many steps per execution; PyTorch's trainer allows one (it refused: a bug)."""
    if not installed("torch"):
        pytest.skip("torch is not installed")
    proc = repro("run", "linear_collapse", "--backend", "torch", "--profile", "smoke", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (run_json,) = tmp_path.glob("linear_collapse/*/run.json")
    record = json.loads(run_json.read_text())
    assert record["backend"] == "torch"
    # one intra-op thread on a CPU (2 made LeNet-5 10x slower); recorded with the run
    assert record["torch_threads"] == 1
