"""The Python API for notebooks and scripts: ``keras_repro.run("xor", profile="smoke")``.

It runs a reproduction exactly as ``repro run`` does (same run folder, same verdicts) and returns the
verdicts and every table as pandas objects. The backend is Keras's: pass ``backend=`` before Keras is
first imported in the process (afterwards only the backend already in force can be used).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd


@dataclass
class RunResult:
    """What :func:`run` returns: the run folder, its verdicts and its tables."""

    name: str
    path: Path
    seconds: float
    verdicts: pd.DataFrame  # one row per claim: claim_id, verdict, reason, measured, rule, note, ...
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)  # run.json: provenance, config, devices, precision

    def __repr__(self) -> str:
        shown = ", ".join(f"{r.claim_id} {r.verdict}" for r in self.verdicts.itertuples())
        return f"RunResult({self.name!r}: {shown}; {len(self.tables)} tables; {self.path})"


def run(name: str, *, profile: str = "default", seed: int = 0, backend: str | None = None,
        out: str | Path = "results", settings: dict[str, Any] | None = None, devices: int | str | None = None,
        precision: str = "float32", verbose: bool = False, log: Callable[[str], None] | None = None) -> RunResult:
    """Run the reproduction ``name`` and return its verdicts and tables.

    ``settings`` overrides config fields (as ``--set KEY=VALUE``; values may be Python objects, e.g.
    ``{"epochs": 5, "widths": (8, 16)}``). ``out``: the results folder (a new run folder under
    ``out/name/``). Progress lines go to ``log`` (``print`` when ``verbose``; nothing otherwise).
    Unknown names, bad settings and a backend that cannot be had raise ``ValueError`` with one sentence.
    """
    from keras_repro import _env

    try:
        _env.select_backend(backend)
    except _env.BackendError as exc:
        raise ValueError(str(exc)) from None
    _env.import_keras_quietly()
    _import_tensorflow_quietly()  # the data pipelines may import it on any backend: its start-up chatter now
    from keras_repro.suite import config as config_mod
    from keras_repro.suite import registry as registry_mod
    from keras_repro.suite import results, runner

    try:
        repro = registry_mod.get(name)
    except registry_mod.UnknownReproduction as exc:
        raise ValueError(str(exc)) from None
    overrides = config_mod.parse_overrides([f"{k}={_text(v)}" for k, v in (settings or {}).items()])
    outcome = runner.run_reproduction(repro, profile=profile, seed=seed, overrides=overrides, out=Path(out),
                                      log=log or (print if verbose else (lambda m: None)),
                                      command=["keras_repro.run", name], devices=devices, precision=precision,
                                      verbosity=1 if (verbose or log) else 0)
    record = results.load_run(outcome.path)
    tables = {t: record.table(t) for t in record.table_names() if t != results.CLAIMS_TABLE}
    return RunResult(name, Path(outcome.path), outcome.seconds, record.table(results.CLAIMS_TABLE), tables,
                     dict(record.info))


def _import_tensorflow_quietly() -> None:
    import importlib.util
    import sys

    from keras_repro import _env

    if "tensorflow" in sys.modules or importlib.util.find_spec("tensorflow") is None:
        return
    _env.quiet_tensorflow()
    with _env.native_stderr_silenced():
        import tensorflow as tf

        tf.config.list_physical_devices()


def _text(value: Any) -> str:
    """A Python value as ``--set`` would spell it: sequences comma-separated."""
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)
