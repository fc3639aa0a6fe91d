from dataclasses import dataclass

import pytest

from keras_repro.suite.config import ConfigError, ReproConfig, describe_fields, make_config, parse_overrides


@dataclass
class Cfg(ReproConfig):
    steps: int = 100
    lr: float = 0.1
    widths: tuple[int, ...] = (8, 16)
    dataset: str = "digits"
    augment: bool = True
    limit: int | None = None
    PROFILES = {"smoke": {"steps": 5, "widths": (4,)}, "full": {"steps": 1000, "lr": 1}}


def test_profiles_apply_over_defaults():
    assert make_config(Cfg, "default").steps == 100
    smoke = make_config(Cfg, "smoke")
    assert (smoke.steps, smoke.widths, smoke.lr) == (5, (4,), 0.1)
    full = make_config(Cfg, "full")
    assert full.lr == 1.0 and isinstance(full.lr, float)


def test_overrides_are_parsed_by_type():
    cfg = make_config(Cfg, "smoke", parse_overrides(["steps=7", "lr=1e-3", "widths=1,2, 3", "augment=no",
                                                      "dataset=tfds:mnist", "limit=none"]))
    assert (cfg.steps, cfg.lr, cfg.widths, cfg.augment, cfg.dataset, cfg.limit) == \
        (7, 1e-3, (1, 2, 3), False, "tfds:mnist", None)
    assert make_config(Cfg, "default", {"limit": "50"}).limit == 50


def test_unknown_key_lists_the_valid_ones():
    with pytest.raises(ConfigError, match="unknown config key 'step'.*valid keys: augment, dataset, limit, lr, steps, widths"):
        make_config(Cfg, "default", {"step": "3"})


@pytest.mark.parametrize("key,value,expected", [("steps", "3.5", "expected int"), ("lr", "fast", "expected float"),
                                                ("augment", "maybe", "true/false"), ("widths", "a,b", "expected int")])
def test_bad_values_name_the_expected_type(key, value, expected):
    with pytest.raises(ConfigError, match=expected):
        make_config(Cfg, "default", {key: value})


def test_bad_profile_and_malformed_pairs():
    with pytest.raises(ConfigError, match="unknown profile"):
        make_config(Cfg, "huge")
    with pytest.raises(ConfigError, match="key=value"):
        parse_overrides(["steps"])


def test_profiles_are_type_checked_too():
    @dataclass
    class Broken(ReproConfig):
        steps: int = 1
        PROFILES = {"smoke": {"steps": "five"}}

    with pytest.raises(ConfigError, match="steps"):
        make_config(Broken, "smoke")


def test_describe_fields_and_to_dict():
    names = [name for name, _, _ in describe_fields(Cfg)]
    assert names == ["steps", "lr", "widths", "dataset", "augment", "limit"]
    assert dict((n, t) for n, t, _ in describe_fields(Cfg))["widths"] == "tuple[int, ...]"
    assert make_config(Cfg).to_dict()["widths"] == [8, 16]
