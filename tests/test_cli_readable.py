"""Readable output: `repro compare`, `report`, `show` and the verdict table, wrapped to the terminal; file modes;
the reading commands start without Keras or a backend. CLI commands run in a fresh process, as a user runs them."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from fakes import FakeConfig

from keras_repro.suite import registry, results, runner, text
from keras_repro.suite.claims import Claim, at_least
from keras_repro.suite.config import setting

REPO = Path(__file__).resolve().parents[1]
WIDTH = 80
HEAVY = ("tensorflow", "jax", "torch", "keras")


def repro(*args, cwd=REPO, width=WIDTH, probe=False):
    """``python -m keras_repro.cli ARGS`` in a fresh process, as a user runs it (no KERAS_BACKEND set).

    ``probe``: print, on stderr at exit, the heavy packages (Keras, backends) the command imported."""
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "PYTHONPATH")}
    env.update(COLUMNS=str(width), PYTHONPATH=str(REPO))
    code = ("import atexit, sys\n"
            f"atexit.register(lambda: print('HEAVY=' + ','.join(sorted({{m.split('.')[0] for m in sys.modules}}"
            f" & set({HEAVY!r}))), file=sys.stderr))\n" if probe else "") + \
        "import sys, runpy; sys.argv = ['repro'] + sys.argv[1:]; runpy.run_module('keras_repro.cli', run_name='__main__')"
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=300)


def assert_fits(output: str, width: int = WIDTH):
    """No line is longer than ``width`` unless it is one unbreakable token (after its indent)."""
    for line in output.splitlines():
        if len(line) > width:
            assert len(line.split()) == 1 or len(max(line.split(), key=len)) > width // 3, line


# -- tiny run folders, written by the runner -----------------------------------------------------

@dataclass
class TwoConfig(FakeConfig):
    offset: float = setting(0.0, "added to the second table's scores")


LONG_NOTE = ("The measured value stayed below the threshold on every seed, which is a long explanation that must "
             "wrap onto several lines of the terminal rather than being cut in the middle of a word. Second sentence.")


def two_tables(ctx):
    cfg = ctx.config
    ctx.table("numbers", pd.DataFrame({"variant": ["a", "b", "c"], "score": [cfg.value, 2.0, 3.0],
                                       "label": ["x", "y", "z"]}))
    ctx.table("steady", pd.DataFrame({"step": [1, 2], "loss": [0.5 + cfg.offset * 0, 0.25]}))
    ctx.measure("C9.1", value=cfg.value, other=7.0)
    ctx.measure("C9.2", value=cfg.value)
    ctx.note("C9.2", LONG_NOTE)


CLAIMS = [Claim("C9.1", "value is at least 1", at_least("value", 1.0)),
          Claim("C9.2", "value is at least 2", at_least("value", 2.0))]


def make_run(tmp_path, value, name="twotab"):
    repro = registry.Reproduction(name, "Two tables", tuple(CLAIMS), TwoConfig, two_tables, __name__)
    outcome = runner.run_reproduction(repro, out=tmp_path, overrides={"value": value}, log=lambda m: None,
                                      command=["test"])
    return outcome


@pytest.fixture
def runs(tmp_path):
    first = make_run(tmp_path, 2.5).path
    second = make_run(tmp_path / "b", 1.5).path
    return first, second


# -- compare ----------------------------------------------------------------------------------------

def test_compare_of_identical_runs_is_a_few_lines(runs):
    first, _ = runs
    result = repro("compare", first, first)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) <= 10, result.stdout
    assert "verdict changes: none" in result.stdout
    assert "measured values beyond the tolerance (1e-06): none" in result.stdout
    assert "tables identical: 3 of 3" in result.stdout
    assert "##" not in result.stdout  # no table printed
    assert_fits(result.stdout)


def test_compare_summary_first_then_only_what_differs(runs):
    first, second = runs
    result = repro("compare", first, second)
    assert result.returncode == 1  # C9.2 went from reproduced to not reproduced: the gate
    out = result.stdout
    assert "C9.2: reproduced → not reproduced (claim holds → claim contradicted)" in out
    assert re.search(r"C9\.1: value 2\.5 → 1\.5\n", out)  # ``other`` did not move: not named
    assert "tables identical: 1 of 3 (differ: claims, numbers)" in out
    # order: verdicts, measured values, tables, then the tables that differ
    assert out.index("verdict changes") < out.index("measured values") < out.index("tables identical") \
        < out.index("## numbers")
    numbers = out[out.index("## numbers"):]
    assert "(1 of 3 rows differ)" in numbers and "score_diff" in numbers
    assert "\nb " not in numbers and "\nc " not in numbers  # only the differing row (with its keys)
    assert "## steady" not in out
    assert "reproduced to not reproduced: C9.2" in result.stderr
    assert_fits(out)


def test_compare_full_and_tolerance(runs):
    first, second = runs
    full = repro("compare", first, second, "--full")
    assert "## steady" in full.stdout and "loss_a" in full.stdout and full.returncode == 1
    assert_fits(full.stdout)
    loose = repro("compare", first, second, "--tolerance", "1")  # |1.5 - 2.5| <= 1 x (1 + 2.5)
    assert "measured values beyond the tolerance (1): none" in loose.stdout
    assert "C9.2: reproduced → not reproduced" in loose.stdout and loose.returncode == 1
    assert repro("compare", first, second, "--tolerance", "-1").returncode == 2


def test_cells_equal_uses_relative_and_absolute_tolerance():
    assert results.cells_equal(1.0, 1.0 + 1e-9) and not results.cells_equal(1.0, 1.001)
    assert results.cells_equal(1e6, 1e6 + 0.5, 1e-6) and not results.cells_equal(0.0, 1e-5, 1e-6)
    assert results.cells_equal(float("nan"), float("nan")) and results.cells_equal("", float("nan"))
    assert results.cells_equal("a=1; b=2", "a=1.0000000001; b=2") and not results.cells_equal("a=1", "a=2")
    assert not results.cells_equal("x", "y")


# -- report -----------------------------------------------------------------------------------------

def test_report_from_another_folder_says_where_it_looked(tmp_path):
    result = repro("report", cwd=tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert str(tmp_path / "results") in line and "--results-dir PATH" in line


def test_report_sorts_claims_naturally_and_writes_markdown(tmp_path):
    # real reproduction names, so the report (which lists registered reproductions) finds them
    for name, ids in (("localization", ["C3.1b", "C3.1", "C3.10"]), ("xor", ["C1.4", "C1.10", "C1.3"])):
        claims = tuple(Claim(i, f"claim {i}", at_least("value", 1.0)) for i in ids)
        rep = registry.Reproduction(name, name, claims, FakeConfig, _measure_all(ids), __name__)
        runner.run_reproduction(rep, out=tmp_path, log=lambda m: None, command=["test"],
                                overrides={"value": 1.0})
    summary = tmp_path / "SUMMARY.md"
    result = repro("report", "--results-dir", tmp_path, "--write", summary, width=200)
    assert result.returncode == 0, result.stderr
    order = ["C1.3", "C1.4", "C1.10", "C3.1", "C3.1b", "C3.10"]
    shown = [line.split()[0] for line in result.stdout.splitlines()[2:] if line.startswith("C")]
    assert shown == order
    header = result.stdout.splitlines()[1].split()
    assert header == ["claim", "verdict", "reason", "measured", "why", "run", "backend", "profile"]
    md = summary.read_text()
    assert [line.split(" | ")[0][2:] for line in md.splitlines() if line.startswith("| C")] == order
    assert "| claim_id | reproduction | verdict | reason |" in md and "| date |" in md
    narrow = repro("report", "--results-dir", tmp_path, width=60)
    assert_fits(narrow.stdout, 60)
    joined = " ".join(narrow.stdout.split())  # records: run id and date, backend, profile on one (wrapped) line
    assert re.search(r" run: xor/\S+ \(\d{4}-\d\d-\d\d \d\d:\d\d UTC\); backend: \w+; profile: default", joined)


def _measure_all(ids):
    def run(ctx):
        for claim_id in ids:
            ctx.measure(claim_id, value=ctx.config.value)
    return run


# -- the verdict table of `repro run`, `show` ------------------------------------------------------

def test_run_verdict_table_wraps_the_why_and_shows_the_reason(monkeypatch, capsys):
    from keras_repro import cli
    from keras_repro.suite.claims import evaluate

    monkeypatch.setenv("COLUMNS", "70")
    verdict = evaluate(Claim("C9.2", "v", at_least("value", 2.0)), {"value": 1.5}, profile="default",
                       notes=(LONG_NOTE,))
    cli._print_verdicts([("twotab", verdict)])
    out = capsys.readouterr().out
    assert "..." not in out and "claim" in out and "contradicted" in out
    joined = " ".join(out.split())
    assert "cut in the middle of a word." in joined  # the whole first sentence, over several lines
    assert all(len(line) <= 70 for line in out.splitlines()), out


def test_show_prints_plain_text_wrapped():
    result = repro("show", "xor", width=72)
    assert result.returncode == 0, result.stderr
    assert "``" not in result.stdout and ":math:" not in result.stdout and ":func:" not in result.stdout
    assert "Command: repro run xor" in result.stdout
    assert_fits(result.stdout, 72)


def test_plain_rest_and_paragraphs():
    assert text.plain_rest("use ``x`` and :math:`\\sigma` with :func:`~a.b`") == "use x and \\sigma with a.b"
    lines = text.paragraphs("One  long\nparagraph " + "word " * 30 + "\n\n- item one\n  continues\n- item two", 40)
    assert all(len(line) <= 40 for line in lines) and "" in lines
    assert any(line.startswith("- item one continues") for line in lines)
    assert any(line.startswith("- item two") for line in lines)


def test_natural_order_and_table_wrapping():
    ids = ["C1.10", "C3.1b", "C1.4", "C3.2", "C1.3", "C3.1"]
    assert sorted(ids, key=text.natural_key) == ["C1.3", "C1.4", "C1.10", "C3.1", "C3.1b", "C3.2"]
    lines = text.table(["claim", "measured"], [["C1.3", "alpha=1; " * 20], ["C1.10", "b=2"]], width=40)
    assert all(len(line) <= 40 for line in lines) and lines[1].startswith("C1.3   alpha=1;")
    assert all(not line.endswith("alph") for line in lines)  # never cut mid-word


# -- file modes ------------------------------------------------------------------------------------

def test_run_folder_files_follow_the_umask(tmp_path):
    import keras
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def with_artifacts(ctx):
        two_tables(ctx)
        fig = plt.figure()
        ctx.figure("plot", fig)
        ctx.save_model("tiny", keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]))

    rep = registry.Reproduction("modes", "Modes", tuple(CLAIMS), TwoConfig, with_artifacts, __name__)
    old = os.umask(0o022)
    try:
        folder = runner.run_reproduction(rep, out=tmp_path, log=lambda m: None, command=["test"]).path
    finally:
        os.umask(old)
    files = sorted(folder.iterdir())
    assert {p.suffix for p in files} >= {".csv", ".md", ".json", ".png", ".keras"}
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in files} == {p.name: "0o644" for p in files}
    assert oct(folder.stat().st_mode & 0o777) == "0o755"


# -- start-up: the reading commands import neither Keras nor a backend -----------------------------

@pytest.mark.parametrize("args", [["list"], ["show", "vgg_progressive"], ["report"], ["data", "list"],
                                  ["list", "--json"]])
def test_reading_commands_import_no_backend(args):
    result = repro(*args, probe=True)
    assert result.returncode == 0, result.stderr
    assert "HEAVY=\n" in result.stderr or result.stderr.rstrip().endswith("HEAVY="), result.stderr[-2000:]


def test_compare_imports_no_backend(runs):
    first, second = runs
    result = repro("compare", first, second, probe=True)
    assert result.returncode == 1 and result.stderr.rstrip().endswith("HEAVY="), result.stderr[-2000:]


def test_metadata_read_without_import_matches_the_imported_module():
    """What `list`/`show` read without importing each reproduction is what importing it declares."""
    from keras_repro.suite import config as config_mod

    imported = {r.name: r for r in registry.all_reproductions()}
    for module in sorted({r.module for r in imported.values()}):
        path = REPO / (module.replace(".", "/") + ".py")
        for static in registry._read_module(module, path):
            real = imported[static.name]
            assert (static.title, static.module, static.single_device) == (real.title, real.module,
                                                                             real.single_device)
            assert static.description == real.description
            assert [(c.id, c.statement, c.rule.describe(), c.note, c.erratum,
                     [p.describe() for p in c.preconditions], [e.describe() for e in c.effects])
                    for c in static.claims] == \
                [(c.id, c.statement, c.rule.describe(), c.note, c.erratum,
                  [p.describe() for p in c.preconditions], [e.describe() for e in c.effects]) for c in real.claims]
            assert [(f.name, f.type, repr(f.default), f.help, f.accepts)
                    for f in config_mod.describe_fields(static.config)] == \
                [(f.name, f.type, repr(f.default), f.help, f.accepts) for f in config_mod.describe_fields(real.config)]
            assert static.config.PROFILES == real.config.PROFILES


def test_metadata_falls_back_to_importing_when_it_needs_the_module(tmp_path, monkeypatch):
    """A module whose claims need an imported value is imported for real, never read wrong."""
    package = tmp_path / "fake_pkg_meta"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "needs.py").write_text(
        "import json as _json\nimport csv\nfrom keras_repro.suite.claims import Claim, at_least\n"
        "from keras_repro.suite.registry import reproduction\nfrom tests_fake_helper import THRESHOLD\n"
        "from fakes import FakeConfig\n"
        "@reproduction('needs_import', title='t', claims=[Claim('C8.1', 's', at_least('v', THRESHOLD))], "
        "config=FakeConfig)\ndef run(ctx):\n    pass\n")
    (tmp_path / "tests_fake_helper.py").write_text("THRESHOLD = 3.0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(registry.MetadataUnavailable):
        registry._read_module("fake_pkg_meta.needs", package / "needs.py")
    try:
        found = registry.described("fake_pkg_meta")
        assert found["needs_import"].claims[0].rule.describe() == "v >= 3"
        assert not found["needs_import"].metadata_only  # imported for real
    finally:
        registry._REGISTRY.pop("needs_import", None)
