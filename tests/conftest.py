"""Shared test helpers."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Tests of a minute or more, longest first: they start first, so the short ones fill both cores at the end
# instead of one long test running alone after everything else (xdist hands out tests in collection order;
# a CI run once spent its last 11 minutes so). Seconds measured in a CI-like run (2026-12-07), rounded.
LONG_TESTS = (
    "tests/test_run_anywhere.py::test_smoke_on_jax_without_tensorflow",  # 4 shards, 120-320 s each
    "tests/test_run_anywhere.py::test_full_profile_dry_run",  # 4 shards, 140-180 s each
    "tests/test_fault_injection.py::",  # 130 s
    "tests/test_models_bf16.py::test_cnn_models_train_in_mixed_bfloat16_on_jax",  # 120 s
    "tests/test_scale.py::test_mixed_bfloat16_smoke_of_the_cnn_reproductions",  # 6 of 25-65 s
    "tests/test_scale.py::test_jobs_give_the_same_claims_tables_as_the_serial_run",  # 57 s
    "tests/test_keras_generic.py::test_the_same_tests_pass_on_jax",  # 50 s
    "tests/test_progress.py::test_a_terminal_gets_a_redrawn_bar_and_a_pipe_gets_lines",  # 48 s
)


def pytest_collection_modifyitems(config, items):
    """Run :data:`LONG_TESTS` first, in that order (the rest keep theirs)."""
    def rank(item) -> int:
        return next((i for i, prefix in enumerate(LONG_TESTS) if item.nodeid.startswith(prefix)), len(LONG_TESTS))

    items.sort(key=rank)  # stable


def balanced_shards(costs: dict[str, float], shards: int) -> list[list[str]]:
    """Split names into ``shards`` lists of about equal total cost (longest first, each to the lightest shard),
    each list sorted by name."""
    loads = [(0.0, k, []) for k in range(shards)]
    for name in sorted(costs, key=lambda n: (-costs[n], n)):
        load, k, names = min(loads)
        names.append(name)
        loads[k] = (load + costs[name], k, names)
    return [sorted(names) for _, _, names in sorted(loads, key=lambda entry: entry[1])]


def run_python(code: str, backend: str = "tensorflow", timeout: float = 300, cwd: Path | None = None,
               env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter with ``KERAS_BACKEND=backend`` (fixed at first keras import)."""
    full_env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2",
                "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""), **(env or {})}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout, env=full_env, cwd=cwd or REPO)


def assert_ok(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-4000:]}"
    return proc.stdout


@pytest.fixture
def python_runner():
    return run_python


def verdict(module, measured, profile: str = "default") -> str:
    """The verdict of a reproduction module's first claim on ``measured`` numbers."""
    from keras_repro.suite.claims import evaluate

    return evaluate(module.CLAIMS[0], measured, profile=profile).verdict


def single_claim(module_name: str):
    """A reproduction module and its only claim."""
    import importlib

    module = importlib.import_module(f"reproductions.{module_name}")
    (only,) = module.CLAIMS
    return module, only


def no_progress_fit(model, *args, label="", **kwargs):
    """``ctx.fit``'s signature without a run context: plain ``model.fit``, silent."""
    return model.fit(*args, verbose=0, **kwargs)


def small_classifier():
    """A compiled softmax regression on 64 features (the flattened digits)."""
    import keras

    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(10, activation="softmax")])
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    return model



def write_import_blocker(folder: Path, *packages: str) -> Path:
    """A ``sitecustomize.py`` in ``folder`` that makes importing any of ``packages`` fail, as on a machine
    without them; put ``folder`` first on a fresh interpreter's ``PYTHONPATH``. Returns ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(f"""
import importlib.abc, sys

class _Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {tuple(packages)!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, _Absent())
""")
    return folder
