"""Running one reproduction: config, seeds, run folder, provenance, verdicts.

``run_reproduction`` creates ``<out>/<name>/<run_id>/`` with ``run.json`` already in it (status
``running``, pid, host, a heartbeat kept fresh while the run lives: ``run_record``), hands a
:class:`Context` to the reproduction, evaluates every declared claim on what it measured, writes
``claims.csv`` and marks the run ``completed``. Any exception (including Ctrl-C, and SIGTERM or SIGHUP
once ``interrupts.install()`` ran) marks the run ``failed`` with the error, even on a full disk, and
is re-raised; earlier runs are never touched, and what killed runs left behind is swept first.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import os
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from keras_repro.suite import claims as claims_mod
from keras_repro.suite import interrupts, provenance, registry, results
from keras_repro.suite import jobs as jobs_mod
from keras_repro.suite.config import ReproConfig, check_seed, make_config
from keras_repro.suite.registry import Reproduction
from keras_repro.suite.run_record import RunRecord
from keras_repro.suite.runtime import Runtime

os.environ.setdefault("MPLBACKEND", "Agg")  # plots are files; never open a window


BACKUP_DIR = ".resume"  # in a resumable run's folder while it lives: each fit's training state and epoch logs


class ReproductionError(RuntimeError):
    """A reproduction broke its contract (e.g. measured nothing for a declared claim)."""


class Context:
    """What a reproduction's ``run(ctx)`` works with: config, seed, output, measurements."""

    def __init__(self, repro: Reproduction, config: ReproConfig, profile: str, seed: int, folder: Path,
                 log: Callable[[str], None], devices: int = 1, precision: str = "float32", verbosity: int = 1,
                 bar: Callable[[str], None] | None = None):
        self.name = repro.name
        self.config = config
        self.profile = profile
        self.seed = seed
        self.out = folder
        self._repro = repro
        self._log = log
        self._claim_ids = set(repro.claim_ids)
        self.measurements: dict[str, dict[str, Any]] = {cid: {} for cid in repro.claim_ids}
        self.notes: dict[str, list[str]] = {cid: [] for cid in repro.claim_ids}
        self.inconclusive_reasons: dict[str, str] = {}
        self.tables: list[dict[str, Any]] = []
        self.artifacts: list[str] = []
        self.models: dict[str, dict[str, Any]] = {}  # saved model file → input shape and preprocessing
        self.verbosity = verbosity
        self.runtime = Runtime(log=self.progress, devices=devices, precision=precision, verbosity=verbosity,
                               bar=(lambda text: bar(self._stamp(text))) if bar is not None else None)
        self._started = time.monotonic()

    # -- output ---------------------------------------------------------------------------------
    def progress(self, message: str) -> None:
        """One line of progress, prefixed with the elapsed time and the reproduction's name (none when quiet)."""
        if self.verbosity:
            self._log(self._stamp(message))

    def _stamp(self, message: str) -> str:
        return f"[{self.name} {time.monotonic() - self._started:6.1f}s] {message}"

    def plan(self, total: int, unit: str = "trainings") -> None:
        """Announce how many ``ctx.fit`` calls this run makes: progress then shows "7/17" and the time left."""
        self.runtime.plan(total, unit)

    def _check_claim(self, claim_id: str) -> None:
        if claim_id not in self._claim_ids:
            raise ReproductionError(f"{self.name} does not declare claim {claim_id!r} "
                                    f"(declared: {', '.join(sorted(self._claim_ids))})")

    def measure(self, claim_id: str, **values: Any) -> None:
        """Record measurements that ``claim_id``'s rule reads (and any others worth showing with it)."""
        self._check_claim(claim_id)
        self.measurements[claim_id].update({k: _plain(v) for k, v in values.items()})

    def note(self, claim_id: str, text: str) -> None:
        """Add an explanation shown with the claim's verdict (an erratum, why it failed, ...)."""
        self._check_claim(claim_id)
        self.notes[claim_id].append(text)

    def inconclusive(self, claim_id: str, reason: str) -> None:
        """Declare that the claim cannot be judged in this run (only: a required dataset is absent).

        Raising :class:`keras_repro.data.DataUnavailable` from ``run`` does this for every claim.
        """
        self._check_claim(claim_id)
        self.inconclusive_reasons[claim_id] = reason

    def table(self, name: str, df: pd.DataFrame, keys: list[str] | None = None, caption: str = "") -> None:
        """Write a result table as CSV + Markdown. ``keys``: columns identifying a row (for compare)."""
        if name == results.CLAIMS_TABLE or any(t["name"] == name for t in self.tables):
            raise ReproductionError(f"table name {name!r} is reserved or already used")
        if keys is None:
            keys = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
        missing = [k for k in keys if k not in df.columns]
        if missing:
            raise ReproductionError(f"table {name!r}: key columns {missing} are not in the table")
        written = results.write_table(self.out, name, df.reset_index(drop=True), caption)
        self.tables.append({"name": name, "keys": list(keys), "rows": int(len(df)), **written})

    def figure(self, name: str, fig) -> Path:
        """Save a matplotlib figure as ``name.png`` in the run folder and close it."""
        import matplotlib.pyplot as plt

        path = self.out / f"{name}.png"
        with results.atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
        plt.close(fig)
        self.artifacts.append(path.name)
        return path

    def save_model(self, name: str, model, include_optimizer: bool = False, *,
                   preprocessing: dict[str, Any] | None = None) -> Path:
        """Save ``model`` as ``name.keras`` in the run folder (loadable after ``import keras_repro``).

        By default without optimizer state (Adam's slots would triple the file): results are for use,
        not for resuming training. ``preprocessing``: how the training inputs were made from raw
        0…255 images, ``{"scale": 1/255}`` and optionally per-channel ``"mean"``/``"std"`` (after
        scaling); the file then holds ``with_preprocessing(model, **preprocessing)``, so an app's
        ``load_model(path).predict(uint8_images)`` is right, and ``run.json``'s ``models`` records it.
        """
        from keras_repro.models import inference_copy, with_preprocessing

        if not include_optimizer and getattr(model, "optimizer", None) is not None:
            model = inference_copy(model)
        facts: dict[str, Any] = {"input_shape": list(model.inputs[0].shape[1:]) if len(model.inputs) == 1 else None,
                                 "preprocessing": None}
        if preprocessing is not None:
            unknown = set(preprocessing) - {"scale", "mean", "std"}
            if unknown:
                raise ReproductionError(f"save_model({name!r}): unknown preprocessing keys {sorted(unknown)} "
                                        "(valid: scale, mean, std)")
            model = with_preprocessing(model, **preprocessing, name=model.name)
            facts["preprocessing"] = {"input": "raw images, 0-255", "scale": float(preprocessing.get("scale", 1 / 255)),
                                      **{k: [float(v) for v in preprocessing[k]] for k in ("mean", "std")
                                         if preprocessing.get(k) is not None}}
        path = self.out / f"{name}.keras"
        with results.atomic_path(path) as tmp:
            model.save(tmp)
        self.artifacts.append(path.name)
        self.models[path.name] = facts
        return path

    # -- randomness and training -----------------------------------------------------------------
    def seed_for(self, *parts: int) -> int:
        """A seed derived from the run's seed and ``parts`` (e.g. a repeat index), stable across runs."""
        return int(np.random.SeedSequence([self.seed, *parts]).generate_state(1)[0] % (2**31 - 1))

    def reseed(self, *parts: int) -> int:
        """Seed Keras, NumPy and Python with ``seed_for(*parts)`` and return that seed.

        Before building a model: the same ``parts`` give the same initial weights (and dropout masks,
        shuffles), e.g. ``ctx.reseed(seed, 1)`` for every variant compared on one seed.
        """
        import keras

        seed = self.seed_for(*parts)
        keras.utils.set_random_seed(seed)
        return seed

    def rng(self, *parts: int) -> np.random.Generator:
        return np.random.default_rng(self.seed_for(*parts))

    def scope(self):
        return self.runtime.scope()

    def fit(self, model, *args, **kwargs):
        return self.runtime.fit(model, *args, **kwargs)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclass
class RunOutcome:
    path: Path
    claims: list[claims_mod.ClaimResult]
    seconds: float
    unavailable: str | None = None  # why the data could not be had (the claims are then inconclusive)
    mocked: str | None = None  # dry run: how data of the real shape stood in for an absent dataset


def _data_specs(config: ReproConfig) -> list[str]:
    """The dataset spec strings a config names (fields called ``dataset``), for the availability check."""
    value = getattr(config, "dataset", None)
    return [value] if isinstance(value, str) and value else []


def _missing_data(config: ReproConfig) -> tuple[str, str] | None:
    """(spec, one-sentence reason) for the first dataset of ``config`` that cannot be had here, else None."""
    from keras_repro.data.sources import DataError, check_available, parse_spec

    data_dir = getattr(config, "data_dir", None) or None
    for spec in _data_specs(config):
        try:
            check_available(spec, data_dir)
        except DataError as exc:
            return str(parse_spec(spec)), str(exc)
    return None


def _mock_examples(config: ReproConfig) -> int:
    """Stand-in examples per split in a dry run: two batches of the config's batch size (16 to 512)."""
    return int(min(max(2 * int(getattr(config, "batch_size", 8) or 8), 16), 512))


def set_global_seed(seed: int) -> None:
    """Seed Python, NumPy and the backend; on TensorFlow also switch on op determinism."""
    import keras

    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        try:
            tf.config.experimental.enable_op_determinism()
        except RuntimeError:  # already enabled in this process
            pass


