"""Several devices and mixed precision: `repro run --devices N --precision P` (issue 13).

Every check runs in a fresh process with its devices prepared before Keras is imported: 4 simulated
JAX CPU devices (``--xla_force_host_platform_device_count``), 2 logical TensorFlow CPU devices.
``scale_probe.py`` trains LeNet-5 on 1408 digits (44 full batches of 32, so no example is left out)
once on one device and once data-parallel, same seed and global batch.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PROBE = Path(__file__).with_name("scale_probe.py")
CNN_REPRODUCTIONS = ["lenet", "alexnet", "vgg_progressive", "googlenet_inception", "resnet_degradation",
                     "resnext_cardinality", "super_resolution", "segmentation", "localization"]


def _env():
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "XLA_FLAGS")}
    env["PYTHONPATH"] = str(ROOT)
    return env


def _probe(backend: str, devices: int, *extra: str) -> dict:
    proc = subprocess.run([sys.executable, str(PROBE), backend, str(devices), *extra], cwd=ROOT, env=_env(),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def _repro(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "keras_repro.cli", *args], cwd=cwd, env=_env(),
                          capture_output=True, text=True, timeout=900)


# Same seed, same global batch, same examples: data parallelism only changes the order of the float
# sums (gradients reduced over devices), so two epochs agree to float32 round-off.
LOSS_RTOL = 1e-5
WEIGHT_ATOL = 1e-5


def test_jax_data_parallel_over_4_devices_matches_one_device_and_shards_the_batch():
    out = _probe("jax", 4)
    one, many = out["one"], out["many"]
    np.testing.assert_allclose(many["loss"], one["loss"], rtol=LOSS_RTOL)
    assert out["max_weight_diff"] < WEIGHT_ATOL
    # inside the compiled train step each device holds 8 of the 32 examples; variables are replicated
    assert many["batch"] and all(b == {"devices": 4, "shard_batch": 8, "batch": 32} for b in many["batch"])
    assert many["variable"] == {"devices": 4, "replicated": True}
    assert one["batch"] == [{"devices": 1, "shard_batch": 32, "batch": 32}]
    assert many["facts"]["distribution"]["devices"] == 4
    assert many["facts"]["distribution"]["engine"].startswith("keras.distribution.DataParallel")


def test_tensorflow_mirrored_over_2_logical_cpus_matches_one_device():
    out = _probe("tensorflow", 2)
    one, many = out["one"], out["many"]
    np.testing.assert_allclose(many["loss"], one["loss"], rtol=LOSS_RTOL)
    assert out["max_weight_diff"] < WEIGHT_ATOL
    assert {"devices": 2, "shard_batch": 16} in many["batch"]  # each replica traces a batch of 16
    assert many["variable"] == {"devices": 2, "kind": "MirroredVariable"}
    assert many["facts"]["distribution"]["engine"].startswith("tf.distribute.MirroredStrategy")


def test_mixed_float16_scales_the_loss_and_keeps_float32_variables():
    out = _probe("jax", 2, "mixed_float16", "1")
    for run in (out["one"], out["many"]):
        assert run["optimizer"] == "LossScaleOptimizer"
        assert run["variable_dtype"] == "float32" and run["last_compute_dtype"] == "float16"  # the convolutions
        assert run["head_compute_dtype"] == "float32"  # the softmax and the loss in float32 (output_dtype)
        assert np.isfinite(run["loss"]).all()
    np.testing.assert_allclose(out["many"]["loss"], out["one"]["loss"], rtol=1e-3)  # float16 round-off


def test_cli_records_the_distribution_and_compare_shows_it(tmp_path):
    proc = _repro("run", "lenet", "--profile", "smoke", "--backend", "jax", "--devices", "4",
                  "--precision", "mixed_bfloat16", "--out", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    # 1438 training images in batches of 32: the last batch of 30 loses 2; 359 test images lose 3
    assert proc.stderr.count("left out") == 1
    (folder,) = (tmp_path / "lenet").iterdir()
    info = json.loads((folder / "run.json").read_text())
    assert info["status"] == "completed"
    assert info["precision"] == "mixed_bfloat16"
    assert info["distribution"]["devices"] == 4 and len(info["distribution"]["device_names"]) == 4
    assert info["distribution"]["processes"] == 1
    assert info["examples_left_out_per_fit"] == 5
    shown = _repro("compare", str(folder), str(folder), cwd=tmp_path)
    header = " ".join(shown.stdout.split())  # compare wraps its header to the terminal's width
    assert "4 devices (keras.distribution.DataParallel), mixed_bfloat16" in header


def test_bad_device_requests_fail_in_one_line_before_any_folder(tmp_path):
    # a global batch of 32 does not divide over 3 devices
    proc = _repro("run", "lenet", "--backend", "jax", "--devices", "3", "--out", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        ("Error: lenet: batch_size 32 (the global batch) does not divide over 3 devices; choose a multiple of 3 "
         "with --set batch_size=...")]
    # the user's own XLA_FLAGS fixed 2 simulated devices: 4 cannot be had
    proc = subprocess.run([sys.executable, "-m", "keras_repro.cli", "run", "lenet", "--backend", "jax", "--devices",
                           "4", "--out", str(tmp_path)], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                          env={**_env(), "XLA_FLAGS": "--xla_force_host_platform_device_count=2"})
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["Error: --devices 4: only 2 device(s) are available on jax "
                                                "(cpu:0, cpu:1)"]
    for bad in ("0", "two"):
        proc = _repro("run", "lenet", "--devices", bad, "--out", str(tmp_path), cwd=tmp_path)
        assert proc.returncode == 2 and proc.stderr.startswith("Error: --devices must be"), proc.stderr
    assert not any(tmp_path.iterdir())


def test_torch_refuses_several_devices(tmp_path):
    proc = _repro("run", "lenet", "--backend", "torch", "--devices", "2", "--out", str(tmp_path), cwd=tmp_path)
    assert proc.returncode != 0 and len(proc.stderr.strip().splitlines()) == 1
    assert "not supported on the torch backend" in proc.stderr or "not installed" in proc.stderr
    assert not any(tmp_path.iterdir())


def test_hand_stepped_reproductions_stay_on_one_device(tmp_path):
    from keras_repro.suite import registry

    hand = {r.name for r in registry.all_reproductions() if r.single_device}
    assert {"momentum_methods", "adaptive_steps"} <= hand
    proc = _repro("show", "momentum_methods", "--results-dir", str(tmp_path), cwd=tmp_path)
    assert "devices: one (steps optimisers by hand; repro run --devices is ignored for it)" in proc.stdout


# lenet (both backends) and resnet_degradation (TensorFlow) train their smoke budgets in bfloat16; the
# others build their full smoke models and train a few batches of every fit (--dry-run), which is what
# a dtype mismatch or a non-finite loss would break. (bfloat16 is emulated on CPUs: XLA's CPU code for
# bfloat16 convolutions is slow, a trained JAX smoke of resnet_degradation took minutes here.)
BF16_SHARDS = [(["lenet"], ()), (["resnet_degradation"], ("tensorflow",)), (["alexnet", "localization"], ()),
               (["vgg_progressive"], ()), (["googlenet_inception", "resnext_cardinality"], ()),
               (["super_resolution", "segmentation"], ())]
# Every shard runs on TensorFlow. On JAX the dry-run shards exercise the same code (policy, layers, losses,
# the runtime's JAX path) as alexnet+localization's; vgg_progressive and googlenet+resnext there took 2–4
# minutes each (XLA's CPU bfloat16 convolutions), so on JAX their models (VGG grown and with a frozen
# backbone, ResNeXt's grouped convolutions, GoogLeNet with auxiliary heads) train a few steps in
# test_models_bf16.py instead, which checks dtypes as well as finiteness.
JAX_BF16_SKIPPED = (["vgg_progressive"], ["googlenet_inception", "resnext_cardinality"])
BF16_CASES = [(shard, trained_on, backend) for shard, trained_on in BF16_SHARDS for backend in ("jax", "tensorflow")
              if not (backend == "jax" and shard in JAX_BF16_SKIPPED)]


@pytest.mark.parametrize(("shard", "trained_on", "backend"), BF16_CASES,
                         ids=["+".join(shard) + ("-trained" if backend in trained_on or shard == ["lenet"] else "")
                              + f"-{backend}" for shard, trained_on, backend in BF16_CASES])
def test_mixed_bfloat16_smoke_of_the_cnn_reproductions(tmp_path, backend, shard, trained_on):
    dry = shard != ["lenet"] and backend not in trained_on
    proc = _repro("run", *shard, "--profile", "smoke", "--backend", backend, "--precision", "mixed_bfloat16",
                  "--out", str(tmp_path), *(["--dry-run"] if dry else []), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in shard:
        (folder,) = (tmp_path / name).iterdir()
        info = json.loads((folder / "run.json").read_text())
        assert info["status"] == "completed" and info["precision"] == "mixed_bfloat16"
        assert info["dry_run"] is dry
        claims = (folder / "claims.csv").read_text()
        assert "=nan" not in claims.lower() and "=inf" not in claims.lower(), claims


@pytest.mark.parametrize("name", ["googlenet_inception"])
def test_a_run_keeps_its_precision_after_counting_full_size_networks(name, tmp_path, monkeypatch):
    """Found reading the code: googlenet_inception and resnext_cardinality count full-size networks before
    training, and cleared Keras's session after each, which also cleared the run's dtype policy (and a JAX
    run's distribution): with --precision mixed_bfloat16 they trained float32 networks. In process, on the
    suite's backend; both failed before the fix (resnext_cardinality is left to the check below, for time)."""
    from keras_repro.suite import registry, runner
    from keras_repro.suite.runtime import Runtime

    policies = []
    real_fit = Runtime.fit

    def fit(self, model, *args, **kwargs):
        policies.append(model.dtype_policy.name)
        return real_fit(self, model, *args, **kwargs)

    monkeypatch.setattr(Runtime, "fit", fit)
    outcome = runner.run_reproduction(registry.get(name), profile="smoke", precision="mixed_bfloat16",
                                      dry_run=True, out=tmp_path, log=lambda message: None)
    assert json.loads((outcome.path / "run.json").read_text())["status"] == "completed"
    assert policies and set(policies) == {"mixed_bfloat16"}, policies


def test_no_reproduction_clears_the_session():
    """``keras.backend.clear_session()`` resets the run's dtype policy and distribution (above); networks built
    only to be counted use ``shapes_only()`` instead."""
    from conftest import REPO

    callers = [p.name for p in (REPO / "reproductions").glob("*.py") if "clear_session(" in p.read_text()]
    assert callers == []


def test_cnn_reproductions_are_all_covered():
    assert sorted(n for shard, _ in BF16_SHARDS for n in shard) == sorted(CNN_REPRODUCTIONS)


CHEAP = ["least_squares", "layer_null_space", "linear_collapse", "conv_arithmetic"]


def _claims(out: Path, name: str) -> str:
    (folder,) = (out / name).iterdir()
    return (folder / "claims.csv").read_text()


def test_jobs_give_the_same_claims_tables_as_the_serial_run(tmp_path):
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    proc = _repro("run", *CHEAP, "--profile", "smoke", "--seed", "3", "--out", str(serial), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = _repro("run", *CHEAP, "--profile", "smoke", "--seed", "3", "--jobs", "2", "--out", str(parallel),
                  cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in CHEAP:
        assert f"started  {name} (worker" in proc.stderr and f"finished {name} in" in proc.stderr
        assert _claims(parallel, name) == _claims(serial, name)
    # one verdict table at the end, a row per claim of every reproduction
    assert proc.stdout.count("reproduction  ") == 1
    assert all(name in proc.stdout for name in CHEAP)


def test_a_timed_reproduction_runs_with_no_other_run_beside_it(tmp_path):
    """gd_variants measures seconds per step: under --jobs no other run may share the machine with it."""
    import re

    names = [CHEAP[0], "gd_variants", CHEAP[1]]
    proc = _repro("run", *names, "--profile", "smoke", "--jobs", "2", "--out", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    events = re.findall(r"(started|finished) +(\w+)", proc.stderr)
    assert sorted(n for kind, n in events if kind == "started") == sorted(names), proc.stderr
    running = set()
    for kind, name in events:
        if kind == "started":
            assert name != "gd_variants" or not running, proc.stderr  # it starts on an idle machine...
            assert "gd_variants" not in running, proc.stderr  # ...and nothing starts beside it
            running.add(name)
        else:
            running.discard(name)
    for name in names:  # run.json says how each ran
        (folder,) = (tmp_path / name).iterdir()
        info = json.loads((folder / "run.json").read_text())
        assert info["jobs"] == {"workers": 2, "alone": name == "gd_variants"}, name
    # a run outside --jobs says nothing of jobs
    proc = _repro("run", CHEAP[0], "--profile", "smoke", "--out", str(tmp_path / "single"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (folder,) = (tmp_path / "single" / CHEAP[0]).iterdir()
    assert "jobs" not in json.loads((folder / "run.json").read_text())


def test_a_worker_that_dies_fails_its_run_and_the_others_go_on(tmp_path):
    import signal
    import time

    names = ["xor", *CHEAP[:2]]
    runner = subprocess.Popen([sys.executable, "-m", "keras_repro.cli", "run", *names, "--profile", "smoke",
                               "--jobs", "2", "--out", str(tmp_path)], cwd=tmp_path, env=_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    victim, deadline = None, time.monotonic() + 300
    while victim is None and time.monotonic() < deadline and runner.poll() is None:
        if list((tmp_path / "xor").glob("*/run.json")):  # xor's worker is training: kill it
            for pid in os.listdir("/proc"):
                try:
                    cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                except (OSError, ValueError):
                    continue
                if b"keras_repro.cli" in cmd and b"xor" in cmd and b"--jobs" not in cmd:
                    victim = int(pid)
                    os.kill(victim, signal.SIGKILL)
                    break
        time.sleep(0.05)
    out, err = runner.communicate(timeout=600)
    assert victim is not None, err[-2000:]
    assert runner.returncode == 1
    assert "finished xor in" in err and "failed (exit status -9" in err
    assert err.strip().splitlines()[-1] == "Error: 1 reproduction(s) failed: xor"
    (folder,) = (tmp_path / "xor").iterdir()
    info = json.loads((folder / "run.json").read_text())
    assert info["status"] == "failed" and info["error"] == "worker process died (killed by signal 9)"
    for name in CHEAP[:2]:
        (folder,) = (tmp_path / name).iterdir()
        assert json.loads((folder / "run.json").read_text())["status"] == "completed"
        assert name in out


def test_the_runner_ignores_devices_for_single_device_reproductions_with_one_line(tmp_path):
    import dataclasses

    from fakes import FAKE_CLAIMS, FakeConfig, fake_run

    from keras_repro.suite import runner
    from keras_repro.suite.registry import Reproduction

    fake = Reproduction("fake_hand", "hand-stepped", tuple(FAKE_CLAIMS), FakeConfig, fake_run, __name__,
                        single_device=True)
    lines = []
    outcome = runner.run_reproduction(fake, out=tmp_path, log=lines.append, command=["test"], devices=8)
    assert lines[0] == "fake_hand steps optimisers by hand and runs on one device: --devices 8 is ignored"
    info = json.loads((outcome.path / "run.json").read_text())
    assert info["distribution"]["devices"] == 1 and info["precision"] == "float32"
    from keras_repro.suite.runtime import DistributionError

    with pytest.raises(DistributionError, match="only 1 device"):
        runner.run_reproduction(dataclasses.replace(fake, single_device=False), out=tmp_path / "x",
                                log=lines.append, devices=8)
    assert not (tmp_path / "x").exists()
