"""Registry, runner, run folders, atomic writes and compare."""
import json
import warnings
from pathlib import Path

import pandas as pd
import pytest
from fakes import FAKE_CLAIMS, FakeConfig, fake_run

from keras_repro.suite import registry, results, runner
from keras_repro.suite.claims import Claim, at_least
from keras_repro.suite.config import ConfigError


@pytest.fixture
def fake():
    registry.reproduction("fake_repro", title="A fake", claims=FAKE_CLAIMS, config=FakeConfig)(fake_run)
    yield registry.get("fake_repro")
    registry._REGISTRY.pop("fake_repro", None)


def run(fake, tmp_path, **kw):
    return runner.run_reproduction(fake, out=tmp_path, log=lambda m: None, command=["test"], **kw)


def test_unknown_name_suggests_close_matches():
    with pytest.raises(registry.UnknownReproduction, match="did you mean xor"):
        registry.get("xr")
    with pytest.raises(registry.UnknownReproduction, match="repro list"):
        registry.get("qqqqqqq")


def test_registration_rejects_bad_declarations_and_warns_on_duplicates(fake):
    with pytest.raises(ValueError, match="no claims"):
        registry.reproduction("x", title="x", claims=[], config=FakeConfig)
    with pytest.raises(ValueError, match="twice"):
        registry.reproduction("x", title="x", claims=FAKE_CLAIMS[:1] * 2, config=FakeConfig)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")

        def other(ctx):
            pass

        other.__module__ = "somewhere_else"
        registry.reproduction("fake_repro", title="again", claims=FAKE_CLAIMS, config=FakeConfig)(other)
    assert any("registered again" in str(w.message) for w in caught)


def test_every_registered_claim_id_is_in_the_catalog():
    catalog = Path(__file__).resolve().parents[2] / "shared" / "CLAIMS.md"
    if not catalog.exists():
        pytest.skip("claims catalog not beside the checkout")
    import re

    ids = set(re.findall(r"\*\*(C\d+\.\d+b?)\b", catalog.read_text(encoding="utf-8")))
    assert "C1.1" in ids and "C5.2" in ids and "C3.1b" in ids
    for repro in registry.all_reproductions():
        for claim in repro.claims:
            assert claim.id in ids, f"{repro.name}: {claim.id} is not a catalog ID"


def test_completed_run_folder_has_claims_tables_and_provenance(fake, tmp_path):
    outcome = run(fake, tmp_path, profile="default", seed=3, overrides={"value": "1.5"})
    info = json.loads((outcome.path / "run.json").read_text())
    assert info["status"] == "completed"
    for key in ("git_commit", "git_dirty", "packages", "backend", "device", "seed", "profile", "config",
                "started", "finished"):
        assert key in info, key
    assert info["seed"] == 3 and info["config"]["value"] == 1.5 and info["packages"]["keras"]
    claims = pd.read_csv(outcome.path / "claims.csv")
    assert list(claims.columns[:5]) == ["claim_id", "verdict", "reason", "measured", "rule"]
    assert dict(zip(claims.claim_id, claims.verdict)) == {"C0.1": "reproduced", "C0.2": "not reproduced"}
    assert (outcome.path / "numbers.csv").exists() and (outcome.path / "numbers.md").exists()
    assert "run.json" in (outcome.path / "numbers.md").read_text()
    assert not list(outcome.path.glob(".*")), "temporary files left behind"


def test_smoke_profile_verdicts_are_inconclusive(fake, tmp_path):
    outcome = run(fake, tmp_path, profile="smoke")
    assert {c.verdict for c in outcome.claims} == {"inconclusive"}


@pytest.mark.parametrize("flag,exc,message", [("fail", RuntimeError, "RuntimeError: boom"),
                                              ("interrupt", KeyboardInterrupt, "interrupted")])
def test_crash_or_interrupt_marks_the_run_failed_and_keeps_earlier_runs(fake, tmp_path, flag, exc, message):
    earlier = run(fake, tmp_path)
    before = {p.name: p.read_bytes() for p in earlier.path.iterdir()}
    with pytest.raises(exc):
        run(fake, tmp_path, overrides={flag: "true"})
    runs, problems = results.list_runs(tmp_path, "fake_repro")
    assert not problems and [r.status for r in runs] == ["completed", "failed"]
    assert message in runs[1].info["error"]
    assert {p.name: p.read_bytes() for p in earlier.path.iterdir()} == before
    assert results.latest_run(tmp_path, "fake_repro").path == earlier.path


def test_bad_override_fails_before_any_folder_is_created(fake, tmp_path):
    with pytest.raises(ConfigError):
        run(fake, tmp_path, overrides={"nope": "1"})
    assert not (tmp_path / "fake_repro").exists()


