"""``repro bench train MODEL``: training throughput of a ``keras_repro.models`` builder against its peers.

Every contender trains on the same synthetic batch (uniform images, random labels, seeded), with the
optimizer step the suite uses (``compile`` with SGD + momentum and sparse cross-entropy, Keras's
``jit_compile="auto"``, then ``train_on_batch``), inside the suite's :class:`~keras_repro.suite.runtime.Runtime`
(devices, dtype policy). The batch is converted to a backend tensor once, before timing, so the timed
steps measure the model and its optimizer, not the host-to-device copy of the input (that is what
``--data`` measures, separately).

Contenders, all in this process:

- ``ours``: the builder from ``keras_repro.models`` (:data:`MODELS`);
- ``keras.applications``: the same architecture where Keras ships one (VGG16, ResNet50), ``weights=None``,
  same input size, classes, optimizer and precision: ``ratio = ours / keras.applications`` img/s;
- ``torch`` (eager) and ``torch.compile``: torchvision's model, when torch and torchvision are installed.

Phases: each contender is built and compiled; its first step (tracing + XLA/graph compilation + one
step) is the reported compile time, then ``warmup`` untimed steps. Then ``repeats`` rounds, each timing
``steps`` steps of every contender in turn, the order alternating from round to round, so that a change
in the machine's load hits all of them alike. Reported: the median img/s over the rounds, the median
step time, process CPU time per step (all threads; steadier than wall time on a shared machine) and the
peak memory the backend reports (see :func:`_memory`).
"""
from __future__ import annotations

import importlib.util
import platform
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

import keras

from keras_repro.suite.runtime import Runtime

OPTIMIZER = "SGD(learning_rate=0.01, momentum=0.9)"  # what the suite's ImageNet-style reproductions train with


class BenchError(ValueError):
    """The benchmark cannot run as asked (unknown model, a size the architecture cannot take): one sentence."""


@dataclass(frozen=True)
class ModelSpec:
    """A benchmarkable model: how to build ours, its default input, and its twins elsewhere."""
    build: Callable[..., keras.Model]  # (input_shape, classes) -> our model
    image_size: int
    channels: int
    classes: int
    keras_twin: str | None = None  # keras.applications attribute
    torch_twin: str | None = None  # torchvision.models attribute


def _lenet5(input_shape, classes):
    from keras_repro.models import lenet5

    return lenet5(input_shape=input_shape, classes=classes)


def _alexnet(input_shape, classes):
    from keras_repro.models import alexnet

    return alexnet(input_shape=input_shape, classes=classes)


def _vgg16(input_shape, classes):
    from keras_repro.models import vgg16

    return vgg16(input_shape=input_shape, classes=classes)


def _googlenet(input_shape, classes):
    from keras_repro.models import googlenet

    return googlenet(input_shape=input_shape, classes=classes)


def _resnet50(input_shape, classes):
    from keras_repro.models import resnet

    return resnet(50, input_shape=input_shape, classes=classes)


def _resnext50(input_shape, classes):
    from keras_repro.models import resnext

    return resnext(50, input_shape=input_shape, classes=classes)


def _resnet20(input_shape, classes):
    from keras_repro.models import resnet_cifar

    return resnet_cifar(20, input_shape=input_shape, classes=classes)


MODELS: dict[str, ModelSpec] = {
    "lenet5": ModelSpec(_lenet5, 32, 1, 10),
    "alexnet": ModelSpec(_alexnet, 224, 3, 1000, torch_twin="alexnet"),
    "vgg16": ModelSpec(_vgg16, 224, 3, 1000, keras_twin="VGG16", torch_twin="vgg16"),
    "googlenet": ModelSpec(_googlenet, 224, 3, 1000, torch_twin="googlenet"),
    "resnet50": ModelSpec(_resnet50, 224, 3, 1000, keras_twin="ResNet50", torch_twin="resnet50"),
    "resnext50": ModelSpec(_resnext50, 224, 3, 1000, torch_twin="resnext50_32x4d"),
    "resnet20": ModelSpec(_resnet20, 32, 3, 10),  # the CIFAR ResNet of the paper's §4.2
}


