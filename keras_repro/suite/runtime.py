"""The one seam through which reproductions build and train models.

Reproductions build models inside ``runtime.scope()`` and train them with ``runtime.fit(...)``.
Distribution strategies (``tf.distribute`` on TensorFlow, ``keras.distribution`` on JAX) and mixed
precision wrap these two calls, so they can be added here without touching any reproduction.
"""
from __future__ import annotations

import contextlib
import time
from typing import Callable, Iterator

import keras


class EpochLogKeeper(keras.callbacks.Callback):
    """Keeps a fit's epoch logs in ``path`` (JSON, rewritten atomically each epoch), so a resumed fit can
    hand back the whole history: Keras's ``BackupAndRestore`` restores the weights, not the history."""

    def __init__(self, path, earlier: dict[str, list] | None = None):
        super().__init__()
        self.path = path
        self.logs: dict[str, list] = {k: list(v) for k, v in (earlier or {}).items()}

    def on_epoch_end(self, epoch, logs=None):
        import json

        from keras_repro.suite import results

        for key, value in (logs or {}).items():
            self.logs.setdefault(key, []).append(float(value))
        results.atomic_write_text(self.path, json.dumps(self.logs))


class EpochTimer(keras.callbacks.Callback):
    """Wall time of each epoch of a fit (the first one includes tracing and compiling the step)."""

    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []
        self._start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.monotonic() - self._start)


class _EpochBatches(keras.callbacks.Callback):
    """Fills the variables that :meth:`Runtime._batches_as_dataset`'s dataset reads with one epoch of a
    PyDataset's batches at the epoch's start, asking for them as Keras's adapter would at that epoch's
    first batch (``on_epoch_begin``, Python's ``random.shuffle`` of the batch indices when shuffling,
    ``data[i]`` in that order), and calls the PyDataset's ``on_epoch_end`` at the epoch's end (Keras: after
    the last batch, before the callbacks; this callback comes first)."""

    def __init__(self, data, shuffle: bool, count: int, variables: tuple):
        super().__init__()
        self.data, self.shuffle, self.count, self.variables = data, shuffle, count, variables

    def on_epoch_begin(self, epoch, logs=None):
        import random

        import numpy as np

        self.data.on_epoch_begin()
        indices = list(range(self.count))
        if self.shuffle:
            random.shuffle(indices)
        batches = [self.data[i] for i in indices]
        if len(self.data) != self.count:
            raise ValueError(f"{type(self.data).__name__} declares fixed_batches but changed its number of "
                             f"batches from {self.count} to {len(self.data)}")
        x, y, starts = self.variables
        x.assign(np.concatenate([b[0] for b in batches]))
        y.assign(np.concatenate([b[1] for b in batches]))
        starts.assign(np.cumsum([0] + [len(b[0]) for b in batches]))

    def on_epoch_end(self, epoch, logs=None):
        self.data.on_epoch_end()


class ProgressLogger(keras.callbacks.Callback):
    """Reports epoch progress through ``log`` at most every ``every_s`` seconds (and at the end).

    ``bar``: when given (a terminal), every epoch redraws one status line through it instead (a bar with
    the epoch and the time left in this fit), and the last epoch is logged as a line.
    """

    def __init__(self, log: Callable[[str], None], label: str = "", every_s: float = 5.0,
                 bar: Callable[[str], None] | None = None):
        super().__init__()
        self._log, self._label, self._every, self._bar = log, label, every_s, bar
        self._last = 0.0
        self._start = 0.0
        self._epochs = 0

    def on_train_begin(self, logs=None):
        self._epochs = int(self.params.get("epochs") or 0)
        self._start = self._last = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        now = time.monotonic()
        shown = ", ".join(f"{k} {v:.4g}" for k, v in (logs or {}).items() if isinstance(v, (int, float)))
        prefix = f"{self._label}: " if self._label else ""
        done = epoch + 1
        if self._bar is not None and done < self._epochs:
            left = (now - self._start) / done * (self._epochs - done)
            filled = int(20 * done / max(self._epochs, 1))
            self._bar(f"{prefix}[{'#' * filled}{'.' * (20 - filled)}] epoch {done}/{self._epochs}, "
                      f"{_duration(left)} left in this fit; {shown}")
            return
        if now - self._last >= self._every or done == self._epochs:
            self._last = now
            self._log(f"{prefix}epoch {done}/{self._epochs} {shown}")


def _duration(seconds: float) -> str:
    """'45 s', '3 min', '1.5 h'."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


STEPS_TOGETHER = 16  # training steps per call into the backend where nothing watches single batches
# models with more layers than this keep one step per call: tracing the step inside a loop costs them
# seconds (ResNet-56 on TensorFlow: +3 to 6 s per architecture) and their steps are long
DEEP_LAYERS = 40
DRY_RUN_STEPS = 2  # training (and validation) batches per epoch of every fit in a dry run
TWINS_KEPT = 8  # trained twins a run keeps (see Runtime._twin_for); REPRO_REUSE_TRAINING=0 turns them off


PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


class DistributionError(ValueError):
    """The requested devices or precision cannot be used here (one sentence, shown before any run folder)."""


def available_devices(backend: str) -> list[str]:
    """Names of the devices a data-parallel run can use on ``backend``: the accelerators, else the CPU devices.

    On JAX the CPU devices are ``--xla_force_host_platform_device_count`` simulated ones; on TensorFlow
    the logical CPU devices configured by :func:`keras_repro._env.prepare_devices`.
    """
    if backend == "jax":
        import jax

        accelerators = [d for d in jax.devices() if d.platform != "cpu"]
        devices = accelerators or jax.devices("cpu")
        return [f"{d.platform}:{d.id}" for d in devices]
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_logical_devices("GPU")
        return [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
    return ["cpu:0"]


def torch_cpu_threads() -> int | None:
    """On torch without a GPU: one intra-op thread (``REPRO_TORCH_THREADS`` to change it); the count in force.

    The suite's models are small: with its default of one thread per core, torch's OpenMP workers wait on
    each other at every op, and LeNet-5 trained 10x slower on 2 threads than on 1 (12.9 against 1.2 s per
    epoch on the 2-core development machine while other jobs ran; TensorFlow 0.6, JAX 0.5).
    """
    import os

    import torch

    if torch.cuda.is_available():
        return None
    wanted = int(os.environ.get("REPRO_TORCH_THREADS", "1"))
    if wanted > 0 and torch.get_num_threads() != wanted:
        torch.set_num_threads(wanted)
    return torch.get_num_threads()


def resolve_devices(backend: str, devices: int | str | None) -> int:
    """How many devices ``--devices`` asks for (``None``: 1; ``"all"``: every one available), checked."""
    if devices is None:
        return 1
    if devices == "all":
        return 1 if backend == "torch" else len(available_devices(backend))
    n = int(devices)
    if n < 1:
        raise DistributionError(f"--devices must be a positive number or 'all'. Received: {devices!r}")
    if n > 1 and backend == "torch":
        raise DistributionError("--devices > 1 is not supported on the torch backend; use --backend jax or "
                                "tensorflow for data-parallel training")
    if n > 1:
        have = available_devices(backend)
        if n > len(have):
            raise DistributionError(f"--devices {n}: only {len(have)} device(s) are available on {backend} "
                                    f"({', '.join(have)})")
    return n


def check_batch(batch_size, devices: int, name: str = "") -> None:
    """The config's ``batch_size`` is the global batch: it must divide over the devices."""
    if devices > 1 and isinstance(batch_size, int) and batch_size % devices:
        raise DistributionError(f"{name + ': ' if name else ''}batch_size {batch_size} (the global batch) does not "
                                f"divide over {devices} devices; choose a multiple of {devices} with "
                                f"--set batch_size=...")


