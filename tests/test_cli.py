"""The `repro` command through click's test runner."""
import json

import keras
import pytest
from click.testing import CliRunner
from fakes import FAKE_CLAIMS, FakeConfig, fake_run

from keras_repro.cli import main
from keras_repro.suite import registry


@pytest.fixture
def cli():
    return CliRunner()


@pytest.fixture
def fake():
    registry.reproduction("fake_repro", title="A fake", claims=FAKE_CLAIMS, config=FakeConfig)(fake_run)
    yield
    registry._REGISTRY.pop("fake_repro", None)


def test_help_explains_the_commands(cli):
    out = cli.invoke(main, ["--help"]).output
    for word in ("list", "show", "run", "compare", "claims.csv"):
        assert word in out
    run_help = cli.invoke(main, ["run", "--help"]).output
    for option in ("--profile", "--backend", "--seed", "--set", "--out", "--all"):
        assert option in run_help


def test_list_and_json(cli):
    plain = cli.invoke(main, ["list"])
    assert plain.exit_code == 0 and "xor" in plain.output and "C1.3" in plain.output
    data = json.loads(cli.invoke(main, ["list", "--json"]).output)
    names = {d["name"]: d for d in data}
    assert names["xor"]["claims"] == ["C1.3", "C1.5"] and names["xor"]["title"]


def test_show_prints_claims_rules_config_and_latest_verdicts(cli, fake, tmp_path):
    before = cli.invoke(main, ["show", "fake_repro", "--results-dir", str(tmp_path)])
    assert before.exit_code == 0
    assert "value >= 2" in before.output and "no completed run" in before.output
    assert cli.invoke(main, ["run", "fake_repro", "--out", str(tmp_path)]).exit_code == 0
    after = cli.invoke(main, ["show", "fake_repro", "--results-dir", str(tmp_path)])
    assert "latest verdicts" in after.output and "not reproduced" in after.output


def test_run_prints_a_verdict_table_and_writes_a_run_folder(cli, fake, tmp_path):
    result = cli.invoke(main, ["run", "fake_repro", "--out", str(tmp_path), "--set", "value=3", "--seed", "4"])
    assert result.exit_code == 0, result.output
    assert "C0.1" in result.output and "reproduced" in result.output
    (folder,) = (tmp_path / "fake_repro").iterdir()
    assert folder.name.endswith("-default-s4") and (folder / "claims.csv").exists()


@pytest.mark.parametrize("args,code,message", [
    (["run", "xr"], 2, "did you mean xor"),
    (["run"], 2, "name at least one"),
    (["run", "fake_repro", "--set", "nope=1"], 2, "valid keys: fail, hog, interrupt, rows, sleep, value"),
    (["run", "fake_repro", "--set", "value=abc"], 2, "expected float"),
    (["run", "fake_repro", "--set", "value"], 2, "key=value"),
    (["show", "nothing_like_this"], 2, "no reproduction named"),
])
def test_bad_input_gives_one_clear_line(cli, fake, tmp_path, args, code, message):
    result = cli.invoke(main, args + (["--out", str(tmp_path)] if args[0] == "run" else []))
    assert result.exit_code == code
    assert message in result.output
    assert "Traceback" not in result.output


def test_unwritable_out_is_one_line(cli, fake, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    result = cli.invoke(main, ["run", "fake_repro", "--out", str(blocker / "x")])
    assert result.exit_code == 1 and "cannot write results" in result.output and "Traceback" not in result.output


def test_failed_reproduction_exits_nonzero_and_is_recorded(cli, fake, tmp_path):
    result = cli.invoke(main, ["run", "fake_repro", "--out", str(tmp_path), "--set", "fail=true"])
    assert result.exit_code == 1 and "boom" in result.output
    (folder,) = (tmp_path / "fake_repro").iterdir()
    assert json.loads((folder / "run.json").read_text())["status"] == "failed"


def test_compare_gates_on_regressions(cli, fake, tmp_path):
    assert cli.invoke(main, ["run", "fake_repro", "--out", str(tmp_path), "--set", "value=2.5"]).exit_code == 0
    first = next((tmp_path / "fake_repro").iterdir())
    assert cli.invoke(main, ["run", "fake_repro", "--out", str(tmp_path), "--set", "value=1.5"]).exit_code == 0
    same = cli.invoke(main, ["compare", str(first), str(first)])
    assert same.exit_code == 0 and "none" in same.output
    worse = cli.invoke(main, ["compare", str(first), "fake_repro@latest", "--results-dir", str(tmp_path)])
    assert worse.exit_code == 1
    assert "score_diff" in worse.output and "C0.2" in worse.output and "reproduced to not reproduced" in worse.output


def test_compare_and_show_with_a_corrupted_run_folder(cli, fake, tmp_path):
    assert cli.invoke(main, ["run", "fake_repro", "--out", str(tmp_path)]).exit_code == 0
    broken = tmp_path / "fake_repro" / "29990101-000000-default-s0"
    broken.mkdir()
    (broken / "run.json").write_text("garbage")
    shown = cli.invoke(main, ["show", "fake_repro", "--results-dir", str(tmp_path)])
    assert shown.exit_code == 0 and "skipped a run folder" in shown.output and "latest verdicts" in shown.output
    compared = cli.invoke(main, ["compare", str(broken), "fake_repro@latest", "--results-dir", str(tmp_path)])
    assert compared.exit_code == 1 and "corrupted" in compared.output and "Traceback" not in compared.output


def test_report_summarises_latest_verdicts(cli, fake, tmp_path):
    assert cli.invoke(main, ["report", "--results-dir", str(tmp_path)]).exit_code == 1
    assert cli.invoke(main, ["run", "fake_repro", "--out", str(tmp_path)]).exit_code == 0
    out_file = tmp_path / "SUMMARY.md"
    result = cli.invoke(main, ["report", "--results-dir", str(tmp_path), "--write", str(out_file)])
    assert result.exit_code == 0
    assert "2 claims from 1 reproductions: 1 reproduced, 1 not reproduced" in result.output
    assert "| C0.2 | fake_repro | not reproduced |" in out_file.read_text()


def test_readme_test_command_is_what_ci_runs():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    ci_command = [l for l in (root / ".ci" / "run").read_text().splitlines() if "pytest" in l][0].strip()
    assert ci_command in (root / "README.md").read_text()


def test_cli_backend_mismatch_is_a_clear_error():
    from keras_repro.cli import main

    other = "jax" if keras.backend.backend() != "jax" else "tensorflow"
    result = CliRunner().invoke(main, ["run", "xor", "--backend", other])
    assert result.exit_code == 1 and "already running" in result.output