@dataclass
class Contender:
    """One model being timed: its name, role and the measurements gathered so far."""
    name: str
    role: str  # "ours", "keras.applications", "torch", "torch.compile"
    step: Callable[[], None]  # one training step, finished (synchronised) when it returns
    params: int
    multiply_adds: int | None = None
    compile_s: float = 0.0
    memory: dict = field(default_factory=dict)
    wall_s: list[float] = field(default_factory=list)  # per round
    cpu_s: list[float] = field(default_factory=list)

    def summary(self, batch: int, steps: int) -> dict:
        rates = [batch * steps / w for w in self.wall_s]
        return {"name": self.name, "role": self.role, "img_per_s": statistics.median(rates),
                "img_per_s_rounds": [round(r, 2) for r in rates],
                "step_ms": 1000 * statistics.median(self.wall_s) / steps,
                "cpu_ms_per_step": 1000 * statistics.median(self.cpu_s) / steps,
                "compile_s": self.compile_s, "params": self.params, "multiply_adds_per_image": self.multiply_adds,
                "memory": self.memory}


def synthetic_batch(batch: int, image_size: int, channels: int, classes: int, seed: int = 0):
    """Uniform [0, 1) images (NHWC, float32) and uniform labels, seeded."""
    rng = np.random.default_rng(seed)
    x = rng.random((batch, image_size, image_size, channels), dtype=np.float32)
    y = rng.integers(0, classes, size=batch).astype(np.int32)
    return x, y


