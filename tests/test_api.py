"""The Python API for notebooks (issue 15): keras_repro.run(...) returns verdicts and tables as pandas
objects, runs exactly what `repro run` runs, and honours backend= in a fresh process."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import json, sys
import keras_repro
result = keras_repro.run("logic_gates", profile="smoke", seed=3, backend=sys.argv[2], out=sys.argv[1],
                         settings={"seeds": 2})
import pandas as pd
assert isinstance(result.verdicts, pd.DataFrame) and all(isinstance(t, pd.DataFrame) for t in result.tables.values())
try:
    keras_repro.run("no_such_reproduction")
    unknown = None
except ValueError as exc:
    unknown = str(exc)
print("RESULT " + json.dumps({"claims": list(result.verdicts["claim_id"]), "verdicts": list(result.verdicts["verdict"]),
                              "reasons": list(result.verdicts["reason"]), "tables": sorted(result.tables),
                              "path": str(result.path), "backend": result.info["backend"], "seed": result.info["seed"],
                              "config_seeds": result.info["config"]["seeds"], "unknown": unknown, "repr": repr(result)}))
"""


def test_run_returns_verdicts_and_tables_as_pandas_on_the_chosen_backend(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path), "jax"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stderr.strip() == ""  # quiet unless asked (verbose=True or log=...)
    out = json.loads([ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1][len("RESULT "):])
    assert out["backend"] == "jax" and out["seed"] == 3 and out["config_seeds"] == 2
    assert out["claims"] and set(out["verdicts"]) == {"inconclusive"} and set(out["reasons"]) == {"smoke profile"}
    assert out["tables"]  # the reproduction's own tables, by name
    folder = Path(out["path"])
    assert folder.parent == tmp_path / "logic_gates" and (folder / "claims.csv").is_file()
    for name in out["tables"]:
        assert (folder / f"{name}.csv").is_file()
    assert "Unknown reproduction" in out["unknown"] or "no_such_reproduction" in out["unknown"]
    assert out["repr"].startswith("RunResult('logic_gates'")
