"""Throw-away reproductions for framework tests (registered only inside a fixture, or by ``register()``)."""
import os
import time
from dataclasses import dataclass

import pandas as pd

from keras_repro.suite.claims import Claim, at_least
from keras_repro.suite.config import ReproConfig


@dataclass
class FakeConfig(ReproConfig):
    value: float = 1.0
    fail: bool = False
    interrupt: bool = False
    sleep: float = 0.0  # seconds of "work" after the first table (a window for signals)
    rows: int = 2  # rows of the big table written after the sleep (more than 2: written)
    hog: bool = False  # fill the disk the results are on (as another program might), then write a table
    PROFILES = {"smoke": {"value": 0.5}}


FAKE_CLAIMS = [Claim("C0.1", "value is at least 1", at_least("value", 1.0)),
               Claim("C0.2", "value is at least 2", at_least("value", 2.0))]


def fake_run(ctx):
    cfg = ctx.config
    ctx.progress("working")
    ctx.table("numbers", pd.DataFrame({"variant": ["a", "b"], "score": [cfg.value, cfg.value * 2]}))
    if cfg.sleep:
        time.sleep(cfg.sleep)
    if cfg.hog:
        fd = os.open(ctx.out.parent.parent / "hog", os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError:
            pass
        finally:
            os.close(fd)
        ctx.table("after_the_disk_filled", pd.DataFrame({"row": range(100)}))
    if cfg.rows > 2:
        ctx.table("big", pd.DataFrame({"row": range(cfg.rows), "text": ["x" * 40] * cfg.rows}))
    if cfg.interrupt:
        raise KeyboardInterrupt
    if cfg.fail:
        raise RuntimeError("boom")
    ctx.measure("C0.1", value=cfg.value)
    ctx.measure("C0.2", value=cfg.value)


def register(name: str = "fake_repro"):
    """Register the fake (for a CLI process started by a test)."""
    from keras_repro.suite import registry

    registry.reproduction(name, title="A fake", claims=FAKE_CLAIMS, config=FakeConfig)(fake_run)
    return registry.get(name)


# A CLI process with the fake registered: python -c CLI_WITH_FAKE run fake_repro ...
CLI_WITH_FAKE = """
import sys
from keras_repro import _env
_env.filter_native_stderr()  # as the repro script does, before anything imports TensorFlow
sys.path.insert(0, {tests!r})
import fakes
fakes.register()
from keras_repro.cli import main
main(sys.argv[1:], prog_name="repro")
"""