def test_unwritable_output_is_a_clear_error(fake, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(results.ResultsError, match="cannot write results"):
        run(fake, blocker / "sub")


def test_measuring_an_undeclared_claim_or_nothing_is_a_contract_error(tmp_path):
    @registry.reproduction("fake_bad", title="bad", claims=[Claim("C0.1", "x", at_least("v", 1))], config=FakeConfig)
    def bad(ctx):
        ctx.measure("C9.9", v=1)

    @registry.reproduction("fake_lazy", title="lazy", claims=[Claim("C0.1", "x", at_least("v", 1))], config=FakeConfig)
    def lazy(ctx):
        pass

    try:
        with pytest.raises(runner.ReproductionError, match="does not declare claim 'C9.9'"):
            runner.run_reproduction(registry.get("fake_bad"), out=tmp_path, log=lambda m: None)
        with pytest.raises(runner.ReproductionError, match="no measurement for C0.1"):
            runner.run_reproduction(registry.get("fake_lazy"), out=tmp_path, log=lambda m: None)
    finally:
        registry._REGISTRY.pop("fake_bad", None)
        registry._REGISTRY.pop("fake_lazy", None)


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "table.csv"
    target.write_text("old")
    with pytest.raises(ZeroDivisionError):
        with results.atomic_path(target) as tmp:
            tmp.write_text("half")
            1 / 0
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]


def test_compare_shows_differences_and_flags_regressions(fake, tmp_path):
    a = results.load_run(run(fake, tmp_path, overrides={"value": "2.5"}).path)
    b = results.load_run(run(fake, tmp_path, overrides={"value": "1.5"}).path)
    comparison = results.compare_runs(a, b)
    numbers = next(t for t in comparison.tables if t.name == "numbers").frame
    assert list(numbers["score_diff"]) == [-1.0, -2.0]
    assert list(comparison.regressions["claim_id"]) == ["C0.2"]
    assert results.compare_runs(a, a).regressions.empty


def test_corrupted_run_json_gives_one_clear_error(fake, tmp_path):
    good = run(fake, tmp_path)
    bad = tmp_path / "fake_repro" / "20990101-000000-default-s0"
    bad.mkdir()
    (bad / "run.json").write_text("{not json")
    with pytest.raises(results.ResultsError, match="corrupted"):
        results.load_run(bad)
    runs, problems = results.list_runs(tmp_path, "fake_repro")
    assert [r.path for r in runs] == [good.path] and len(problems) == 1
    with pytest.raises(results.ResultsError, match="no completed run"):
        results.resolve_run("nothing@latest", tmp_path)
    with pytest.raises(results.ResultsError, match="a newer run folder is damaged"):  # never older results silently
        results.resolve_run("fake_repro@latest", tmp_path)
    assert results.resolve_run(f"fake_repro@{good.path.name}", tmp_path).path == good.path


def test_same_seed_gives_the_same_numbers(tmp_path):
    from keras_repro.suite import registry, runner

    repro = registry.get("layer_null_space")
    tables = []
    for out in ("a", "b"):
        outcome = runner.run_reproduction(repro, profile="smoke", seed=11, out=tmp_path / out, log=lambda m: None)
        tables.append((outcome.path / "perturbations.csv").read_text())
    assert tables[0] == tables[1]


def test_reseed_gives_the_same_initial_weights_for_the_same_parts(fake, tmp_path):
    import keras

    ctx = runner.Context(fake, FakeConfig(), "smoke", 5, tmp_path, log=lambda m: None)

    def initial_kernel(*parts):
        assert ctx.reseed(*parts) == ctx.seed_for(*parts)
        layer = keras.layers.Dense(3)
        layer.build((None, 4))
        return keras.ops.convert_to_numpy(layer.kernel).tolist()

    assert initial_kernel(1, 2) == initial_kernel(1, 2) != initial_kernel(1, 3)


def test_saved_classifier_carries_its_preprocessing_and_run_json_records_it(tmp_path):
    import keras
    import numpy as np

    mean, std = (0.4, 0.5, 0.6), (0.2, 0.25, 0.3)
    holder = {}

    def saves_a_classifier(ctx):
        keras.utils.set_random_seed(0)
        inputs = keras.Input((6, 6, 3))
        x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(2, 3)(inputs))
        model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x), name="tiny")
        model.compile("adam", "sparse_categorical_crossentropy")  # saved without its optimizer
        holder["model"] = model
        ctx.save_model("tiny", model, preprocessing={"scale": 1 / 255, "mean": mean, "std": std})
        ctx.save_model("as_is", model)
        ctx.measure("C0.1", value=1.0)
        ctx.measure("C0.2", value=2.0)

    rep = registry.Reproduction("saves", "Saves", tuple(FAKE_CLAIMS), FakeConfig, saves_a_classifier, __name__)
    folder = runner.run_reproduction(rep, out=tmp_path, log=lambda m: None, command=["test"]).path
    info = json.loads((folder / "run.json").read_text())
    assert info["status"] == "completed"
    assert info["models"]["tiny.keras"] == {
        "input_shape": [6, 6, 3],
        "preprocessing": {"input": "raw images, 0-255", "scale": pytest.approx(1 / 255), "mean": list(mean),
                          "std": list(std)}}
    assert info["models"]["as_is.keras"] == {"input_shape": [6, 6, 3], "preprocessing": None}
    loaded = keras.saving.load_model(folder / "tiny.keras", safe_mode=True)
    raw = np.random.default_rng(0).integers(0, 256, (4, 6, 6, 3)).astype("uint8")
    expected = holder["model"].predict((raw / 255 - np.asarray(mean)) / np.asarray(std), verbose=0)
    np.testing.assert_allclose(loaded.predict(raw, verbose=0), expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(runner.ReproductionError, match="unknown preprocessing keys"):
        runner.Context(rep, FakeConfig(), "smoke", 0, tmp_path, lambda m: None).save_model(
            "bad", holder["model"], preprocessing={"offset": 1})
