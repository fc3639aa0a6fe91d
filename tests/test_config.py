import math
from dataclasses import dataclass
from typing import Literal

import pytest

from keras_repro.suite.config import (SEED_MAX, ConfigError, ReproConfig, check_seed, describe_fields, make_config,
                                      parse_overrides, setting)


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
    names = [f.name for f in describe_fields(Cfg)]
    assert names == ["steps", "lr", "widths", "dataset", "augment", "limit"]
    assert {f.name: f.type for f in describe_fields(Cfg)}["widths"] == "tuple[int, ...]"
    assert make_config(Cfg).to_dict()["widths"] == [8, 16]


def _is_dataset(spec: str) -> None:
    if not spec.startswith(("digits", "tfds:")):
        raise ValueError(f"not a data source: {spec!r}")


@dataclass
class Declared(ReproConfig):
    epochs: int = setting(3, "training epochs", ge=1)
    keep_prob: float = setting(0.5, "probability that a unit is kept", gt=0, le=1)
    noise: float = setting(0.0, "label noise", ge=0)
    widths: tuple[int, ...] = setting((8, 16), "hidden widths", ge=1)
    optimizer: Literal["adam", "sgd"] = setting("adam", "adam or sgd")
    depth: Literal[26, 50] = setting(50, "ResNet depth")
    tasks: tuple[Literal["mlp", "lenet"], ...] = setting(("mlp",), "tasks compared")
    dataset: str = setting("digits", "data source", check=_is_dataset)
    low: float = setting(1e-3, "smallest rate", gt=0)
    high: float = setting(1.0, "largest rate", gt=0)
    PROFILES = {"smoke": {"epochs": 1}}

    def validate(self):
        if self.low >= self.high:
            raise ConfigError(f"low must be below high. Received: low={self.low}, high={self.high}")


def test_choices_are_parsed_and_listed():
    cfg = make_config(Declared, "default", {"optimizer": "sgd", "depth": "26", "tasks": "lenet,mlp"})
    assert (cfg.optimizer, cfg.depth, cfg.tasks) == ("sgd", 26, ("lenet", "mlp"))
    with pytest.raises(ConfigError, match=r"optimizer: expected one of 'adam', 'sgd'; got 'adm'"):
        make_config(Declared, "default", {"optimizer": "adm"})
    with pytest.raises(ConfigError, match=r"depth: expected one of 26, 50; got '34'"):
        make_config(Declared, "default", {"depth": "34"})
    with pytest.raises(ConfigError, match=r"tasks: expected one of 'mlp', 'lenet'; got 'vgg'"):
        make_config(Declared, "default", {"tasks": "mlp,vgg"})
    with pytest.raises(ConfigError, match="depth: expected one of 26, 50; got 34"):
        Declared(depth=34)  # the Python path is checked too
    with pytest.raises(ConfigError, match="depth"):
        Declared(depth="50")  # a string is not the int choice


@pytest.mark.parametrize("key, value, message", [
    ("epochs", "0", "epochs: expected a value >= 1, got 0"),
    ("epochs", "-5", "epochs: expected a value >= 1, got -5"),
    ("keep_prob", "0", "keep_prob: expected a value in (0, 1], got 0.0"),
    ("keep_prob", "1.5", "keep_prob: expected a value in (0, 1], got 1.5"),
    ("noise", "-0.1", "noise: expected a value >= 0, got -0.1"),
    ("widths", "8,0,4", "widths: expected values >= 1, got 0 (in (8, 0, 4))"),
    ("low", "nan", "low: expected a finite number, got nan"),
    ("high", "inf", "high: expected a finite number, got inf"),
    ("noise", "-inf", "noise: expected a finite number, got -inf"),
    ("dataset", "mnist", "dataset: not a data source: 'mnist'"),
    ("low", "2", "low must be below high"),
])
def test_declared_bounds_finite_floats_checks_and_validate(key, value, message):
    with pytest.raises(ConfigError) as info:
        make_config(Declared, "default", {key: value})
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_python_construction_is_checked_like_set():
    assert Declared(keep_prob=1).keep_prob == 1.0  # ints widen to floats, the upper bound is inclusive
    for bad in (dict(epochs=0), dict(keep_prob=math.nan), dict(widths=()), dict(widths=[4, -4]),
                dict(low=2.0), dict(epochs=2.0), dict(tasks=("mlp", "vgg"))):
        with pytest.raises(ConfigError):
            Declared(**bad)
    assert Declared(widths=[4, 2]).widths == (4, 2)  # lists become tuples


def test_subclasses_validate_instead_of_overriding_post_init():
    with pytest.raises(TypeError, match="validate"):
        @dataclass
        class Overrides(ReproConfig):
            steps: int = 1

            def __post_init__(self):
                pass


def test_describe_fields_gives_help_bounds_and_choices():
    fields = {f.name: f for f in describe_fields(Declared)}
    assert fields["epochs"].help == "training epochs" and fields["epochs"].accepts == ">= 1"
    assert fields["keep_prob"].accepts == "in (0, 1]"
    assert fields["optimizer"].type == "'adam' | 'sgd'" and fields["optimizer"].choices == ("adam", "sgd")
    assert fields["tasks"].type == "tuple['mlp' | 'lenet', ...]" and fields["tasks"].choices == ("mlp", "lenet")
    assert fields["depth"].choices == (26, 50) and fields["dataset"].accepts == ""


@pytest.mark.parametrize("seed", [0, 7, SEED_MAX])
def test_seeds_in_range_pass(seed):
    assert check_seed(seed) == seed


@pytest.mark.parametrize("seed", [-1, SEED_MAX + 1, 1.5, True, "3"])
def test_seeds_out_of_range_fail_in_one_line(seed):
    with pytest.raises(ConfigError, match=r"^seed: expected an integer in 0 … 4294967295, got"):
        check_seed(seed)
