"""Every reproduction's config (registry-driven): it builds in every profile, every field says what it
is and what it accepts, and a bad value fails when the config is built, in one line, before any run
folder or model exists."""
import dataclasses
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from keras_repro.cli import main
from keras_repro.suite import registry, runner
from keras_repro.suite.config import PROFILES, SEED_MAX, ConfigError, describe_fields, field_types, make_config

from conftest import REPO

REPRODUCTIONS = registry.all_reproductions()


def _fields(kind):
    """(reproduction, field, its declared bounds) for every field of every reproduction matching ``kind``."""
    out = []
    for repro in REPRODUCTIONS:
        info = {f.name: f for f in describe_fields(repro.config)}
        types = field_types(repro.config)
        for f in dataclasses.fields(repro.config):
            if kind(types[f.name], info[f.name], f.metadata.get("bounds", {})):
                out.append(pytest.param(repro, info[f.name], f.metadata.get("bounds", {}),
                                        id=f"{repro.name}.{f.name}"))
    return out


def _numeric(tp, wanted):
    return tp is wanted or tp == tuple[wanted, ...]


CHOICES = _fields(lambda tp, info, bounds: bool(info.choices))
BOUNDED = _fields(lambda tp, info, bounds: bool(bounds))
FLOATS = _fields(lambda tp, info, bounds: _numeric(tp, float))


@pytest.mark.parametrize("dry_run", [False, True], ids=["", "dry-run"])
@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("repro", REPRODUCTIONS, ids=[r.name for r in REPRODUCTIONS])
def test_every_profile_builds(repro, profile, dry_run):
    config = make_config(repro.config, profile, dry_run=dry_run)
    assert set(config.to_dict()) == {f.name for f in describe_fields(repro.config)}


@pytest.mark.parametrize("repro", REPRODUCTIONS, ids=[r.name for r in REPRODUCTIONS])
def test_every_field_says_what_it_is_and_every_count_its_range(repro):
    types = field_types(repro.config)
    for field in describe_fields(repro.config):
        assert field.help, f"{repro.name}.{field.name} has no help: declare it with setting(default, help, ...)"
        if _numeric(types[field.name], int) and not field.choices:
            assert field.accepts, f"{repro.name}.{field.name}: an int field declares its range (ge=...)"


def test_there_are_choice_fields_to_test():
    assert len(CHOICES) >= 8  # save_models, optimizer, depth, subsampling, channels, test_photos, ...


@pytest.mark.parametrize("repro, field, bounds", CHOICES)
def test_a_bad_choice_fails_when_the_config_is_built_and_lists_the_choices(repro, field, bounds):
    with pytest.raises(ConfigError) as info:
        make_config(repro.config, "smoke", {field.name: "no_such_choice"})
    message = str(info.value)
    assert message.startswith(f"{field.name}: expected one of ") and message.endswith("got 'no_such_choice'")
    assert all(repr(choice) in message for choice in field.choices) and "\n" not in message


def _outside(bounds: dict, integer: bool) -> str:
    """A value just outside the declared bounds, as ``--set`` would give it."""
    name, limit = next(iter(bounds.items()))
    step = 1 if integer else 0.5
    value = {"ge": limit - step, "gt": limit, "le": limit + step, "lt": limit}[name]
    return str(int(value) if integer else float(value))


@pytest.mark.parametrize("repro, field, bounds", BOUNDED)
def test_a_value_out_of_its_range_fails_when_the_config_is_built(repro, field, bounds):
    text = _outside(bounds, field.type in ("int", "tuple[int, ...]"))
    with pytest.raises(ConfigError) as info:
        make_config(repro.config, "smoke", {field.name: text})
    assert str(info.value).startswith(f"{field.name}: expected ") and field.accepts in str(info.value)


@pytest.mark.parametrize("repro, field, bounds", FLOATS)
@pytest.mark.parametrize("text", ["nan", "inf", "-inf"])
def test_float_fields_reject_nan_and_inf(repro, field, bounds, text):
    with pytest.raises(ConfigError, match=f"^{field.name}: expected a finite number, got"):
        make_config(repro.config, "smoke", {field.name: text})


@pytest.mark.parametrize("repro", [r for r in REPRODUCTIONS if "dataset" in field_types(r.config)],
                         ids=lambda r: r.name)
def test_a_dataset_is_checked_when_the_config_is_built(repro):
    with pytest.raises(ConfigError, match="^dataset: .*'imagenet_typo'"):
        make_config(repro.config, "smoke", {"dataset": "imagenet_typo"})


def test_repro_show_prints_each_fields_type_range_choices_and_help(tmp_path):
    result = CliRunner().invoke(main, ["show", "vgg_progressive", "--results-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    at = lines.index("  save_models ('all' | 'deepest' | 'none') = 'deepest'")
    assert lines[at + 1].strip().startswith("models saved: all, deepest")
    assert "  epochs_per_depth (int, >= 1) = 5   [smoke=1, full=20]" in lines
    assert "  width_multiplier (float, > 0) = 0.125   [smoke=0.0625, full=1.0]" in lines


# -- through the CLI: one line, exit 2, and no run folder -----------------------------------------
def test_a_bad_choice_through_the_installed_cli_is_one_line_and_leaves_nothing(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, "-m", "keras_repro.cli", "run", "vgg_progressive", "--profile", "smoke",
                           "--set", "save_models=everything", "--out", str(tmp_path / "results")],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert proc.stderr.strip().splitlines() == [
        "Error: save_models: expected one of 'all', 'deepest', 'none'; got 'everything'"]
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("args, message", [
    (["least_squares", "--set", "examples=-5"], "examples: expected a value >= 1, got -5"),  # was LinAlgError mid-run
    (["least_squares", "--set", "examples=0"], "examples: expected a value >= 1, got 0"),
    (["least_squares", "--set", "examples=5"], "examples must exceed features"),
    (["least_squares", "--set", "gd_learning_rate=nan"], "gd_learning_rate: expected a finite number, got nan"),
    (["resnet_degradation", "--set", "depths=20,51"], "depths must be 6n + 2"),
    (["dropout", "--set", "keep_prob=0"], "keep_prob: expected a value in (0, 1], got 0.0"),
    (["xor", "--seed", "-1"], f"seed: expected an integer in 0 … {SEED_MAX}, got -1"),
    (["xor", "--seed", str(SEED_MAX + 1)], f"seed: expected an integer in 0 … {SEED_MAX}, got {SEED_MAX + 1}"),
])
def test_bad_values_and_seeds_fail_in_one_line_before_any_folder(tmp_path, args, message):
    result = CliRunner().invoke(main, ["run", *args, "--profile", "smoke", "--out", str(tmp_path / "results")])
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith("Error: ") and message in line
    assert not (tmp_path / "results").exists()


def test_the_python_path_checks_the_seed_and_the_config_before_any_folder(tmp_path):
    repro = registry.get("least_squares")
    for kwargs in (dict(seed=-1), dict(seed=SEED_MAX + 1), dict(overrides={"features": "0"})):
        with pytest.raises(ConfigError):
            runner.run_reproduction(repro, profile="smoke", out=tmp_path, log=lambda m: None, **kwargs)
    assert not any(tmp_path.iterdir())
