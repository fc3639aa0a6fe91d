"""Fuzz of the results reader: damaged claims.csv and run.json never pass a gate.

Two identical completed runs A and B; B is then damaged in one way (cut at seeded random bytes,
emptied, binary, foreign columns, a verdict out of the vocabulary, a field of the wrong type, a listed
file missing...). ``repro compare`` either way round must exit non-zero with one ``Error:`` line,
``show`` and ``report`` must say what is damaged without a traceback, and ``report`` must exit
non-zero: a damaged table can never make a gate pass.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from fakes import register

from keras_repro.cli import main
from keras_repro.suite import registry, results, runner

from conftest import REPO

SEED = 16


@pytest.fixture(scope="module", params=["recorded", "legacy"])
def pair(tmp_path_factory, request):
    """Two completed runs; ``legacy``: without the column kinds and digests that runs record since the
    reader checks them (the committed reference runs), so the schema alone must catch the damage."""
    register()
    root = tmp_path_factory.mktemp("pair")
    repro = registry.get("fake_repro")
    runs = [runner.run_reproduction(repro, out=root / "base", log=lambda m: None).path for _ in range(2)]
    if request.param == "legacy":
        for run in runs:
            info = json.loads((run / "run.json").read_text())
            info["tables"] = [{k: v for k, v in t.items() if k in ("name", "keys", "rows")} for t in info["tables"]]
            (run / "run.json").write_text(json.dumps(info, indent=2) + "\n")
    yield tuple(runs)
    registry._REGISTRY.pop("fake_repro", None)


def _cuts(text: str, n: int, rng: np.random.Generator) -> list[str]:
    points = sorted(set(rng.integers(1, len(text) - 1, n).tolist()))
    return [text[:p] for p in points]


def claims_damages(good: str, numbers: str) -> dict[str, str | bytes]:
    rng = np.random.default_rng(SEED)
    header, first, *rest = good.splitlines(keepends=True)
    cases: dict[str, str | bytes] = {
        "empty": "", "header only": header, "one row of two": header + first,
        "binary": rng.integers(0, 256, 600, dtype=np.uint8).tobytes(),
        "nul bytes": good.replace(",", "\x00", 3),
        "foreign columns": numbers, "unrelated csv": "a,b,c\n1,2,3\n",
        "verdict misspelt": good.replace("not reproduced", "not reprodcued", 1),
        "verdict changed": good.replace("not reproduced", "reproduced", 1),
        "row duplicated": good + first, "claim id emptied": good.replace("C0.1", "", 1),
        "column dropped": "\n".join(",".join(line.split(",")[:2]) for line in good.splitlines()) + "\n",
        "utf-16": good.encode("utf-16"),
        "measured mangled": good.replace("value=", "value:", 1),
    }
    cases.update({f"cut at byte {len(c)}": c for c in _cuts(good, 8, rng)})
    return cases


def run_json_damages(good: str) -> dict[str, str | bytes]:
    rng = np.random.default_rng(SEED)
    info = json.loads(good)

    def changed(**fields) -> str:
        return json.dumps({**info, **fields})

    def without(field) -> str:
        return json.dumps({k: v for k, v in info.items() if k != field})

    cases: dict[str, str | bytes] = {
        "empty": "", "binary": rng.integers(0, 256, 400, dtype=np.uint8).tobytes(), "a list": "[1, 2]",
        "foreign object": '{"a": 1}', "no status": without("status"), "status unknown": changed(status="done"),
        "seed a string": changed(seed="abc"), "seconds negative": changed(seconds=-3),
        "tables a string": changed(tables="claims"), "table rows a string": changed(
            tables=[{**info["tables"][0], "rows": "two"}, *info["tables"][1:]]),
        "verdict out of vocabulary": changed(verdicts={k: "sure" for k in info["verdicts"]}),
        "artifact escapes": changed(artifacts=["../../etc/passwd"]), "no claims": without("claims"),
        "claims differ": changed(claims=["C9.9"]), "rows altered": changed(
            tables=[{**info["tables"][0], "rows": 5}, *info["tables"][1:]]),
        "column kinds altered": changed(tables=[info["tables"][0], {**info["tables"][1], "columns": {
            "variant": "number", "score": "number"}}]),
    }
    cases.update({f"cut at byte {len(c)}": c for c in _cuts(good, 8, rng)})
    return cases


def _damaged_copy(b, tmp_path, filename, content):
    copy = tmp_path / "results" / "fake_repro" / b.name
    shutil.copytree(b.parent.parent, tmp_path / "results")
    target = copy / filename
    if isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(content, encoding="utf-8")
    return copy


def _assert_never_passes(a, damaged, results_dir):
    cli = CliRunner()
    for args in (["compare", str(a), str(damaged)], ["compare", str(damaged), str(a)],
                 ["compare", str(a), "fake_repro@latest", "--results-dir", str(results_dir)]):
        result = cli.invoke(main, args)
        assert result.exit_code != 0, (args, result.output)
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), (args, result.output)
        assert "damaged" in lines[0] or "corrupted" in lines[0], (args, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit)
    shown = cli.invoke(main, ["show", "fake_repro", "--results-dir", str(results_dir)])
    assert isinstance(shown.exception, (SystemExit, type(None))), shown.output
    assert shown.exit_code != 0 or "warning: skipped a run folder" in shown.output, shown.output
    reported = cli.invoke(main, ["report", "--results-dir", str(results_dir)])
    assert reported.exit_code != 0 and "Traceback" not in reported.output, reported.output


@pytest.mark.parametrize("filename", ["claims.csv", "run.json"])
def test_every_damage_is_one_line_and_never_a_pass(pair, tmp_path, filename):
    a, b = pair
    good = (b / filename).read_text()
    cases = claims_damages(good, (b / "numbers.csv").read_text()) if filename == "claims.csv" \
        else run_json_damages(good)
    for n, (case, content) in enumerate(cases.items()):
        damaged = _damaged_copy(b, tmp_path / str(n), filename, content)
        try:
            _assert_never_passes(a, damaged, damaged.parent.parent)
        except AssertionError as exc:
            raise AssertionError(f"{filename} {case}: {exc}") from None
    assert len(cases) >= 20


def test_a_listed_file_missing_is_damage(pair, tmp_path):
    a, b = pair
    damaged = _damaged_copy(b, tmp_path, "numbers.md", "")
    (damaged / "numbers.md").unlink()
    _assert_never_passes(a, damaged, damaged.parent.parent)


def test_the_untouched_pair_compares_clean(pair):
    a, b = pair
    result = CliRunner().invoke(main, ["compare", str(a), str(b)])
    assert result.exit_code == 0 and "verdict changes" in result.output


@pytest.mark.parametrize("case", ["cut", "foreign", "header only"])
def test_the_repro_command_in_a_fresh_process(pair, tmp_path, case):
    a, b = pair
    good = (b / "claims.csv").read_text()
    content = {"cut": good[: len(good) // 2], "foreign": "a,b,c\n1,2,3\n", "header only": good.splitlines()[0]}[case]
    damaged = _damaged_copy(b, tmp_path, "claims.csv", content)
    proc = subprocess.run([sys.executable, "-m", "keras_repro.cli", "compare", str(a), str(damaged)], cwd=REPO,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 1 and proc.stdout == "" and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("Error: ") and "damaged" in proc.stderr


def test_results_error_is_what_the_reader_raises(pair, tmp_path):
    a, b = pair
    damaged = _damaged_copy(b, tmp_path, "claims.csv", "a,b\n1,2\n")
    legacy = "sha256" not in (b / "run.json").read_text()
    with pytest.raises(results.ResultsError, match="not a claims table" if legacy else "SHA-256"):
        results.compare_runs(results.load_run(a), results.load_run(damaged))
