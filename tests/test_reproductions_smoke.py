"""Every registered reproduction runs on the smoke profile (registry-driven: new ones are included)."""
import json

import pandas as pd
import pytest

from keras_repro import registry, runner

REPRODUCTIONS = registry.all_reproductions()


@pytest.mark.parametrize("repro", REPRODUCTIONS, ids=[r.name for r in REPRODUCTIONS])
def test_smoke_run(repro, tmp_path):
    outcome = runner.run_reproduction(repro, profile="smoke", seed=0, out=tmp_path, log=lambda m: None)
    info = json.loads((outcome.path / "run.json").read_text())
    assert info["status"] == "completed"
    claims = pd.read_csv(outcome.path / "claims.csv")
    assert list(claims["claim_id"]) == repro.claim_ids
    assert set(claims["verdict"]) <= {"inconclusive"}
    assert set(claims["rule_outcome"]) <= {"reproduced", "not reproduced", "not evaluated"}
    assert claims["measured"].notna().all()
    for table in info["tables"]:
        assert (outcome.path / f"{table['name']}.csv").exists()
        assert (outcome.path / f"{table['name']}.md").exists()
    for artifact in info["artifacts"]:
        assert (outcome.path / artifact).stat().st_size > 0


def test_every_reproduction_has_a_docstring_and_profiles():
    for repro in REPRODUCTIONS:
        assert repro.description, f"{repro.name} has no module docstring"
        assert f"repro run {repro.name}" in repro.description, f"{repro.name}: docstring should give its command"
        assert set(repro.config.PROFILES) <= {"smoke", "full"}


def test_every_reproduction_module_imports():
    assert registry.broken_modules() == {}