def _memory(device_index: int = 0) -> dict:
    """The peak memory the backend reports, labelled with what it is.

    TensorFlow on a GPU: the allocator's peak since the last reset (reset before each model: per model).
    JAX on an accelerator: ``peak_bytes_in_use`` of the device, which JAX never resets: the process's
    peak so far (the models are warmed up one after the other, so the first is its own). On a CPU neither
    reports device memory: the process's maximum resident set size so far (``getrusage``), which also
    counts the libraries and the other models.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        if tf.config.list_physical_devices("GPU"):
            info = tf.config.experimental.get_memory_info(f"GPU:{device_index}")
            return {"bytes": int(info["peak"]), "what": "GPU peak of this model (TensorFlow allocator)"}
    if backend == "jax":
        import jax

        device = jax.devices()[device_index]
        stats = device.memory_stats() if device.platform != "cpu" else None
        if stats and "peak_bytes_in_use" in stats:
            return {"bytes": int(stats["peak_bytes_in_use"]),
                    "what": f"{device.platform} peak of the process so far (JAX memory_stats)"}
    if backend == "torch":
        import torch

        if torch.cuda.is_available():
            return {"bytes": int(torch.cuda.max_memory_allocated()), "what": "CUDA peak of this model (torch)"}
    return _rss()


def _rss() -> dict:
    import resource
    import sys

    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    scale = 1 if sys.platform == "darwin" else 1024  # Linux reports KiB, macOS bytes
    return {"bytes": int(kib * scale), "what": "CPU: process max RSS so far (no device memory here)"}


def _reset_memory() -> None:
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        for i, _ in enumerate(tf.config.list_physical_devices("GPU")):
            tf.config.experimental.reset_memory_stats(f"GPU:{i}")
    elif backend == "torch":
        import torch

        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()


def _compile(model: keras.Model) -> None:
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01, momentum=0.9),
                  loss="sparse_categorical_crossentropy")


def _multiply_adds(model: keras.Model) -> int | None:
    from keras_repro.measures.flops import multiply_adds

    try:
        return int(sum(multiply_adds(model).values()))
    except ValueError:  # an input without a fixed size
        return None


def keras_contender(name: str, role: str, model: keras.Model, runtime: Runtime, x, y) -> Contender:
    """A compiled Keras model that trains on ``(x, y)`` (backend tensors) one ``train_on_batch`` at a time."""
    _compile(model)

    def step():
        with runtime.scope():
            model.train_on_batch(x, y)  # returns the loss as NumPy: the step has finished

    from keras_repro.models import trainable_parameters

    return Contender(name, role, step, trainable_parameters(model), _multiply_adds(model))


def keras_twin(spec: ModelSpec, input_shape, classes: int) -> keras.Model:
    """``keras.applications.<twin>(weights=None, ...)`` at our input size and classes."""
    return getattr(keras.applications, spec.keras_twin)(weights=None, input_shape=input_shape, classes=classes)


def torch_unavailable(spec: ModelSpec) -> str | None:
    """Why the torch baseline cannot run (``None`` when it can)."""
    if spec.torch_twin is None:
        return "torchvision has no model of this architecture"
    for package in ("torch", "torchvision"):
        if importlib.util.find_spec(package) is None:
            return f"{package} is not installed"
    return None


def torch_contenders(spec: ModelSpec, x: np.ndarray, y: np.ndarray, *, precision: str, classes: int,
                     compiled: bool, log: Callable[[str], None]) -> list[Contender]:
    """torchvision's model in eager mode (and under ``torch.compile`` when ``compiled``), SGD + momentum.

    NCHW float32 input on the first CUDA device, else the CPU; mixed precision with ``torch.autocast``
    (bf16, or fp16 with a gradient scaler), as Keras's mixed policies compute.
    """
    import torch
    import torchvision

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    images = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))).to(device)
    labels = torch.from_numpy(y.astype(np.int64)).to(device)
    autocast_dtype = {"mixed_bfloat16": torch.bfloat16, "mixed_float16": torch.float16}.get(precision)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    out = []
    for role in ("torch", "torch.compile") if compiled else ("torch",):
        options = {"aux_logits": False, "init_weights": False} if spec.torch_twin == "googlenet" else {}
        module = getattr(torchvision.models, spec.torch_twin)(weights=None, num_classes=classes, **options)
        module = module.to(device).train()
        optimizer = torch.optim.SGD(module.parameters(), lr=0.01, momentum=0.9)
        scaler = torch.amp.GradScaler(device.type, enabled=autocast_dtype is torch.float16)
        forward = torch.compile(module) if role == "torch.compile" else module
        loss_fn = torch.nn.CrossEntropyLoss()

        def step(forward=forward, optimizer=optimizer, scaler=scaler):
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(device.type, dtype=autocast_dtype or torch.float32,
                                enabled=autocast_dtype is not None):
                loss = loss_fn(forward(images), labels)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            sync()

        params = sum(p.numel() for p in module.parameters() if p.requires_grad)
        out.append(Contender(f"torchvision.models.{spec.torch_twin}" + (" (torch.compile)" if compiled and
                                                                          role == "torch.compile" else ""),
                             role, step, int(params)))
        log(f"built {out[-1].name} on {device}")
    return out


def _torch_memory() -> dict:
    import torch

    if torch.cuda.is_available():
        return {"bytes": int(torch.cuda.max_memory_allocated()), "what": "CUDA peak of this model (torch)"}
    return _rss()


def _warm_up(contender: Contender, warmup: int, log) -> None:
    torch_role = contender.role.startswith("torch")
    if torch_role:
        import torch

        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
    else:
        _reset_memory()
    start = time.perf_counter()
    contender.step()  # tracing and compilation happen here
    contender.compile_s = time.perf_counter() - start
    for _ in range(warmup):
        contender.step()
    contender.memory = _torch_memory() if torch_role else _memory()
    log(f"{contender.name}: first step (compilation) {contender.compile_s:.2f} s, then {warmup} warm-up step(s)")


def _time_round(contender: Contender, steps: int) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        contender.step()
    contender.wall_s.append(time.perf_counter() - wall)
    contender.cpu_s.append(time.process_time() - cpu)


def bench_train(model: str, *, batch: int, image_size: int | None = None, classes: int | None = None,
                precision: str = "float32", steps: int = 10, warmup: int = 2, repeats: int = 3,
                devices: int = 1, twin: bool = True, torch_baseline: bool = True, torch_compile: bool = False,
                seed: int = 0, log: Callable[[str], None] = print) -> dict:
    """Time ``model`` and its peers; return the results as a JSON-ready dict (see the module docstring).

    ``ratio`` is ours / ``keras.applications`` median img/s (``None`` without a twin); ``ratio_rounds``
    the same ratio within each round (the two ran back to back: on a loaded machine their median is
    steadier than the ratio of medians); ``cpu_ratio`` is the twin's CPU time per step over ours (> 1:
    ours needs less CPU for the same work).
    Raises :class:`BenchError` (one sentence) for an unknown model or a size the architecture cannot take.
    """
    if model not in MODELS:
        raise BenchError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
    spec = MODELS[model]
    image_size = image_size or spec.image_size
    classes = classes or spec.classes
    input_shape = (image_size, image_size, spec.channels)
    runtime = Runtime(log=log, devices=devices, precision=precision)
    facts = runtime.start()
    try:
        x_np, y_np = synthetic_batch(batch, image_size, spec.channels, classes, seed)
        keras.utils.set_random_seed(seed)
        with runtime.scope():
            x, y = keras.ops.convert_to_tensor(x_np), keras.ops.convert_to_tensor(y_np)
            try:
                ours = spec.build(input_shape, classes)
            except ValueError as exc:  # the builder's check of the input size, in one sentence
                raise BenchError(f"{model} at {image_size}×{image_size}: {exc}") from None
            contenders = [keras_contender(f"keras_repro.models {model}", "ours", ours, runtime, x, y)]
            if twin and spec.keras_twin:
                try:
                    twin_model = keras_twin(spec, input_shape, classes)
                except ValueError as exc:
                    raise BenchError(f"keras.applications.{spec.keras_twin} at {image_size}×{image_size}: "
                                     f"{str(exc).splitlines()[0]} (--no-twin leaves it out)") from None
                contenders.append(keras_contender(f"keras.applications.{spec.keras_twin}", "keras.applications",
                                                  twin_model, runtime, x, y))
        torch_skipped = None
        if torch_baseline:
            torch_skipped = torch_unavailable(spec) or (
                "one device only (the torch baseline is not data-parallel)" if runtime.devices > 1 else None)
            if torch_skipped is None:
                contenders += torch_contenders(spec, x_np, y_np, precision=precision, classes=classes,
                                               compiled=torch_compile, log=log)
        else:
            torch_skipped = "not asked for (--no-torch)"
        for contender in contenders:
            _warm_up(contender, warmup, log)
        for r in range(repeats):
            order = contenders if r % 2 == 0 else contenders[::-1]
            for contender in order:
                _time_round(contender, steps)
            log(f"round {r + 1}/{repeats}: " + ", ".join(
                f"{c.name} {batch * steps / c.wall_s[-1]:.1f} img/s" for c in contenders))
        jit = getattr(ours, "jit_compile", None)
    finally:
        runtime.close()
    rows = [c.summary(batch, steps) for c in contenders]
    by_role = {row["role"]: row for row in rows}
    twin_row = by_role.get("keras.applications")
    result = {
        "model": model, "backend": keras.backend.backend(), "batch": batch, "image_size": image_size,
        "channels": spec.channels, "classes": classes, "precision": precision, "devices": runtime.devices,
        "distribution": facts["distribution"]["engine"], "jit_compile": bool(jit), "steps": steps,
        "warmup": warmup, "repeats": repeats, "optimizer": OPTIMIZER, "contenders": rows,
        "ratio": by_role["ours"]["img_per_s"] / twin_row["img_per_s"] if twin_row else None,
        "cpu_ratio": twin_row["cpu_ms_per_step"] / by_role["ours"]["cpu_ms_per_step"] if twin_row else None,
        "ratio_rounds": _paired_ratios(contenders) if twin_row else None,
        "keras_twin": f"keras.applications.{spec.keras_twin}" if twin_row else None,
        "twin_skipped": None if twin_row else ("left out (--no-twin)" if spec.keras_twin else
                                               "keras.applications has no model of this architecture"),
        "torch_skipped": torch_skipped, "machine": machine(),
    }
    return result


def _paired_ratios(contenders: list[Contender]) -> list[float]:
    """Ours / keras.applications img/s within each round: the two ran back to back, under the same load."""
    ours, twin = (next(c for c in contenders if c.role == role) for role in ("ours", "keras.applications"))
    return [round(t / o, 4) for o, t in zip(ours.wall_s, twin.wall_s)]


def machine() -> dict:
    """Where the numbers come from: host, processor count, package versions, accelerators."""
    import os

    versions = {}
    for package in ("keras", "tensorflow", "jax", "jaxlib", "torch", "torchvision", "numpy"):
        if importlib.util.find_spec(package) is not None:
            from importlib.metadata import PackageNotFoundError, version

            try:
                versions[package] = version(package)
            except PackageNotFoundError:
                pass
    from keras_repro.suite.runtime import available_devices

    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "devices": available_devices(keras.backend.backend()), "versions": versions}


def bench_input(spec: str, *, image_size: int, batch: int, channels: int, batches: int = 20,
                log: Callable[[str], None] = print) -> dict:
    """img/s of the training pipeline :func:`keras_repro.data.make_datasets` on ``spec`` at this batch and size.

    Timed alone (not while a model trains, which on a small CPU would share its cores), after one
    warm-up batch; the pipeline is iterated again from the start if it runs out.
    """
    from keras_repro.data import make_datasets

    train, _, info = make_datasets(spec, image_size=image_size, batch_size=batch, channels=channels, seed=0)
    iterator = iter(train)
    next(iterator)
    images, start, cpu = 0, time.perf_counter(), time.process_time()
    while images < batches * batch:
        try:
            x, _ = next(iterator)
        except StopIteration:
            iterator = iter(train)
            continue
        images += int(x.shape[0])
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    log(f"input pipeline: {images} images of {info.name} in {wall:.2f} s")
    return {"spec": spec, "images": images, "img_per_s": images / wall, "cpu_ms_per_image": 1000 * cpu / images}
