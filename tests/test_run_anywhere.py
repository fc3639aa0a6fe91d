"""Every reproduction runs where TensorFlow is absent (JAX), and every full profile builds and steps.

These run the installed ``repro`` script in fresh processes, as a user would, split into shards so
pytest-xdist can spread them over the CI machine's cores.
"""
from __future__ import annotations

import json

import pandas as pd
import pytest

from conftest import REPO, balanced_shards, write_import_blocker
from test_backends import installed, repro, user_env

NAMES = sorted(p.stem for p in (REPO / "reproductions").glob("*.py") if not p.stem.startswith("_"))
SHARDS = 4
# Seconds each run took in these tests (CI-like run, 2026-12-07; the rest took about 10 or less), so that
# the shards take about as long as each other: split alphabetically, one JAX shard took 315 s, another 124.
SMOKE_ON_JAX_S = {"googlenet_inception": 150, "vgg_progressive": 105, "resnext_cardinality": 70,
                  "resnet_degradation": 45, "alexnet": 32, "overfitting_levers": 30, "conv_arithmetic": 20,
                  "adam_sweep": 20, "dropout": 17, "dropconnect": 16, "vanishing_gradients": 16,
                  "autoencoder_pca": 16, "adaptive_steps": 16, "momentum_methods": 15}
FULL_DRY_RUN_S = {"vgg_progressive": 90, "super_resolution": 63, "resnet_degradation": 49,
                  "resnext_cardinality": 46, "autoencoder_pca": 44, "googlenet_inception": 33, "adam_sweep": 25,
                  "universal_approximation": 23, "segmentation": 20, "overfitting_levers": 18,
                  "vanishing_gradients": 17, "localization": 14}


OTHERS_S = 8  # a reproduction not listed


def shards(seconds: dict[str, float]) -> list[list[str]]:
    return balanced_shards({name: seconds.get(name, OTHERS_S) for name in NAMES}, SHARDS)


@pytest.fixture(scope="module")
def no_tensorflow_env(tmp_path_factory):
    # as on a GPU machine with JAX and no TensorFlow
    site = write_import_blocker(tmp_path_factory.mktemp("no_tensorflow"), "tensorflow", "tensorflow_datasets",
                                "tf_keras")
    return user_env(PYTHONPATH=str(site))


def completed_runs(out, names) -> dict[str, dict]:
    runs = {}
    for name in names:
        (run_json,) = out.glob(f"{name}/*/run.json")
        runs[name] = json.loads(run_json.read_text())
    return runs


@pytest.mark.parametrize("seconds", [SMOKE_ON_JAX_S, FULL_DRY_RUN_S])
def test_the_shards_run_every_reproduction_once_and_take_about_as_long(seconds):
    split = shards(seconds)
    assert sorted(n for names in split for n in names) == NAMES and len(split) == SHARDS
    assert set(seconds) <= set(NAMES)  # a renamed reproduction would silently lose its weight
    # with a dozen small runs to even them out, the shards differ by about one small run (split alphabetically,
    # as before, they differed by 113 s on JAX and 29 s in the dry runs)
    totals = [sum(seconds.get(n, OTHERS_S) for n in names) for names in split]
    assert max(totals) - min(totals) <= 2 * OTHERS_S, totals


def test_the_blocker_blocks(no_tensorflow_env):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", "import tensorflow"], capture_output=True, text=True,
                          env=no_tensorflow_env)
    assert proc.returncode != 0 and "No module named 'tensorflow'" in proc.stderr


@pytest.mark.skipif(not installed("jax"), reason="jax is not installed")
@pytest.mark.parametrize("k", range(SHARDS))
def test_smoke_on_jax_without_tensorflow(k, no_tensorflow_env, tmp_path):
    names = shards(SMOKE_ON_JAX_S)[k]
    proc = repro("run", *names, "--backend", "jax", "--profile", "smoke", "--out", str(tmp_path),
                 env=no_tensorflow_env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    for name, info in completed_runs(tmp_path, names).items():
        assert info["status"] == "completed" and info["backend"] == "jax", name
        assert "tensorflow" not in info["frameworks_loaded"], name


@pytest.mark.skipif(not installed("torch"), reason="torch is not installed (not in the test extra: its wheels are large)")
@pytest.mark.parametrize("k", range(SHARDS))
def test_smoke_on_torch(k, tmp_path):
    names = shards(SMOKE_ON_JAX_S)[k]
    proc = repro("run", *names, "--backend", "torch", "--profile", "smoke", "--out", str(tmp_path), timeout=1800)
    assert proc.returncode == 0, proc.stderr[-4000:]
    for name, info in completed_runs(tmp_path, names).items():
        assert info["status"] == "completed" and info["backend"] == "torch", name


@pytest.mark.parametrize("k", range(SHARDS))
def test_full_profile_dry_run(k, tmp_path):
    """`repro run NAME --profile full --dry-run`: full config, data of the real shape, full-size models, a
    few training batches, no verdicts."""
    names = shards(FULL_DRY_RUN_S)[k]
    proc = repro("run", *names, "--profile", "full", "--dry-run", "--out", str(tmp_path), timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    for name, info in completed_runs(tmp_path, names).items():
        assert info["status"] == "completed" and info["profile"] == "full" and info["dry_run"], name
        claims = pd.read_csv(tmp_path / name / info["run_id"] / "claims.csv")
        assert set(claims["verdict"]) == {"inconclusive"}, name
        assert (claims["reason"] == "dry run").all(), name


def test_absent_dataset_is_one_line_and_inconclusive_claims(tmp_path):
    """Offline and not prepared: one line before any training, the claims recorded as inconclusive."""
    proc = repro("run", "lenet", "--profile", "smoke", "--set", "dataset=tfds:mnist", "--set",
                 "data_dir=" + str(tmp_path / "no_data"), "--out", str(tmp_path / "out"),
                 env=user_env(KERAS_REPRO_OFFLINE="1"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines() if "dataset unavailable" in line]
    assert len(lines) == 1 and "'mnist' is not prepared" in lines[0] and "digits" in lines[0]
    assert "epoch" not in proc.stderr  # nothing trained
    (run_json,) = (tmp_path / "out").glob("lenet/*/run.json")
    info = json.loads(run_json.read_text())
    assert info["status"] == "completed" and "not prepared" in info["dataset_unavailable"]
    claims = pd.read_csv(run_json.parent / "claims.csv")
    assert list(claims["verdict"]) == ["inconclusive"] and list(claims["reason"]) == ["dataset unavailable"]
    assert claims["note"][0].startswith("dataset unavailable: ")
    report = repro("report", "--results-dir", str(tmp_path / "out"))
    assert report.returncode == 0 and "C5.2" in report.stdout and "inconclusive" in report.stdout
