"""Fault injection: smoke runs killed by SIGINT, SIGTERM or SIGKILL at seeded random moments, 20 times.

After every kill: earlier runs are byte-identical, no run says ``completed`` without every file it
lists (and every table matching run.json), no folder is damaged, a temporary file left by the
killed run does not survive the next run into that results folder (of either reproduction), and ``repro report`` and
``repro compare`` still work. The runs go through the CLI in a subprocess; to keep the test short,
a warm process (Keras imported once) runs one smoke run per line it reads, and SIGINT/SIGTERM end
the run, not the process. Only SIGKILL costs a new process, and a spare one is always warming up.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from keras_repro.cli import main
from keras_repro.suite import results

from conftest import REPO

KILLS = 20
REPRODUCTIONS = ("least_squares", "conv_arithmetic")  # the two cheapest smoke runs: tables, and a figure
TEMP_SUFFIX = ".partial"

DRIVER = r"""
import signal, sys, time
late = []
def later(signum, frame):  # a signal that arrives between runs is noted, not obeyed
    late.append(signum)
def quiet():
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, later)
quiet()
from keras_repro.cli import main
try:
    main(["list"], standalone_mode=False)  # import Keras and every reproduction once
except SystemExit:
    pass
print("ready", flush=True)
for line in sys.stdin:
    name, out = line.split()
    print("start", flush=True)
    t0 = time.monotonic()
    try:
        main(["run", name, "--profile", "smoke", "--out", out], standalone_mode=False)
        code = 0
    except SystemExit as exc:
        code = exc.code
    quiet()
    print(f"end {code} {time.monotonic() - t0:.3f}", flush=True)
"""


class Driver:
    """A warm CLI process that runs one smoke run per line it reads."""

    def __init__(self):
        env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow"}
        self.proc = subprocess.Popen([sys.executable, "-c", DRIVER], cwd=REPO, env=env, text=True, bufsize=1,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def expect(self, word: str) -> list[str]:
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError(f"the driver ended (exit {self.proc.wait()}) while waiting for {word!r}")
            if line.startswith(word):
                return line.split()

    def start(self, name: str, out: Path) -> None:
        self.proc.stdin.write(f"{name} {out}\n")
        self.proc.stdin.flush()
        self.expect("start")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def _files(out: Path) -> dict[str, str]:
    """SHA-256 of every file under ``out`` except temporary ones."""
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest() for p in out.rglob("*")
            if p.is_file() and TEMP_SUFFIX not in p.name}


def _temps(out: Path) -> set[Path]:
    return {p for p in out.rglob(f".*{TEMP_SUFFIX}*")}


def _run_folders(out: Path) -> set[Path]:
    return {p for p in out.glob("*/*") if p.is_dir() and not p.name.startswith(".")}


def _check_folders(out: Path, violations: list[str], trial: int) -> dict[Path, str]:
    statuses = {}
    for folder in _run_folders(out):
        try:
            run = results.load_run(folder)  # a completed run must hold every file it lists
            if run.status == results.COMPLETED:
                results.check_tables(run)  # and every table must match what run.json recorded
            statuses[folder] = run.status
        except results.ResultsError as exc:
            violations.append(f"trial {trial}: damaged {folder.name}: {exc}")
    return statuses


def _check_commands(out: Path, violations: list[str], trial: int) -> None:
    cli = CliRunner()
    reported = cli.invoke(main, ["report", "--results-dir", str(out)])
    if reported.exit_code != 0 or reported.exception and not isinstance(reported.exception, SystemExit):
        violations.append(f"trial {trial}: report exit {reported.exit_code}: {reported.output[-300:]}")
    for name in REPRODUCTIONS:
        first = min(p for p in (out / name).iterdir() if p.is_dir() and not p.name.startswith("."))  # the baseline
        compared = cli.invoke(main, ["compare", str(first), f"{name}@latest", "--results-dir", str(out)])
        if compared.exit_code != 0:
            violations.append(f"trial {trial}: compare {name} exit {compared.exit_code}: {compared.output[-300:]}")


def test_kills_at_random_moments_never_damage_results(tmp_path):
    began = time.monotonic()
    rng = random.Random(16)
    schedule = [signal.SIGINT] * 7 + [signal.SIGTERM] * 7 + [signal.SIGKILL] * 6
    rng.shuffle(schedule)
    out = tmp_path / "results"
    violations: list[str] = []
    landed = {"during the run": 0, "after it ended": 0}
    active, spare = Driver(), Driver()
    try:
        active.expect("ready")
        duration = {}
        for name in REPRODUCTIONS:  # a completed baseline of each, and how long a warm run takes
            active.start(name, out)
            _, code, seconds = active.expect("end")
            assert code == "0", f"baseline {name} exited {code}"
            duration[name] = float(seconds)

        for trial, sig in enumerate(schedule):
            name = rng.choice(REPRODUCTIONS)
            before_files, before_folders, before_temps = _files(out), _run_folders(out), _temps(out)
            active.start(name, out)
            time.sleep(rng.uniform(0.0, 1.2 * duration[name]))
            active.proc.send_signal(sig)
            if sig == signal.SIGKILL:
                active.proc.wait()
                active, spare = spare, Driver()
                active.expect("ready")
            else:
                active.expect("end")

            new = _run_folders(out) - before_folders
            statuses = _check_folders(out, violations, trial)
            ended = {statuses.get(f) for f in new}
            landed["after it ended" if ended <= {results.COMPLETED} else "during the run"] += 1
            if sig != signal.SIGKILL and results.RUNNING in ended:
                violations.append(f"trial {trial}: {sig.name} left a run that still says running")
            after = _files(out)
            changed = [f for f, digest in before_files.items() if after.get(f) != digest]
            if changed:
                violations.append(f"trial {trial}: earlier files changed or vanished: {changed[:3]}")
            if new and before_temps & _temps(out):  # this run got past its start: it swept what kills left
                violations.append(f"trial {trial}: stale temp files survived a run: {sorted(before_temps & _temps(out))}")
            _check_commands(out, violations, trial)

        leftovers = _temps(out)  # one last, uninterrupted run sweeps what the last kills left
        active.start(REPRODUCTIONS[0], out)
        active.expect("end")
        if leftovers & _temps(out):
            violations.append(f"after the last run: temp files survive: {sorted(leftovers & _temps(out))}")
        _check_folders(out, violations, KILLS)
    finally:
        active.close()
        spare.close()
    elapsed = time.monotonic() - began
    figures = {"kills": len(schedule), "by_signal": {s.name: schedule.count(s) for s in set(schedule)},
               "landed": landed, "runs": len(_run_folders(out)), "violations": len(violations),
               "seconds": round(elapsed, 1)}
    print("fault injection:", json.dumps(figures))
    assert not violations, "\n".join(violations)