class Runtime:
    """Where models are built and trained: one device, or data-parallel over several, at a precision.

    ``devices`` > 1: on JAX ``keras.distribution.DataParallel`` (variables replicated, each batch sharded
    along its first axis), on TensorFlow ``tf.distribute.MirroredStrategy``. The batch size a
    reproduction passes is the global batch. JAX needs every batch to divide over the devices: ``fit``
    leaves out the last ``(len % batch) % devices`` examples of array data (and trims each batch of a
    pipeline to a multiple of the devices), logged once and recorded in ``facts``. Evaluation and
    prediction outside ``fit`` run unsharded (replicated variables accept unsharded inputs).
    ``precision`` is a Keras dtype policy, set for the run by :meth:`start` and reset by :meth:`close`.

    Compilation: Keras's ``jit_compile="auto"``, which compiles with XLA on JAX always and on
    TensorFlow when a GPU is present (the reproductions never turn it off); ``facts`` records what
    the first trained model resolved it to, for ``run.json``.
    """

    def __init__(self, log: Callable[[str], None] = print, dry_run: bool = False, devices: int = 1,
                 precision: str = "float32", verbosity: int = 1, bar: Callable[[str], None] | None = None):
        self.log = log
        # 0: no progress lines; 1: throttled epoch lines (or a redrawn bar on a terminal); 2: every epoch
        self.verbosity = verbosity
        self.bar = bar if verbosity == 1 else None
        self.planned = 0  # trainings the reproduction announced with plan(); 0: unknown
        self.plan_unit = "trainings"
        self.fits = 0  # trainings started so far
        self.log_dir = None  # a folder: each fit writes Keras's CSVLogger (and TensorBoard) logs under it
        # a folder: each fit keeps its training state there every epoch (BackupAndRestore) and its epoch logs,
        # so a resumed run continues each fit where it stopped (a finished fit trains no more)
        self.backup_dir = None
        self._fit_seconds: list[float] = []
        self._first_epoch_extra = 0.0  # sum over fits of (first epoch - median later epoch): compile estimate
        self.dry_run = dry_run  # every fit: at most DRY_RUN_STEPS batches per epoch (and of validation)
        self.devices = int(devices)
        self.precision = precision
        self.facts: dict[str, object] = {}
        self._engine = None  # DataParallel (JAX) or MirroredStrategy (TensorFlow) when devices > 1
        self._saved_policy = None
        self._trim_logged = False
        self._process = (1, 0)  # (processes, this process's index) of a multi-process job
        self._permutations: dict[tuple, object] = {}  # (examples, TF's global seed) -> Keras's shuffle order

    def start(self) -> dict[str, object]:
        """Set up the distribution and the dtype policy; return what ``run.json`` records about them."""
        if self.precision not in PRECISIONS:
            raise DistributionError(f"unknown precision {self.precision!r}; choose one of {', '.join(PRECISIONS)}")
        backend = keras.backend.backend()
        n = resolve_devices(backend, self.devices)
        names = available_devices(backend)[:n] if n > 1 else []
        distribution: dict[str, object] = {"engine": "none (one device)", "devices": 1, "processes": 1}
        from keras_repro.suite.processes import group as process_group

        group = process_group()
        if group is not None:
            import jax

            n = len(jax.devices())
            self._engine = keras.distribution.DataParallel(devices=jax.devices())
            self._engine.auto_shard_dataset = False  # each process feeds its own part: see fit
            self._process = (int(group["processes"]), int(group["process_id"]))
            names = [f"{d.platform}:{d.id} (process {d.process_index})" for d in jax.devices()]
            distribution = {"engine": "keras.distribution.DataParallel (JAX, XLA SPMD, multi-process)",
                            "devices": n, "device_names": names, "processes": jax.process_count(),
                            "process_id": jax.process_index(), "coordinator": group["coordinator"],
                            "batches": "global batch; each process feeds its 1/processes of it: array data strided "
                                       "by process (process i holds examples i, i + K, ...), pipeline batches "
                                       "strided the same way"}
        elif n > 1 and backend == "jax":
            import jax

            chosen = [d for d in (jax.devices() if jax.devices()[0].platform != "cpu" else jax.devices("cpu"))][:n]
            self._engine = keras.distribution.DataParallel(devices=chosen)
            distribution = {"engine": "keras.distribution.DataParallel (JAX, XLA SPMD)", "devices": n,
                            "device_names": names, "processes": jax.process_count(),
                            "batches": "global batch sharded over the devices; fit leaves out the last "
                                       "(examples % batch) % devices examples (arrays) or trims each batch to a "
                                       "multiple of the devices (pipelines)"}
        elif n > 1 and backend == "tensorflow":
            import tensorflow as tf

            self._engine = tf.distribute.MirroredStrategy(
                devices=names, cross_device_ops=tf.distribute.ReductionToOneDevice())
            distribution = {"engine": "tf.distribute.MirroredStrategy (ReductionToOneDevice)", "devices": n,
                            "device_names": names, "processes": 1,
                            "batches": "global batch split over the replicas (a last partial batch unevenly)"}
        if backend == "torch":
            self.facts["torch_threads"] = torch_cpu_threads()
        self.devices = n
        self._saved_policy = keras.config.dtype_policy()
        keras.config.set_dtype_policy(self.precision)
        self.facts["distribution"] = distribution
        self.facts["precision"] = self.precision
        return {"distribution": distribution, "precision": self.precision}

    def close(self) -> None:
        """Undo :meth:`start` (the global dtype policy)."""
        if self._saved_policy is not None:
            keras.config.set_dtype_policy(self._saved_policy)
            self._saved_policy = None

    @property
    def distribution(self):
        """The ``keras.distribution.Distribution`` (JAX) or ``tf.distribute.Strategy`` in use, else ``None``."""
        return self._engine

    @contextlib.contextmanager
    def scope(self) -> Iterator[None]:
        """Build models (and compile them) inside this scope."""
        if self._engine is None:
            yield
        else:
            with self._engine.scope():
                yield

    def timing(self) -> dict[str, float | int]:
        """Where the run's time went, for ``run.json``: fits, seconds inside ``fit``, and how much of that the
        first epochs took beyond the median later epoch (tracing and compiling, mostly; fits of one epoch
        do not count there)."""
        return {"fits": self.fits, "seconds_in_fit": round(sum(self._fit_seconds), 2),
                "first_epoch_extra_s": round(self._first_epoch_extra, 2)}

    def plan(self, total: int, unit: str = "trainings") -> None:
        """Announce how many ``fit`` calls the run will make, so progress shows "7/17" and the time left."""
        self.planned, self.plan_unit = int(total), unit

    def fit(self, model: keras.Model, *args, label: str = "", progress: bool = True, **kwargs):
        """``model.fit`` with Keras's own output off and throttled progress lines instead."""
        self.fits += 1
        if self.planned:
            label = f"{self.fits}/{self.planned} {label}".rstrip()
        started = time.monotonic()
        try:
            return self._fit_placed(model, *args, label=label, progress=progress, **kwargs)
        finally:
            self._fit_seconds.append(time.monotonic() - started)
            if self.planned and progress and self.verbosity and self.fits < self.planned:
                mean = sum(self._fit_seconds) / len(self._fit_seconds)
                self.log(f"{self.plan_unit} {self.fits}/{self.planned} done; about "
                         f"{_duration(mean * (self.planned - self.fits))} left")

    def _fit_placed(self, model: keras.Model, *args, label: str = "", progress: bool = True, **kwargs):
        if self._engine is not None and keras.backend.backend() == "jax":
            args, kwargs = self._divisible(args, kwargs)  # global batches divide over every device of the job
        if self._process[0] > 1:
            args, kwargs = self._process_part(args, kwargs)
        with self.scope():
            return self._fit(model, *args, label=label, progress=progress, **kwargs)

    def _process_part(self, args, kwargs):
        """This process's part of a fit's data in a job of several processes, and the per-process batch.

        The config's batch size stays the global batch: each of the K processes feeds every K-th example
        (arrays: examples i, i + K, ...; pipelines: the same stride within each batch), batch / K at a time.
        """
        k, i = self._process
        batch_size = kwargs.get("batch_size") or 32
        validation = kwargs.get("validation_data")
        if validation is not None:
            kwargs["validation_data"] = _stride(validation, k, i)
            first = validation[0] if isinstance(validation, tuple) else validation
            if not hasattr(first, "cardinality"):
                kwargs["validation_batch_size"] = (kwargs.get("validation_batch_size") or batch_size) // k
        args = list(args)
        if args:
            args = [_stride(a, k, i) for a in args]
        for key in ("x", "y", "sample_weight"):
            if key in kwargs:
                kwargs[key] = _stride(kwargs[key], k, i)
        first = args[0] if args else kwargs.get("x")
        if not hasattr(first, "cardinality"):  # arrays: Keras batches them, batch / K per process
            kwargs["batch_size"] = batch_size // k
        return tuple(args), kwargs

    def _divisible(self, args, kwargs):
        """Make every batch of ``fit`` divide over the devices (JAX shards each batch evenly)."""
        n = self.devices
        args = list(args)
        batch_size = kwargs.get("batch_size") or 32
        if batch_size % n:
            raise DistributionError(f"a batch of {batch_size} does not divide over {n} devices (the batch size is "
                                    f"the global batch)")
        left_out = 0
        if args:
            args[0], dropped = _divisible_data(args[0], args[1] if len(args) > 1 else None, batch_size, n)
            if dropped and len(args) > 1:
                args[1] = args[1][: len(args[1]) - dropped]
            if dropped and len(args) > 2:  # sample weights
                args[2] = args[2][: len(args[2]) - dropped]
            left_out += dropped
        elif "x" in kwargs:
            kwargs["x"], dropped = _divisible_data(kwargs["x"], kwargs.get("y"), batch_size, n)
            if dropped and kwargs.get("y") is not None:
                kwargs["y"] = kwargs["y"][: len(kwargs["y"]) - dropped]
            left_out += dropped
        validation = kwargs.get("validation_data")
        if validation is not None:
            vbatch = kwargs.get("validation_batch_size") or batch_size
            if isinstance(validation, tuple):
                vx, dropped = _divisible_data(validation[0], validation[1] if len(validation) > 1 else None, vbatch, n)
                kwargs["validation_data"] = (vx, *(v[: len(v) - dropped] if dropped else v for v in validation[1:]))
                left_out += dropped
            else:
                kwargs["validation_data"], _ = _divisible_data(validation, None, vbatch, n)
        if left_out:
            self.facts["examples_left_out_per_fit"] = max(left_out, int(self.facts.get("examples_left_out_per_fit", 0)))
            if not self._trim_logged:
                self._trim_logged = True
                self.log(f"{n} devices: the last {left_out} example(s) of a fit's data are left out so that every "
                         f"batch divides over the devices (recorded in run.json)")
        return tuple(args), kwargs

    def _log_callbacks(self, label: str) -> list:
        """CSVLogger (always) and TensorBoard (where tensorflow and tensorboard are installed) for
        this fit, named by its number and label: ``LOG_DIR/NN-label.csv`` and ``LOG_DIR/tensorboard/NN-label``."""
        import importlib.util
        import re
        from pathlib import Path

        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("_")[:60] or "fit"
        name = f"{self.fits:02d}-{slug}"
        root = Path(self.log_dir)
        root.mkdir(parents=True, exist_ok=True)
        callbacks = [keras.callbacks.CSVLogger(str(root / f"{name}.csv"))]
        if importlib.util.find_spec("tensorflow") is not None and importlib.util.find_spec("tensorboard") is not None:
            callbacks.append(keras.callbacks.TensorBoard(str(root / "tensorboard" / name), write_graph=False,
                                                         profile_batch=0))
        elif not self.facts.get("tensorboard_skipped"):
            self.facts["tensorboard_skipped"] = ("TensorBoard logs need tensorflow and tensorboard installed (pip install "
                                                 "tensorboard); CSV logs written")
            self.log(self.facts["tensorboard_skipped"])
        self.facts["training_logs"] = str(root)
        return callbacks

    def _backup_callbacks(self, model: keras.Model, label: str):
        """``(callbacks, earlier epoch logs)`` that keep this fit resumable under ``backup_dir/NNN-label``.

        The epoch logs are written before the training state, so after a kill they hold at least the epochs
        the state holds; the extra ones are dropped on resume. A model not built before ``fit`` cannot be
        restored by Keras: its fit is not backed up (it trains again on resume), said once."""
        import json
        import re
        from pathlib import Path

        if not model.built:
            if not self.facts.get("backup_skipped"):
                self.facts["backup_skipped"] = "a model not built before fit is not backed up (trains again on resume)"
                self.log(self.facts["backup_skipped"])
            return [], {}
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", label.split(" ", 1)[-1] if self.planned else label).strip("_")[:60]
        folder = Path(self.backup_dir) / f"{self.fits:03d}-{slug or 'fit'}"
        earlier: dict[str, list] = {}
        state = folder / "training_metadata.json"
        if state.exists() and (folder / "epoch_logs.json").exists():
            done = int(json.loads(state.read_text())["epoch"])
            earlier = {k: v[:done] for k, v in json.loads((folder / "epoch_logs.json").read_text()).items()}
            self.facts["fits_restored"] = int(self.facts.get("fits_restored", 0)) + 1
        elif folder.exists():  # state without its logs (or neither): start this fit afresh
            import shutil

            shutil.rmtree(folder)
        folder.mkdir(parents=True, exist_ok=True)
        return [EpochLogKeeper(folder / "epoch_logs.json", earlier),
                keras.callbacks.BackupAndRestore(str(folder), double_checkpoint=True, delete_checkpoint=False)], earlier

    def _batch_steps_together(self, model: keras.Model, data, callbacks: list, kwargs: dict) -> None:
        """Let Keras run up to ``STEPS_TOGETHER`` training steps per call (``steps_per_execution``).

        The same steps on the same batches in the same order, so the same numbers; what it saves is the
        per-step return to Python (on TensorFlow about 1 ms a step, most of a small model's step). Only for
        a model's first fit with the default of one step, where no callback watches single batches, on one
        device, and not on torch (its trainer allows one step per call). Not for models of more than
        ``DEEP_LAYERS`` layers: tracing the step inside a loop costs TensorFlow seconds more for each deep
        architecture (ResNet-56: 12-15 s for its first fit against 18 s), more than the ~1 ms a step saves
        on steps that take tens of milliseconds. ``REPRO_STEPS_TOGETHER=1`` turns it off."""
        import os

        limit = int(os.environ.get("REPRO_STEPS_TOGETHER", STEPS_TOGETHER))
        if (limit <= 1 or keras.backend.backend() == "torch" or self._engine is not None or self._process[0] > 1
                or getattr(model, "steps_per_execution", 1) != 1 or getattr(model, "train_function", None) is not None
                or _layer_count(model) > DEEP_LAYERS):
            return
        if _watches_batches(callbacks):
            return
        if kwargs.get("steps_per_epoch"):
            # Keras runs whole groups while the data last: on an endless stream, 70 steps an epoch grouped by
            # 16 would run 80. A group that divides the epoch runs exactly its steps.
            together = _largest_divisor(int(kwargs["steps_per_epoch"]), limit)
        else:  # a pass over finite data ends the last group early (tests/test_steps_together.py)
            steps = _batches(data, kwargs.get("batch_size") or 32)
            together = int(min(limit, steps)) if steps != float("inf") else limit
        if together > 1:
            model.steps_per_execution = together
            self.facts["steps_together"] = max(int(self.facts.get("steps_together", 1)), together)

    def _arrays_as_dataset(self, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        """On TensorFlow, a fit on arrays fed as a batched tf.data dataset of the same batches.

        Keras's array adapter creates a new iterator of its index-gathering pipeline every epoch (and of
        another one for every validation pass): ~25 ms of eager work an epoch on this project's machine, as
        much as 45 steps of a small MLP. With a global seed its shuffle (``tf.random.shuffle`` in the
        pipeline) draws the same permutation in every epoch and every fit of as many examples; the
        runtime takes that permutation from Keras's own adapter (drawn twice and compared, once per number
        of examples and seed) and feeds the permuted arrays as a batched dataset, whose iterator costs a
        tenth as much to make. Validation arrays, whatever the training data, become a batched dataset too
        (the same batches in the same order).
        Only for (x, y) or x arrays without sample or class weights, on one device and one process, outside
        dry runs; unseeded shuffles keep Keras's path (their permutation changes each epoch). The same
        numbers (tests/test_arrays_as_dataset.py). ``REPRO_ARRAYS_AS_DATASET=0`` turns it off."""
        import os

        import numpy as np

        if (keras.backend.backend() != "tensorflow" or self._engine is not None or self._process[0] > 1
                or self.dry_run or os.environ.get("REPRO_ARRAYS_AS_DATASET", "1") == "0"):
            return args, kwargs

        def arrays(*parts):  # as Keras's adapter: floats of another width become floatx; (x,) without y
            floatx = np.dtype(keras.backend.floatx())
            return tuple(p.astype(floatx) if np.issubdtype(p.dtype, np.floating) and p.dtype != floatx else p
                         for p in parts)

        batch_size = int(kwargs.get("batch_size") or 32)
        validation = kwargs.get("validation_data")
        if (isinstance(validation, tuple) and len(validation) == 2 and not kwargs.get("validation_steps")
                and all(isinstance(v, np.ndarray) for v in validation) and len(validation[0]) == len(validation[1])):
            kwargs = dict(kwargs)
            kwargs["validation_data"] = _cut(arrays(*validation),
                                             int(kwargs.pop("validation_batch_size", None) or batch_size))
        if len(args) > 2 or any(kwargs.get(k) for k in ("sample_weight", "class_weight", "validation_split",
                                                          "steps_per_epoch")):
            return args, kwargs
        x = args[0] if args else kwargs.get("x")
        y = args[1] if len(args) > 1 else kwargs.get("y")
        if not isinstance(x, np.ndarray) or not (y is None or isinstance(y, np.ndarray)) or not len(x) \
                or (y is not None and len(y) != len(x)):
            return args, kwargs
        shuffle = kwargs.get("shuffle", True)
        if shuffle not in (True, False):  # "batch" shuffles batches: Keras's path
            return args, kwargs
        order = self._keras_permutation(len(x)) if shuffle else None
        if shuffle and order is None:
            return args, kwargs
        parts = (x,) if y is None else (x, y)
        if order is not None:
            parts = tuple(p[order] for p in parts)
        kwargs = {k: v for k, v in kwargs.items() if k not in ("x", "y", "batch_size")}
        kwargs["shuffle"] = False  # the order is in the dataset (Keras warns about shuffling a dataset)
        # one epoch of batches, which Keras iterates afresh every epoch as it does the arrays (its steps per
        # call then stop at the epoch's end, as with arrays: a dataset repeated for the epochs with
        # steps_per_epoch would let the last call of an epoch run on into the next one)
        return (_cut(arrays(*parts), batch_size),), kwargs

    def _batches_as_dataset(self, args: tuple, kwargs: dict, callbacks: list) -> tuple[tuple, dict, list]:
        """On TensorFlow, a fit on a PyDataset that declares its batch layout fixed (``fixed_batches = True``:
        as many ``(x, y)`` NumPy batches every epoch, of the same dtypes and per-example shapes) fed from a
        tf.data dataset of the same batches.

        Keras feeds a PyDataset to TensorFlow through ``tf.data.Dataset.from_generator``: a Python call from a
        TensorFlow thread for every batch, which on a 2-core machine contends with the training step (5 epochs
        of DropConnect's MLP on 2,000 examples: 2.7 s against 2.0 s from a batched dataset). Here the dataset
        slices each batch from variables that a callback (:class:`_EpochBatches`, first in the list) fills at
        each epoch's start. The PyDataset is asked for what Keras's adapter asks and in the same order: two
        batches peeked for the dataset's signature and its ``on_epoch_end`` when the fit starts, then every
        epoch its ``on_epoch_begin``, Python's ``random.shuffle`` of the batch indices (``shuffle=True``, fit's
        default), its batches, its ``on_epoch_end``; so its own random draws, Python's, and the numbers are the
        same (tests/test_batches_as_dataset.py). Only where nothing watches single batches (a fit stopped
        mid-epoch would leave out the PyDataset's ``on_epoch_end``), without class weights, validation split or
        ``steps_per_epoch``, one worker, one device and one process, outside dry runs.
        ``REPRO_BATCHES_AS_DATASET=0`` turns it off."""
        import os

        import numpy as np

        data = args[0] if args else kwargs.get("x")
        if (keras.backend.backend() != "tensorflow" or self._engine is not None or self._process[0] > 1
                or self.dry_run or os.environ.get("REPRO_BATCHES_AS_DATASET", "1") == "0"
                or not isinstance(data, keras.utils.PyDataset) or not getattr(type(data), "fixed_batches", False)
                or data.workers > 1 or data.use_multiprocessing or len(args) > 1
                or any(kwargs.get(k) for k in ("y", "class_weight", "validation_split", "steps_per_epoch"))
                or kwargs.get("shuffle", True) not in (True, False)
                or _watches_batches(callbacks)):
            return args, kwargs, callbacks
        import tensorflow as tf
        from keras.src.trainers.data_adapters.data_adapter_utils import NUM_BATCHES_FOR_TENSOR_SPEC

        count = len(data)
        peeked = [data[i] for i in range(min(NUM_BATCHES_FOR_TENSOR_SPEC, count))]  # Keras's signature peek
        if not peeked or not all(isinstance(b, (tuple, list)) and len(b) == 2
                                 and all(isinstance(a, np.ndarray) for a in b) for b in peeked):
            raise ValueError(f"{type(data).__name__} declares fixed_batches but its batches are not (x, y) "
                             f"NumPy arrays")
        data.on_epoch_end()  # Keras resets its epoch iterator once before the first epoch
        x, y = peeked[0]
        variables = (tf.Variable(np.zeros((0,) + x.shape[1:], x.dtype), shape=[None, *x.shape[1:]], trainable=False),
                     tf.Variable(np.zeros((0,) + y.shape[1:], y.dtype), shape=[None, *y.shape[1:]], trainable=False),
                     tf.Variable(np.zeros(count + 1, np.int64), trainable=False))

        def batch(i):
            vx, vy, starts = variables
            return vx[starts[i]:starts[i + 1]], vy[starts[i]:starts[i + 1]]

        options = tf.data.Options()  # batches are read when asked for, after the callback filled the epoch
        options.experimental_optimization.map_parallelization = False
        options.experimental_optimization.inject_prefetch = False
        dataset = tf.data.Dataset.range(count).map(batch).with_options(options)
        kwargs = {k: v for k, v in kwargs.items() if k not in ("x", "batch_size")}
        shuffle, kwargs["shuffle"] = bool(kwargs.get("shuffle", True)), False
        self.facts["batches_as_dataset"] = int(self.facts.get("batches_as_dataset", 0)) + 1
        return (dataset,), kwargs, [_EpochBatches(data, shuffle, count, variables)] + list(callbacks)

    def _keras_permutation(self, n: int):
        """The order in which Keras's array adapter on TensorFlow feeds ``n`` examples under the current
        global seed (the same in every epoch), or ``None`` when two draws differ (no global seed)."""
        import numpy as np
        from tensorflow.python.eager import context

        seed = context.global_seed()
        if seed is None:
            return None
        key = (n, seed)
        if key not in self._permutations:
            from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter

            draws = []
            for _ in range(2):
                pipeline = ArrayDataAdapter(np.arange(n), batch_size=n, shuffle=True).get_tf_dataset()
                draws.append(np.concatenate([np.asarray(batch).reshape(-1) for batch in pipeline]))
            self._permutations[key] = draws[0] if np.array_equal(*draws) else None
        return self._permutations[key]

    def _twin_for(self, model: keras.Model, callbacks: list, data: str = ""):
        """A private twin of ``model`` to train instead of it, or ``None`` (train ``model`` itself).

        Each new model traces and compiles its own training function, which on this project's small,
        many-seed reproductions takes longer than the training (a retrace per seed). Models of the same
        architecture and compile configuration (names, initializers and a constant learning rate aside: the
        training function never reads the first two and reads the rate from a variable) can share one. The
        first model of its kind trains itself; at the second, a twin is cloned from it; each fit copies the model's
        state into the twin (every variable, random-seed states included, and the optimizer's variables,
        built fresh), trains the twin, and copies the state back. The same steps on the same values: the
        same numbers (tested on TensorFlow and JAX; construction of the twin leaves the global random states
        as they were, and on JAX the twin takes the batch that a model's first fit takes to build its metrics,
        see :func:`_first_fit_peeks`). Only for Functional and Sequential models of serialisable layers (no
        ``Lambda``) and fits of the same batch shapes, on one device, not on torch (nothing to compile there), with Keras's own callbacks or
        callbacks that declare ``reads_only_self_model = True`` (they see the twin as ``self.model``; one
        that holds the model otherwise would watch the wrong object). ``REPRO_REUSE_TRAINING=0`` turns it off.
        """
        import os

        if (os.environ.get("REPRO_REUSE_TRAINING", "1") == "0" or keras.backend.backend() == "torch"
                or self._engine is not None or self._process[0] > 1):
            return None
        if not all(type(cb).__module__.startswith("keras.") or getattr(cb, "reads_only_self_model", False)
                   for cb in callbacks):
            return None
        key = _twin_key(model)
        if key is None:
            return None
        key += data  # the batch shapes the training function is traced for (a step's cost depends on them)
        twins, seen = self.__dict__.setdefault("_twins", {}), self.__dict__.setdefault("_twin_keys_seen", set())
        if key in twins:
            twins[key] = twins.pop(key)  # most recently used last
            return twins[key]
        if key not in seen:  # the first model of its kind trains itself: most fits are one of a kind
            seen.add(key)
            return None
        twin = _make_twin(model)
        if twin is not None:
            twins[key] = twin
            self.facts["twins"] = int(self.facts.get("twins", 0)) + 1
            while len(twins) > TWINS_KEPT:
                twins.pop(next(iter(twins)))
        return twin

    def _fit(self, model: keras.Model, *args, label: str = "", progress: bool = True, **kwargs):
        callbacks = list(kwargs.pop("callbacks", None) or [])
        user_callbacks = list(callbacks)
        earlier: dict[str, list] = {}
        if self.backup_dir is not None and not self.dry_run:
            backup, earlier = self._backup_callbacks(model, label)
            callbacks = backup + callbacks
        if self.log_dir is not None:
            callbacks += self._log_callbacks(label)
        if progress and self.verbosity:
            callbacks.append(ProgressLogger(self.log, label, every_s=0.0 if self.verbosity > 1 else 5.0,
                                            bar=self.bar))
        kwargs.setdefault("verbose", 0)
        data = args[0] if args else kwargs.get("x")
        if type(data).__module__.startswith("tensorflow"):  # a tf.data pipeline shuffles itself
            kwargs.setdefault("shuffle", False)
        if self.dry_run:  # an explicit steps_per_epoch is a config budget, already cut by DRY_RUN
            batch_size = kwargs.get("batch_size") or 32
            if not kwargs.get("steps_per_epoch") and _batches(data, batch_size) > DRY_RUN_STEPS:
                kwargs["steps_per_epoch"] = DRY_RUN_STEPS
            validation = kwargs.get("validation_data")
            if validation is not None and not kwargs.get("validation_steps") and \
                    _batches(validation[0] if isinstance(validation, tuple) else validation,
                             kwargs.get("validation_batch_size") or batch_size) > DRY_RUN_STEPS:
                kwargs["validation_steps"] = DRY_RUN_STEPS
        args, kwargs = self._arrays_as_dataset(args, kwargs)
        args, kwargs, callbacks = self._batches_as_dataset(args, kwargs, callbacks)
        data = args[0] if args else kwargs.get("x")
        self._batch_steps_together(model, data, callbacks, kwargs)
        timer = EpochTimer()
        twin = self._twin_for(model, user_callbacks, _data_signature(args, kwargs))
        if twin is None:
            history = model.fit(*args, callbacks=callbacks + [timer], **kwargs)
        else:  # the same training on a twin whose training function is already compiled
            _copy_state(model, twin)
            if _first_fit_peeks(model):  # draw what the model's own first fit would (JAX: a batch's shuffle)
                object.__setattr__(twin, "_symbolic_build", _peek_once(twin))
            try:
                history = twin.fit(*args, callbacks=callbacks + [timer], **kwargs)
            finally:
                twin.__dict__.pop("_symbolic_build", None)
                _copy_state(twin, model)
            history.set_model(model)
            _evaluate_on(model, twin)
            self.facts["fits_on_twins"] = int(self.facts.get("fits_on_twins", 0)) + 1
            model = twin
        if len(timer.seconds) > 1:
            import statistics

            self._first_epoch_extra += max(0.0, timer.seconds[0] - statistics.median(timer.seconds[1:]))
        self.facts.setdefault("jit_compile", bool(getattr(model, "jit_compile", False)))
        if earlier:  # a resumed fit: the epochs trained before the interruption come first
            done = len(next(iter(earlier.values()), []))
            history.history = {k: earlier.get(k, [None] * done) + list(v) for k, v in history.history.items()} \
                if history.history else {k: list(v) for k, v in earlier.items()}
            history.epoch = list(range(done + len(history.epoch)))
        return history


def _watches_batches(callbacks) -> bool:
    """Whether any callback overrides a per-batch hook (so it must see every step, one per call)."""
    hooks = ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end")
    return any(getattr(type(cb), hook) is not getattr(keras.callbacks.Callback, hook)
               for cb in callbacks for hook in hooks)


def _cut(parts: tuple, batch_size: int):
    """``parts`` (arrays of as many examples) as a tf.data dataset of their consecutive batches of
    ``batch_size``, the last one partial: each batch cut from the whole arrays in one copy (``rebatch``), where
    ``from_tensor_slices(...).batch`` would assemble it from one-example elements (for a full-batch fit of
    thousands of examples, more than the step costs). The same batches and element spec as ``.batch``."""
    import tensorflow as tf

    batches = -(-len(parts[0]) // batch_size)  # rebatch leaves the count unknown, and Keras the epoch's length
    dataset = tf.data.Dataset.from_tensors(parts).rebatch(batch_size)
    return dataset.apply(tf.data.experimental.assert_cardinality(batches))


def _layer_count(model: keras.Model) -> int:
    """The layers of ``model``, those of nested models included (input layers not counted)."""
    return sum(1 for layer in model._flatten_layers(include_self=False)
               if not isinstance(layer, keras.layers.InputLayer))


def _twin_key(model: keras.Model) -> str | None:
    """What a model's training function depends on, as a string (``None``: the model cannot have a twin).

    The model's serialised configuration with its layers' names replaced by their order and initializers
    left out, its build shapes, its compile arguments (Keras objects by configuration, other callables by
    identity), its steps per call and the dtype policy."""
    import json

    if not (model.built and model.compiled) or getattr(model, "train_function", None) is not None:
        return None
    kind = type(model)
    if kind.__name__ not in ("Functional", "Sequential") or not kind.__module__.startswith("keras."):
        return None
    layers = list(model._flatten_layers(include_self=False))
    if any(isinstance(layer, keras.layers.Lambda) or (type(layer).__name__ not in ("Functional", "Sequential")
                                                      and not _serialisable_class(type(layer)))
           for layer in layers):
        return None
    names = {model.name: "~model"}
    for i, layer in enumerate(layers):
        names.setdefault(layer.name, f"~{i}")

    def plain(value):
        if isinstance(value, dict):  # (the compile arguments are keyed below, by what they are)
            return {k: plain(v) for k, v in value.items()
                    if not (isinstance(k, str) and (k.endswith("initializer") or k == "compile_config"))}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if isinstance(value, str):
            return names.get(value, value)
        return value

    def compile_arg(value):
        if value is None or isinstance(value, (str, bool, int, float)):
            return value
        if isinstance(value, dict):
            return {str(k): compile_arg(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [compile_arg(v) for v in value]
        module = getattr(value, "__module__", None) or type(value).__module__
        if isinstance(value, keras.optimizers.Optimizer) and _serialisable_class(type(value)):
            # its name ("adam_3") names variables only; a constant learning rate is a variable the step reads
            serialised = keras.saving.serialize_keras_object(value)
            serialised["config"] = {k: v for k, v in serialised["config"].items() if not (
                k == "name" or k == "learning_rate" and isinstance(v, (int, float)))}
            return serialised
        if module.startswith("keras.") and not callable(value) or isinstance(
                value, (keras.losses.Loss, keras.metrics.Metric)) and _serialisable_class(type(value)):
            return keras.saving.serialize_keras_object(value)
        if callable(value) and module.startswith("keras."):
            return f"{module}.{getattr(value, '__qualname__', value)}"
        return f"object {id(value)}"  # anything else: only the same object

    try:
        config = plain(keras.saving.serialize_keras_object(model))
        arguments = plain({k: compile_arg(v) for k, v in model._compile_config.config.items()})
        return json.dumps([config, arguments, int(model.steps_per_execution),
                           keras.config.dtype_policy().name, keras.backend.backend()], sort_keys=True, default=repr)
    except Exception:  # a model or argument that does not serialise: no twin
        return None


def _data_signature(args, kwargs) -> str:
    """The shapes and dtypes of the batches a fit feeds (arrays: the batch size, the last batch's size and
    the per-example shapes; tf.data: its element spec; other sources: their type and batch size). Fits that
    feed other shapes keep apart: a training function retraced for several shapes runs more generic code
    (TensorFlow relaxes the shapes), which changes what a step costs."""
    import numpy as np

    x = args[0] if args else kwargs.get("x")
    y = args[1] if len(args) > 1 else kwargs.get("y")
    if hasattr(x, "element_spec"):
        return repr(x.element_spec)
    arrays = [a for part in (x, y) for a in (part.values() if isinstance(part, dict) else
                                           part if isinstance(part, (list, tuple)) else [part])
              if hasattr(a, "shape") and hasattr(a, "dtype")]
    if arrays:
        batch = int(kwargs.get("batch_size") or 32)
        size = int(np.shape(arrays[0])[0]) if np.ndim(arrays[0]) else 0
        return repr([batch, size % batch if size > batch else size,
                     [(tuple(np.shape(a))[1:], str(a.dtype)) for a in arrays]])
    return repr([type(x).__module__, type(x).__qualname__, getattr(x, "batch_size", None)])


def _serialisable_class(cls) -> bool:
    """Keras's own class, or one registered as serialisable (its configuration describes it)."""
    return cls.__module__.startswith("keras.") or keras.saving.get_registered_name(cls) != cls.__name__


@contextlib.contextmanager
def _random_state_kept() -> Iterator[None]:
    """Python's, NumPy's and Keras's global random states as they were before (building a model draws
    from them: a twin's construction must not change the shuffles and masks of the run)."""
    import random

    import numpy as np
    from keras.src.backend.common import global_state
    from keras.src.random.seed_generator import GLOBAL_SEED_GENERATOR

    python_state, numpy_state = random.getstate(), np.random.get_state()
    generator = global_state.get_global_attribute(GLOBAL_SEED_GENERATOR)
    seed_state = None if generator is None else keras.ops.convert_to_numpy(generator.state.value).copy()
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)
        if generator is None:
            global_state.set_global_attribute(GLOBAL_SEED_GENERATOR, None)
        else:
            global_state.set_global_attribute(GLOBAL_SEED_GENERATOR, generator)
            generator.state.assign(seed_state)


def _make_twin(model: keras.Model) -> keras.Model | None:
    """A new model from ``model``'s configuration, compiled with the same arguments (a fresh optimizer and
    fresh metrics), or ``None`` where its variables do not line up with the model's. The global random
    states are left as they were."""
    with _random_state_kept():
        return _new_twin(model)


def _new_twin(model: keras.Model) -> keras.Model | None:
    try:
        twin = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(model))
        arguments = dict(model._compile_config.config)

        def fresh(value):
            if isinstance(value, (keras.metrics.Metric, keras.optimizers.Optimizer)):
                return type(value).from_config(value.get_config())
            if isinstance(value, dict):
                return {k: fresh(v) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return type(value)(fresh(v) for v in value)
            return value

        arguments = {k: fresh(v) for k, v in arguments.items()}
        arguments["steps_per_execution"] = model.steps_per_execution
        twin.compile(**arguments)
    except Exception:
        return None
    _build_optimizer(model)
    _build_optimizer(twin)
    aligned = _aligned(model.variables, twin.variables) and _aligned(model.optimizer.variables,
                                                                     twin.optimizer.variables)
    return twin if aligned else None


def _build_optimizer(model: keras.Model) -> None:
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)


def _evaluate_on(model: keras.Model, twin: keras.Model) -> None:
    """From now on, ``model.evaluate`` and ``model.predict`` run on ``twin`` (whose functions are compiled)
    with the model's current variables copied in first: a model trained on a twin would otherwise trace
    its own evaluation functions, which its own fit would have traced for the validation data."""
    compiled = model._compile_config  # a new compile() of the model (other loss or metrics) ends this

    def on_twin(name):
        def method(*args, **kwargs):
            if getattr(model, "_compile_config", None) is not compiled or not _aligned(model.variables, twin.variables):
                return getattr(type(model), name)(model, *args, **kwargs)
            _copy_state(model, twin, optimizer=False)
            return getattr(twin, name)(*args, **kwargs)

        method.__doc__ = getattr(type(model), name).__doc__
        return method

    for name in ("evaluate", "predict"):
        object.__setattr__(model, name, on_twin(name))


def _first_fit_peeks(model: keras.Model) -> bool:
    """Whether Keras's ``fit`` of ``model`` takes a batch first to build its metrics and loss (the JAX trainer
    does, for a model's first fit; the TensorFlow one only under a distribution strategy, which twins are not
    used with). That batch is drawn like the others: for shuffled arrays, one more NumPy permutation."""
    if keras.backend.backend() != "jax":
        return False
    metrics, loss = getattr(model, "_compile_metrics", None), getattr(model, "_compile_loss", None)
    return (not all(layer.built for layer in model._flatten_layers()) or (metrics is not None and not metrics.built)
            or (loss is not None and not loss.built))


def _peek_once(twin: keras.Model):
    """A built twin's stand-in for ``Trainer._symbolic_build`` at its next call (the fit's; the validation's
    after it finds everything built, as the model's would): take the first batch as Keras would, build nothing."""
    def peek(iterator=None, data_batch=None) -> None:
        twin.__dict__.pop("_symbolic_build", None)
        if data_batch is None and iterator is not None:
            for _, _, data in iterator:
                if not isinstance(data, (list, tuple)):
                    next(data)
                break

    return peek


def _aligned(a, b) -> bool:
    return len(a) == len(b) and all(tuple(x.shape) == tuple(y.shape) and x.dtype == y.dtype for x, y in zip(a, b))


def _copy_state(source: keras.Model, target: keras.Model, optimizer: bool = True) -> None:
    """Every variable of ``source`` (weights, statistics, random-seed states) and of its optimizer into ``target``."""
    pairs = [(source.variables, target.variables)]
    if optimizer:
        _build_optimizer(source)
        _build_optimizer(target)
        pairs.append((source.optimizer.variables, target.optimizer.variables))
    for a, b in pairs:
        if not _aligned(a, b):
            raise RuntimeError("a model and its twin no longer have the same variables")
        for s, t in zip(a, b):
            t.assign(keras.ops.copy(s.value))  # its own buffer: JAX donates a twin's arrays to its next step


def _stride(data, k: int, i: int):
    """Every ``k``-th example of ``data`` from the ``i``-th (arrays, tuples/dicts of arrays, tf.data batches)."""
    if data is None:
        return None
    if hasattr(data, "cardinality"):  # a tf.data pipeline of global batches
        import tensorflow as tf

        def part(*batch):
            out = tf.nest.map_structure(lambda t: t[i::k], batch)
            return out if len(out) > 1 else out[0]

        return data.map(part)
    if isinstance(data, dict):
        return {key: _stride(v, k, i) for key, v in data.items()}
    if isinstance(data, (list, tuple)):
        return type(data)(_stride(v, k, i) for v in data)
    if hasattr(data, "shape") and hasattr(data, "__getitem__"):
        return data[i::k]
    raise DistributionError(f"a job of several processes trains on arrays or tf.data pipelines; got "
                            f"{type(data).__name__}")


def _divisible_data(data, y, batch_size: int, n: int):
    """``(data, examples left out)`` such that each batch of ``data`` divides over ``n`` devices."""
    import numpy as np

    if isinstance(data, np.ndarray) or (hasattr(data, "shape") and hasattr(data, "__len__")
                                        and not hasattr(data, "cardinality")):
        size = len(data)
        dropped = (size % batch_size) % n if size > batch_size else size % n
        return (data[: size - dropped] if dropped else data), dropped
    if isinstance(data, (list, tuple, dict)) and not hasattr(data, "cardinality"):
        first = next(iter(data.values())) if isinstance(data, dict) else data[0]
        if hasattr(first, "__len__"):
            size = len(first)
            dropped = (size % batch_size) % n if size > batch_size else size % n
            if dropped:
                cut = lambda a: a[: size - dropped]  # noqa: E731
                data = {k: cut(v) for k, v in data.items()} if isinstance(data, dict) else type(data)(map(cut, data))
            return data, dropped
    if hasattr(data, "cardinality"):  # tf.data: trim each batch to a multiple of n, drop empty ones
        import tensorflow as tf

        def trim(*batch):
            first = tf.nest.flatten(batch)[0]
            keep = tf.shape(first)[0] // n * n
            out = tf.nest.map_structure(lambda t: t[:keep], batch)
            return out if len(out) > 1 else out[0]

        def non_empty(*batch):
            return tf.shape(tf.nest.flatten(batch)[0])[0] > 0

        return data.map(trim).filter(non_empty), 0
    if isinstance(data, keras.utils.PyDataset):
        return _TrimmedPyDataset(data, n), 0
    if hasattr(data, "__next__"):  # a Python generator of batches
        return (_trim_batch(b, n) for b in data), 0
    return data, 0


def _trim_batch(batch, n: int):
    def cut(a):
        return a[: len(a) // n * n] if hasattr(a, "__len__") else a

    if isinstance(batch, tuple):
        return tuple(cut(a) if not isinstance(a, dict) else {k: cut(v) for k, v in a.items()} for a in batch)
    return cut(batch)


class _TrimmedPyDataset(keras.utils.PyDataset):
    """A PyDataset whose every batch is cut to a multiple of ``n`` examples."""

    def __init__(self, inner, n: int):
        super().__init__(workers=getattr(inner, "workers", 1), use_multiprocessing=False,
                         max_queue_size=getattr(inner, "max_queue_size", 10))
        self._inner, self._n = inner, n

    def __len__(self):
        return len(self._inner)

    @property
    def num_batches(self):
        return self._inner.num_batches

    def __getitem__(self, index):
        return _trim_batch(self._inner[index], self._n)

    def on_epoch_end(self):
        self._inner.on_epoch_end()


def _largest_divisor(n: int, limit: int) -> int:
    """The largest divisor of ``n`` not above ``limit`` (1 at least)."""
    return max(d for d in range(1, max(1, min(limit, n)) + 1) if n % d == 0)


def _batches(data, batch_size: int) -> float:
    """Batches in one pass over ``data`` (arrays, a tf.data pipeline or a PyDataset); inf if unknown."""
    import math

    if hasattr(data, "cardinality"):
        n = int(data.cardinality())
        return n if n >= 0 else math.inf
    if hasattr(data, "num_batches"):
        n = data.num_batches
        return math.inf if n is None else n
    first = data[0] if isinstance(data, (list, tuple)) else data
    return math.ceil(len(first) / batch_size) if hasattr(first, "__len__") else math.inf


def full_batch_fit(runtime: Runtime, model: keras.Model, x, y, steps: int, *, chunk: int = 100, label: str = "",
                   progress: bool = True, **kwargs):
    """Run ``steps`` full-batch gradient steps (each step sees every example once).

    Keras runs one ``fit`` step per batch and pays Python overhead per step; here one epoch is ``chunk``
    identical full-batch steps (made the largest divisor of ``steps`` not above ``chunk``), executed ``chunk``
    at a time (``steps_per_execution``; one at a time on PyTorch, which allows no more). The data are the
    arrays tiled ``chunk`` times (on TensorFlow the runtime feeds them as a batched dataset, see
    :meth:`Runtime._arrays_as_dataset`: Keras's array adapter gathering each batch by index was 40% of a 2-2-1
    network's step). Must be called before the model's first ``fit``.
    """
    import numpy as np

    if steps < 1:
        raise ValueError(f"steps must be >= 1. Received: steps={steps}")
    # epochs of equal length that add up to ``steps`` exactly (150 steps in epochs of 100 ran 200)
    chunk = _largest_divisor(steps, chunk)
    x, y = np.asarray(x), np.asarray(y)
    # PyTorch's trainer runs one step per execution (it refuses more); the tiled epoch still saves the
    # per-epoch overhead there
    model.steps_per_execution = 1 if keras.backend.backend() == "torch" else chunk
    epochs = steps // chunk
    tiled_x, tiled_y = np.concatenate([x] * chunk), np.concatenate([y] * chunk)
    return runtime.fit(model, tiled_x, tiled_y, batch_size=len(x), epochs=epochs, shuffle=False,
                       label=label, progress=progress, **kwargs)
