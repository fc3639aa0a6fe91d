"""Every registered reproduction runs on the smoke profile (registry-driven: new ones are included),
and every model it saves loads in a separate program after ``import keras_repro``."""
import json

import pandas as pd
import pytest

from keras_repro.suite import registry, runner

from conftest import assert_ok, run_python

# One worker runs this module: its smoke runs are shared (in-process) by the tests below.
pytestmark = pytest.mark.xdist_group("smoke_in_process")

REPRODUCTIONS = registry.all_reproductions()
_OUTCOMES = {}


@pytest.fixture(scope="module")
def smoke_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("smoke")


def smoke_outcome(repro, smoke_dir):
    if repro.name not in _OUTCOMES:
        _OUTCOMES[repro.name] = runner.run_reproduction(repro, profile="smoke", seed=0, out=smoke_dir,
                                                        log=lambda m: None)
    return _OUTCOMES[repro.name]


@pytest.mark.parametrize("repro", REPRODUCTIONS, ids=[r.name for r in REPRODUCTIONS])
def test_smoke_run(repro, smoke_dir):
    outcome = smoke_outcome(repro, smoke_dir)
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


def test_saved_models_load_in_a_separate_program(smoke_dir):
    paths = []
    for repro in REPRODUCTIONS:
        paths += sorted(str(p) for p in smoke_outcome(repro, smoke_dir).path.glob("*.keras"))
    assert paths, "no reproduction saved a model"
    out = assert_ok(run_python(f"""
        import keras, numpy as np
        import keras_repro
        for path in {paths!r}:
            model = keras.saving.load_model(path, safe_mode=True)
            shape = [d or 2 for d in model.inputs[0].shape]
            model.predict(np.zeros(shape, dtype="float32"), verbose=0)
            print("loaded", path)
    """, timeout=600))
    assert out.count("loaded ") == len(paths)


def test_every_reproduction_has_a_docstring_and_profiles():
    for repro in REPRODUCTIONS:
        assert repro.description, f"{repro.name} has no module docstring"
        assert f"repro run {repro.name}" in repro.description, f"{repro.name}: docstring should give its command"
        assert set(repro.config.PROFILES) <= {"smoke", "full"}


def test_every_reproduction_module_imports():
    assert registry.broken_modules() == {}
