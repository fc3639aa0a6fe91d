"""Throw-away reproductions for framework tests (registered only inside a fixture)."""
from dataclasses import dataclass

import pandas as pd

from keras_repro.suite.claims import Claim, at_least
from keras_repro.suite.config import ReproConfig


@dataclass
class FakeConfig(ReproConfig):
    value: float = 1.0
    fail: bool = False
    interrupt: bool = False
    PROFILES = {"smoke": {"value": 0.5}}


FAKE_CLAIMS = [Claim("C0.1", "value is at least 1", at_least("value", 1.0)),
               Claim("C0.2", "value is at least 2", at_least("value", 2.0))]


def fake_run(ctx):
    cfg = ctx.config
    ctx.progress("working")
    ctx.table("numbers", pd.DataFrame({"variant": ["a", "b"], "score": [cfg.value, cfg.value * 2]}))
    if cfg.interrupt:
        raise KeyboardInterrupt
    if cfg.fail:
        raise RuntimeError("boom")
    ctx.measure("C0.1", value=cfg.value)
    ctx.measure("C0.2", value=cfg.value)
