"""Style cannot drift: ruff's pyflakes rules (configured in pyproject.toml) pass on the whole code base."""
from __future__ import annotations

import os
import subprocess
import sys

from conftest import REPO


def test_ruff_finds_nothing():
    command = [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format=concise",
               "keras_repro", "reproductions", "tests"]
    proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_test_modules_import_as_ci_runs_them(tmp_path):
    """CI runs the ``pytest`` command, which puts tests/ (not the repository) on sys.path: a test module that
    imports ``tests.conftest`` passed under ``python -m pytest`` and failed to collect in CI. Collected here
    the way CI does, from outside the repository, so the current directory adds nothing to sys.path."""
    script = ("import sys, pytest; sys.path[:] = [p for p in sys.path if p not in ('', '.')]; "
              f"sys.exit(pytest.main(['--collect-only', '-q', '-p', 'no:xdist', '-p', 'no:cacheprovider', "
              f"'-o', 'addopts=', {str(REPO / 'tests')!r}]))")
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