def _publish_run_folder(parent: Path, profile: str, seed: int, info: dict[str, Any]) -> tuple[Path, RunRecord]:
    """Create the run folder with its running run.json already inside, and return it with its record.

    The folder is filled under a hidden staging name and renamed into place, so no run folder ever
    lacks its run.json (a staging folder left by a killed process is swept by the next run). The
    run id is unique: a rename onto a folder another run just published fails, and the next id is tried.
    """
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")

    def fill(staging: Path, run_id: str) -> RunRecord:
        info["run_id"] = run_id
        return RunRecord(staging / results.RUN_FILE, info)

    folder, record = results.publish_new_folder(parent, f"{stamp}-{profile}-s{seed}", fill)
    record.moved_to(folder)
    return folder, record


def run_reproduction(repro: Reproduction, *, profile: str = "default", seed: int = 0,
                     overrides: dict[str, Any] | None = None, out: Path = Path("results"),
                     log: Callable[[str], None] = print, command: list[str] | None = None,
                     dry_run: bool = False, devices: int | str | None = None,
                     precision: str = "float32", verbosity: int = 1,
                     bar: Callable[[str], None] | None = None, log_dir: Path | None = None,
                     resumable: bool | None = None, resume: Path | None = None) -> RunOutcome:
    """Run ``repro`` and write its run folder; see the module docstring.

    ``devices``: train data-parallel over that many devices (``"all"``: every one available; see
    :class:`~keras_repro.suite.runtime.Runtime`); reproductions marked ``single_device`` ignore it (one
    log line says so). ``precision``: a Keras dtype policy for the run. Bad values raise
    :class:`~keras_repro.suite.runtime.DistributionError` before any folder exists.

    ``dry_run``: the profile's config with the reproduction's ``DRY_RUN`` budget cuts, every epoch of
    every ``fit`` cut to a few batches, data of the real shape standing in for an absent tfds dataset, and
    no verdicts (every claim ``inconclusive``, reason ``dry run``). A dataset that cannot be had (not
    in a dry run) makes every claim ``inconclusive`` (reason ``dataset unavailable``) without training.

    ``resumable`` (default: on for the full profile): every fit keeps its training state in the run folder's
    ``.resume/`` while the run lives (removed when it completes). ``resume``: the folder of an interrupted or
    failed resumable run of ``repro`` (see :mod:`keras_repro.suite.resume`); it runs again in that folder
    with its recorded profile, seed and settings, every fit continuing from its last finished epoch, and
    ``run.json`` lists the attempt under ``resumed``.
    """
    check_seed(seed)  # bad seeds and --set values fail before any folder exists
    config = make_config(repro.config, profile, overrides, dry_run=dry_run)
    missing = _missing_data(config)
    import keras

    from keras_repro.suite.runtime import PRECISIONS, DistributionError, check_batch, resolve_devices

    if precision not in PRECISIONS:
        raise DistributionError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    if repro.single_device and devices not in (None, 1, "1"):
        log(f"{repro.name} steps optimisers by hand and runs on one device: --devices {devices} is ignored")
        devices = None
    n_devices = resolve_devices(keras.backend.backend(), devices)
    check_batch(getattr(config, "batch_size", None), n_devices, repro.name)
    if resumable is None:
        resumable = profile == "full" and not dry_run
    previous = None
    if resume is not None:
        from keras_repro.suite import resume as resume_mod

        previous = resume_mod.check_resumable(Path(resume), repro.name, config.to_dict())
        resumable, out = True, Path(resume).parent.parent
    parent = Path(out) / repro.name
    results.check_writable(parent)
    results.sweep_results(Path(out), sorted(set(registry.described()) | {repro.name}))

    started = _dt.datetime.now(_dt.timezone.utc)
    info: dict[str, Any] = {
        "reproduction": repro.name,
        "title": repro.title,
        "run_id": None,
        "status": results.RUNNING,
        "profile": profile,
        "dry_run": dry_run,
        "seed": seed,
        "backend": keras.backend.backend(),
        "device": provenance.device_description(),
        "devices": provenance.device_details(),
        **provenance.git_state(),
        "packages": provenance.package_versions(),
        "machine": provenance.machine(),
        "command": command if command is not None else sys.argv,
        "overrides": dict(overrides or {}),
        "config": config.to_dict(),
        "claims": repro.claim_ids,
        "started": started.isoformat(timespec="seconds"),
        "precision": precision,  # both rewritten in full when the run ends (from the runtime's facts)
        "distribution": {"devices": n_devices},
        **({"resumable": True} if resumable else {}),
        **jobs_mod.recorded(),  # started by repro run --jobs: how many workers, and whether it ran alone
    }
    if previous is not None:
        folder = Path(resume)
        info = resume_mod.resumed_info(previous, info)
        record = RunRecord(folder / results.RUN_FILE, info)
        log(f"resuming {folder}: every fit continues from its last finished epoch")
    else:
        folder, record = _publish_run_folder(parent, profile, seed, info)
    ctx = None
    t0 = time.monotonic() - float(previous.get("seconds") or 0) if previous is not None else time.monotonic()
    mocked = unavailable = None
    try:
        record.start_heartbeat()
        set_global_seed(seed)
        ctx = Context(repro, config, profile, seed, folder, log, devices=n_devices, precision=precision,
                      verbosity=verbosity, bar=bar)
        if log_dir is not None:  # Keras's CSVLogger / TensorBoard per trained model, beside the run folder
            ctx.runtime.log_dir = Path(log_dir) / repro.name / folder.name
        if resumable:
            ctx.runtime.backup_dir = folder / BACKUP_DIR
        with contextlib.ExitStack() as stack:
            stack.callback(ctx.runtime.close)
            ctx.runtime.start()
            if missing is not None and dry_run and missing[0].startswith("tfds:"):
                from keras_repro.data.mock import mock_tfds

                how = stack.enter_context(mock_tfds(_mock_examples(config)))
                mocked = f"{missing[0]} is not available here; data of its real shape and classes stand in: {how}"
                missing = None
                log(f"dry run: {mocked}")
            ctx.runtime.dry_run = dry_run
            if missing is not None:
                unavailable = f"{missing[1]}"
            else:
                unavailable = _run_body(repro, ctx)
        if unavailable is not None:
            outcomes = [claims_mod.unavailable(claim, unavailable) for claim in repro.claims]
        else:
            outcomes = [claims_mod.evaluate(claim, ctx.measurements[claim.id], profile=profile, dry_run=dry_run,
                                            inconclusive_reason=ctx.inconclusive_reasons.get(claim.id),
                                            notes=tuple(ctx.notes[claim.id])) for claim in repro.claims]
        claims_df = pd.DataFrame([o.row() for o in outcomes])
        written = results.write_table(folder, results.CLAIMS_TABLE, claims_df, caption=repro.title)
        seconds = time.monotonic() - t0
        ending = {"status": results.COMPLETED, "finished": _now(), "seconds": round(seconds, 2),
                  "tables": [{"name": results.CLAIMS_TABLE, "keys": ["claim_id"], "rows": len(outcomes),
                              **written}] + ctx.tables,
                  "artifacts": ctx.artifacts, "verdicts": {o.claim_id: o.verdict for o in outcomes},
                  **({"models": ctx.models} if ctx.models else {}), **_process_facts(ctx)}
        if unavailable is not None:
            ending["dataset_unavailable"] = unavailable
        if mocked is not None:
            ending["mock_data"] = mocked
        with interrupts.deferred():  # the end is written whole; a signal meanwhile is raised just after
            record.complete(**ending)
        if resumable:  # the training states served their purpose: the run folder keeps only results
            import shutil

            shutil.rmtree(folder / BACKUP_DIR, ignore_errors=True)
    except BaseException as exc:
        with interrupts.deferred():
            problem = record.fail(status=results.FAILED, error=interrupts.describe(exc),
                                  traceback=traceback.format_exc(limit=20), finished=_now(),
                                  seconds=round(time.monotonic() - t0, 2), tables=ctx.tables if ctx else [],
                                  artifacts=ctx.artifacts if ctx else [], **(_process_facts(ctx) if ctx else {}))
        with contextlib.suppress(AttributeError):  # for the CLI's message: what is on disk now
            exc.run_folder, exc.recorded_status, exc.record_problem = folder, record.info["status"], problem
        raise
    return RunOutcome(folder, outcomes, seconds, unavailable, mocked)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _run_body(repro: Reproduction, ctx: Context) -> str | None:
    """Run the reproduction; a dataset found missing on the way is returned (the reason), not raised."""
    from keras_repro.data.sources import DataUnavailable

    try:
        repro.run(ctx)
    except DataUnavailable as exc:
        return str(exc)
    for claim in repro.claims:
        if claim.id not in ctx.inconclusive_reasons and not ctx.measurements[claim.id]:
            raise ReproductionError(f"{repro.name} recorded no measurement for {claim.id}")
    return None


def _process_facts(ctx: Context) -> dict[str, Any]:
    """What the process actually used: frameworks it loaded, and the compiler setting of its models."""
    loaded = sorted(name for name in ("tensorflow", "jax", "torch") if name in sys.modules)
    return {"frameworks_loaded": loaded, **ctx.runtime.facts, "training_time": ctx.runtime.timing()}
