"""Every way a run can end is recorded: SIGINT/SIGTERM/SIGHUP, SIGKILL, a full disk.

Also what the writes promise: files get the user's umask, temporary files never outlive a run (the
next run removes what a killed one left), and data reach the disk (fsync) before a rename
publishes them. The signals and the real full disk are exercised through the CLI in fresh processes.
"""
from __future__ import annotations

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from fakes import CLI_WITH_FAKE, register

from keras_repro.cli import main
from keras_repro.suite import registry, results, run_record, runner

from conftest import REPO

TESTS = str(Path(__file__).resolve().parent)


@pytest.fixture
def fake():
    yield register()
    registry._REGISTRY.pop("fake_repro", None)


def start_cli(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen([sys.executable, "-c", CLI_WITH_FAKE.format(tests=TESTS), *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def published_run_jsons(out: Path) -> list[tuple[Path, str]]:
    """(path, text) of each run.json in a published run folder; a hidden staging folder is skipped (it is
    renamed into place a moment later, so a path read there would vanish) and so is a file renamed away
    between the listing and the read."""
    found = []
    for path in out.glob("fake_repro/*/run.json"):
        if path.parent.name.startswith("."):
            continue
        try:
            found.append((path, path.read_text()))
        except FileNotFoundError:
            continue
    return found


def wait_for_run_json(out: Path, proc: subprocess.Popen, timeout: float = 240) -> Path:
    """The run.json of the run ``proc`` started (the first published one that is running)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [p for p, text in published_run_jsons(out) if '"running"' in text]
        if found:
            return found[0]
        if proc.poll() is not None:
            raise AssertionError(f"the run ended before it started: {proc.communicate()}")
        time.sleep(0.05)
    raise AssertionError("no run.json appeared")


def read_info(folder: Path) -> dict:
    return json.loads((folder / "run.json").read_text())


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob(".*") if p.name != ".write-test"]


# -- 1. signals ---------------------------------------------------------------------------------

def test_sigint_sigterm_and_sighup_end_a_run_as_failed_with_exit_128_plus_n(tmp_path):
    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    procs = {sig: start_cli("run", "fake_repro", "--set", "sleep=120", "--out", str(tmp_path / sig.name))
             for sig in signals}  # started together: the imports overlap
    for sig, proc in procs.items():
        run_json = wait_for_run_json(tmp_path / sig.name, proc)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 128 + sig, (sig.name, err[-2000:])
        info = json.loads(run_json.read_text())
        assert info["status"] == "failed" and info["error"] == f"interrupted ({sig.name})", info
        assert info["pid"] == proc.pid and info["host"] == socket.gethostname()
        assert "Traceback" not in err and f"interrupted ({sig.name})" in err
        assert not temp_files(tmp_path / sig.name)


def test_sigkill_leaves_a_run_that_reads_as_interrupted_never_as_results(fake, tmp_path):
    cli = CliRunner()
    assert cli.invoke(main, ["run", "fake_repro", "--out", str(tmp_path)]).exit_code == 0
    proc = start_cli("run", "fake_repro", "--set", "sleep=120", "--out", str(tmp_path))
    killed = wait_for_run_json(tmp_path, proc).parent
    proc.kill()
    proc.wait()
    assert read_info(killed)["status"] == "running"  # what SIGKILL leaves on disk
    run = results.load_run(killed)
    assert run.status == "interrupted" and "process" in run.why_interrupted

    shown = cli.invoke(main, ["show", "fake_repro", "--results-dir", str(tmp_path)])
    assert shown.exit_code == 0 and f"{killed.name}: interrupted" in shown.output
    assert "running" not in shown.output.replace("fake_repro", "")
    compared = cli.invoke(main, ["compare", "fake_repro@latest", str(killed), "--results-dir", str(tmp_path)])
    assert compared.exit_code == 1 and "interrupted" in compared.output and "not results" in compared.output
    assert compared.output.count("\n") == 1
    reported = cli.invoke(main, ["report", "--results-dir", str(tmp_path)])
    assert reported.exit_code == 0 and "interrupted" in reported.output
    assert "2 claims from 1 reproductions" in reported.output  # the completed run only


# -- 1. heartbeat and liveness ---------------------------------------------------------------------

def test_run_json_records_pid_host_and_a_heartbeat_while_the_run_lives(fake, tmp_path, monkeypatch):
    monkeypatch.setattr(run_record, "HEARTBEAT_S", 0.2)
    worker = threading.Thread(target=runner.run_reproduction, args=(fake,),
                              kwargs={"out": tmp_path, "overrides": {"sleep": "2.5"}, "log": lambda m: None})
    worker.start()
    beats = set()
    while worker.is_alive():
        for _, text in published_run_jsons(tmp_path):
            info = json.loads(text)
            if info["status"] == "running":
                assert info["pid"] == os.getpid() and info["host"] == socket.gethostname()
                beats.add(info["heartbeat"])
        time.sleep(0.05)
    worker.join()
    assert len(beats) >= 2  # updated while running
    (folder,) = (tmp_path / "fake_repro").iterdir()
    assert read_info(folder)["status"] == "completed" and results.load_run(folder).status == "completed"


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _ago(seconds: float) -> str:
    return run_record.timestamp(time.time() - seconds)


@pytest.mark.parametrize("host,pid,age,expected", [
    ("here", "dead", 1, "interrupted"),  # the process is gone
    ("here", "self", 1, "running"),
    ("here", "self", 3600, "interrupted"),  # alive pid (reused?) but no heartbeat for an hour
    ("elsewhere", "self", 1, "running"),  # another machine: only the heartbeat tells
    ("elsewhere", "self", 3600, "interrupted"),
])
def test_a_running_run_is_interrupted_when_its_process_is_gone_or_its_heartbeat_stale(host, pid, age, expected):
    info = {"status": "running", "host": socket.gethostname() if host == "here" else "elsewhere.invalid",
            "pid": _dead_pid() if pid == "dead" else os.getpid(), "heartbeat": _ago(age)}
    assert run_record.live_status(info)[0] == expected


# -- 4. full disk ----------------------------------------------------------------------------------

def _fill_after_first_record(monkeypatch, in_place_fails=False):
    """From the first write of run.json on, no new file can be created (ENOSPC), as on a full disk."""
    real = results._create_temp
    state = {"writes": 0}

    def create(path):
        if state["writes"] >= 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        if Path(path).name.startswith(".run-"):
            state["writes"] += 1
        return real(path)

    monkeypatch.setattr(results, "_create_temp", create)
    if in_place_fails:
        def refuse(*args, **kwargs):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        monkeypatch.setattr(results, "rewrite_in_place", refuse)


def test_full_disk_mid_run_still_records_failed_in_place(fake, tmp_path, monkeypatch):
    _fill_after_first_record(monkeypatch)
    result = CliRunner().invoke(main, ["run", "fake_repro", "--out", str(tmp_path)])
    assert result.exit_code == 1
    (folder,) = (tmp_path / "fake_repro").iterdir()
    info = read_info(folder)
    assert info["status"] == "failed" and "No space left on device" in info["error"]
    assert "No space left on device" in result.output and f"traceback in {folder / 'run.json'}" in result.output
    assert not temp_files(tmp_path)


def test_when_nothing_can_be_recorded_the_message_says_so(fake, tmp_path, monkeypatch):
    _fill_after_first_record(monkeypatch, in_place_fails=True)
    result = CliRunner().invoke(main, ["run", "fake_repro", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "traceback in" not in result.output and "could not record the failure" in result.output
    (folder,) = (tmp_path / "fake_repro").iterdir()
    assert read_info(folder)["status"] == "running"  # the truth on disk: then read as interrupted
    assert not temp_files(tmp_path)


def test_check_writable_needs_room_for_run_json_and_leaves_nothing_behind(tmp_path, monkeypatch):
    def no_room(fd, size):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(results, "_reserve", no_room)
    with pytest.raises(results.ResultsError, match="No space left on device"):
        results.check_writable(tmp_path / "out" / "name")
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 1 MiB tmpfs, where the machine lets this process mount one (root in a VM or a privileged container)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(mount: Path) -> Path:
    """Fill ``mount`` to the last block with one file; return it (truncate it to free room)."""
    filler = mount / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


def test_full_tmpfs_refuses_before_anything_and_fails_truthfully_mid_run(small_tmpfs):
    filler = _fill(small_tmpfs)
    proc = start_cli("run", "fake_repro", "--out", str(small_tmpfs / "results"))
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 1 and "No space left on device" in err and err.count("\n") == 1, err
    assert sorted(p.name for p in small_tmpfs.iterdir()) == ["filler"]

    os.truncate(filler, filler.stat().st_size - 200 * 1024)  # room for a run, until the run fills it
    proc = start_cli("run", "fake_repro", "--set", "hog=true", "--out", str(small_tmpfs / "results"))
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, err
    (folder,) = (small_tmpfs / "results" / "fake_repro").iterdir()
    info = read_info(folder)
    assert info["status"] == "failed" and "No space left on device" in info["error"]
    assert "No space left on device" in err and "Traceback" not in err
    assert f"traceback in {folder / 'run.json'}" in err
    assert (folder / "run.json").stat().st_size > results.RUN_JSON_RESERVE  # rewritten in place: no free block
    assert os.statvfs(small_tmpfs).f_bavail == 0 and not temp_files(small_tmpfs)


# -- 7. umask --------------------------------------------------------------------------------------

@pytest.mark.parametrize("umask,file_mode,dir_mode", [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700)])
def test_files_get_the_users_umask(fake, tmp_path, umask, file_mode, dir_mode):
    old = os.umask(umask)
    try:
        cli = CliRunner()
        assert cli.invoke(main, ["run", "fake_repro", "--out", str(tmp_path / "r")]).exit_code == 0
        assert cli.invoke(main, ["report", "--results-dir", str(tmp_path / "r"),
                                 "--write", str(tmp_path / "SUMMARY.md")]).exit_code == 0
    finally:
        os.umask(old)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) > 4
    assert {oct(p.stat().st_mode & 0o777) for p in files} == {oct(file_mode)}
    assert {oct(p.stat().st_mode & 0o777) for p in tmp_path.rglob("*") if p.is_dir()} == {oct(dir_mode)}


# -- 8. temporary files ----------------------------------------------------------------------------

def test_an_interrupt_right_after_the_temp_file_is_created_leaves_nothing(tmp_path, monkeypatch):
    real = results._create_temp

    def create_then_interrupt(path):
        real(path)
        raise KeyboardInterrupt

    monkeypatch.setattr(results, "_create_temp", create_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        results.atomic_write_text(tmp_path / "table.csv", "a,b\n")
    assert list(tmp_path.iterdir()) == []


def test_the_next_run_removes_what_killed_runs_left(fake, tmp_path):
    first = runner.run_reproduction(fake, out=tmp_path, log=lambda m: None).path
    dead = _dead_pid()
    stale = [first / f".numbers-{dead}-0123abcd.partial.csv",  # a completed run's folder
             tmp_path / "fake_repro" / f".write-test-{dead}-0123abcd.partial",  # a check_writable probe
             tmp_path / f".write-test-{dead}-89abcdef.partial"]
    for path in stale:
        path.write_text("half")
    staging = tmp_path / "fake_repro" / f".20990101-000000-default-s0-{dead}-00000000.partial"
    staging.mkdir()
    (staging / "run.json").write_text("{}")
    alive = tmp_path / "fake_repro" / "20990101-000001-default-s0"  # another run, alive right now
    alive.mkdir()
    (alive / "run.json").write_text(json.dumps({"status": "running", "pid": os.getpid(),
                                                "host": socket.gethostname(), "heartbeat": _ago(0)}))
    in_progress = alive / f".numbers-{os.getpid()}-0123abcd.partial.csv"
    in_progress.write_text("being written")

    result = CliRunner().invoke(main, ["run", "fake_repro", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert not any(p.exists() for p in stale) and not staging.exists()
    assert in_progress.exists()


def test_a_run_sweeps_what_killed_runs_of_every_reproduction_left(fake, tmp_path):
    """CI's fault injection found it: a run of one reproduction after a killed run of another left the killed
    run's temporary figure behind. Every reproduction's folder is swept; a run alive on another machine is
    not touched (the pid in a temporary name means nothing here), and a folder no reproduction owns is not
    searched."""
    register("other_fake")
    try:
        dead = _dead_pid()
        killed = tmp_path / "other_fake" / "20990101-000000-smoke-s0"  # its process was killed mid-figure
        killed.mkdir(parents=True)
        (killed / "run.json").write_text(json.dumps({"status": "running", "pid": dead,
                                                     "host": socket.gethostname(), "heartbeat": _ago(0)}))
        stale = [killed / f".figure-{dead}-0123abcd.partial.png",
                 tmp_path / "other_fake" / f".write-test-{dead}-0123abcd.partial"]
        for path in stale:
            path.write_text("half")
        staging = tmp_path / "other_fake" / f".20990101-000001-smoke-s0-{dead}-00000000.partial"
        staging.mkdir()
        remote = tmp_path / "other_fake" / "20990101-000002-smoke-s0"  # running on another machine right now
        remote.mkdir()
        (remote / "run.json").write_text(json.dumps({"status": "running", "pid": dead,
                                                    "host": "another-" + socket.gethostname(),
                                                    "heartbeat": _ago(0)}))
        remote_temp = remote / f".figure-{dead}-0123abcd.partial.png"
        remote_temp.write_text("being written elsewhere")
        unowned = tmp_path / "notes" / "drafts"  # not a reproduction's folder
        unowned.mkdir(parents=True)
        kept = unowned / f".draft-{dead}-0123abcd.partial.txt"
        kept.write_text("mine")

        result = CliRunner().invoke(main, ["run", "fake_repro", "--out", str(tmp_path)])
        assert result.exit_code == 0, result.output
        assert [p for p in stale if p.exists()] == [] and not staging.exists()
        assert remote_temp.exists() and kept.exists()
    finally:
        registry._REGISTRY.pop("other_fake", None)


def test_writes_reach_the_disk_before_the_rename_publishes_them(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        return real_fsync(fd)

    def replace(src, dst):
        events.append(("replace", str(dst)))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    target = tmp_path / "run.json"
    results.write_json(target, {"status": "running"})
    kinds = [kind for kind, _ in events]
    assert kinds == ["fsync", "replace", "fsync"], events
    assert Path(events[0][1]).name.startswith(".run-") and events[1][1] == str(target)
    assert events[2][1] == str(tmp_path)  # the directory entry too


# -- 6. the CLI's own seed option --------------------------------------------------------------------

@pytest.mark.parametrize("seed", ["-1", str(2**32)])
def test_seed_out_of_range_is_one_line_before_any_folder(fake, tmp_path, seed):
    result = CliRunner().invoke(main, ["run", "fake_repro", "--seed", seed, "--out", str(tmp_path / "r")])
    assert result.exit_code == 2 and "--seed" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "r").exists()
