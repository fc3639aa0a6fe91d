"""Click commands ``repro data list|inspect|preview`` and ``repro bench pipeline``.

The lead's CLI adds the two groups: ``main.add_command(data)``, ``main.add_command(bench)``.
TensorFlow is imported inside the commands (after :func:`quiet_tensorflow`), so ``repro --help``
stays fast; a :class:`DataError` becomes one ``Error: ...`` line and exit status 1, no traceback.
"""
from __future__ import annotations

import contextlib
import statistics
import tempfile
from pathlib import Path

import click

from keras_repro._env import quiet_tensorflow
from keras_repro.data.folder import MAX_PIXELS

DATA_DIR_HELP = "tensorflow-datasets data directory with prepared data (default: tfds's own)."


@contextlib.contextmanager
def _data_errors():
    from keras_repro.data.sources import DataError

    try:
        yield
    except DataError as exc:
        raise click.ClickException(str(exc)) from None


@click.group("data")
def data() -> None:
    """Data sources: list them, inspect one, preview its training pipeline."""


@data.command("list")
def list_command() -> None:
    """The known sources and how to name them (spec strings)."""
    from keras_repro.data.sources import list_sources

    rows = [(s.spec, s.kind, s.classes, s.images, s.description) for s in list_sources()]
    header = ("SPEC", "KIND", "CLASSES", "IMAGES", "DESCRIPTION")
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(4)]
    for row in [header] + rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths)) + "  " + row[4])
    click.echo("\nAny tfds dataset: tfds:NAME. Any ImageNet-layout folder: folder:PATH. "
               "Reproductions take --set dataset=SPEC.")


def _size_summary(sizes) -> str:
    import numpy as np

    sizes = np.asarray(sizes)
    sizes = sizes[sizes[:, 0] > 0]
    if len(sizes) == 0:
        return "no readable images"
    h, w = sizes[:, 0], sizes[:, 1]
    return (f"height {h.min()}–{h.max()} (median {int(statistics.median(h))}), "
            f"width {w.min()}–{w.max()} (median {int(statistics.median(w))})")


def _class_counts(class_names, labels) -> str:
    import numpy as np

    counts = np.bincount(np.asarray(labels, np.int64), minlength=len(class_names))
    shown = ", ".join(f"{n}: {c}" for n, c in list(zip(class_names, counts))[:12])
    return shown + (f", … ({len(class_names)} classes)" if len(class_names) > 12 else "")


def _inspect_folder(spec, max_pixels: int, engine: str) -> None:
    import numpy as np

    from keras_repro.data.folder import find_unreadable, printable, scan_folder

    index = scan_folder(spec.path)
    click.echo(f"source: folder:{printable(str(spec.path))} (image folder)")
    click.echo(f"classes: {len(index.class_names)}")
    reasons, sizes = find_unreadable(index.train.files + index.val.files, max_pixels=max_pixels, engine=engine)
    n_train = len(index.train)
    for name, split, split_sizes in (("train", index.train, sizes[:n_train]), ("val", index.val, sizes[n_train:])):
        bad = sum(1 for f in split.files if f in reasons)
        click.echo(f"{name}: {len(split) - bad} readable images ({split.total_bytes / 2**20:.1f} MiB), {bad} unreadable")
        click.echo(f"  per class: {_class_counts(index.class_names, split.labels)}")
        click.echo(f"  image sizes: {_size_summary(split_sizes)}")
    small = int(np.sum((sizes[:, 0] > 0) & (np.minimum(sizes[:, 0], sizes[:, 1]) < 224)))
    if small:
        click.echo(f"{small} images have a side under 224 pixels (they are upscaled by the pipeline)")
    skipped = {**index.skipped, **reasons}  # not listed by the scan, or refused by the checks
    click.echo(f"unreadable files: {len(skipped)}")
    for path, reason in sorted(skipped.items())[:20]:
        click.echo(f"  {printable(path)}: {reason}")
    if len(skipped) > 20:
        click.echo(f"  … and {len(skipped) - 20} more")


def _inspect_tfds(spec, data_dir) -> None:
    from keras_repro.data.tfds_source import tfds_splits

    splits = tfds_splits(spec.name, data_dir)
    click.echo(f"source: {spec} (tensorflow-datasets)")
    click.echo(f"classes: {len(splits.class_names)} ({', '.join(splits.class_names[:10])}"
               f"{', …' if len(splits.class_names) > 10 else ''})")
    click.echo(f"train: {splits.train_count} images, eval: {splits.eval_count} images")
    shape = splits.fixed_shape
    click.echo(f"image shape: {'×'.join(map(str, shape)) if shape else f'varied size, {splits.channels} channels'}")


def _inspect_arrays(spec) -> None:
    from keras_repro.data.sources import load_arrays

    arr = load_arrays(spec)
    click.echo(f"source: {spec} ({spec.kind}, in memory)")
    click.echo(f"classes: {arr.num_classes} ({', '.join(arr.class_names)})")
    click.echo(f"train: {len(arr.y_train)} images; per class: {_class_counts(arr.class_names, arr.y_train)}")
    click.echo(f"test: {len(arr.y_test)} images; per class: {_class_counts(arr.class_names, arr.y_test)}")
    h, w, c = arr.image_shape
    click.echo(f"image size: {h}×{w}, {c} channel{'s' if c > 1 else ''} (resized to any size on request)")
    click.echo("unreadable files: 0 (embedded)")


@data.command("inspect")
@click.argument("spec")
@click.option("--data-dir", type=click.Path(), default=None, help=DATA_DIR_HELP)
@click.option("--max-pixels", type=click.IntRange(1), default=MAX_PIXELS, show_default=True,
              help="Folder images with more pixels (read from the header) are listed as unreadable, not decoded.")
@click.option("--engine", type=click.Choice(["tf", "numpy"]), default="tf", show_default=True,
              help="Which decoder checks folder images: TensorFlow's (tf.data pipelines) or Pillow's (NumPy).")
def inspect_command(spec: str, data_dir: str | None, max_pixels: int, engine: str) -> None:
    """Classes, counts, image sizes and unreadable files of the source SPEC."""
    quiet_tensorflow()
    from keras_repro.data.sources import parse_spec

    with _data_errors():
        parsed = parse_spec(spec)
        if parsed.kind == "folder":
            _inspect_folder(parsed, max_pixels, engine)
        elif parsed.kind == "tfds":
            _inspect_tfds(parsed, data_dir)
        else:
            _inspect_arrays(parsed)


def preview_figure(images, labels, class_names, title: str, columns: int = 8):
    """A grid of uint8 images with their class names (matplotlib figure)."""
    import matplotlib.pyplot as plt

    rows = (len(images) + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(1.6 * columns, 1.75 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, label in zip(axes.flat, images, labels):
        ax.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray", vmin=0, vmax=255)
        ax.set_title(str(class_names[int(label)])[:14], fontsize=8)
    fig.suptitle(title, fontsize=9)
    return fig


@data.command("preview")
@click.argument("spec")
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="PNG file to write.")
@click.option("--augment", type=click.Choice(["alexnet", "inception", "none"]), default="alexnet", show_default=True)
@click.option("--image-size", type=int, default=128, show_default=True)
@click.option("--count", type=click.IntRange(1, 256), default=32, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--data-dir", type=click.Path(), default=None, help=DATA_DIR_HELP)
def preview_command(spec: str, out: str, augment: str, image_size: int, count: int, seed: int,
                    data_dir: str | None) -> None:
    """Write a grid of augmented training samples: what the pipeline feeds the model."""
    quiet_tensorflow()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from keras_repro.data.pipeline import make_datasets

    with _data_errors():
        train_ds, _, info = make_datasets(spec, image_size=image_size, batch_size=count, seed=seed,
                                          augment=augment, data_dir=data_dir)
    images, labels = next(iter(train_ds))
    fig = preview_figure(info.denormalize(images.numpy()), labels.numpy(), info.class_names,
                         f"{info.name}: {augment} augmentation, {image_size}×{image_size}, seed {seed}")
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100, bbox_inches="tight")
    plt.close(fig)
    click.echo(f"wrote {out} ({len(labels)} training samples of {info.name})")
    if info.unreadable:
        click.echo(f"skipped {len(info.unreadable)} unreadable files (repro data inspect {spec} lists them)")


@click.group("bench")
def bench() -> None:
    """Benchmarks of the library's machinery."""


@bench.command("pipeline")
@click.argument("spec", required=False)
@click.option("--images", type=click.IntRange(1), default=2048, show_default=True,
              help="How many files to time (generated JPEGs without SPEC). Each pass pays the pipeline's "
                   "start-up once, as an epoch does: short passes weigh it more than training would.")
@click.option("--image-size", type=int, default=224, show_default=True)
@click.option("--batch-size", type=int, default=64, show_default=True)
@click.option("--repeats", type=click.IntRange(1), default=5, show_default=True)
@click.option("--augment", type=click.Choice(["alexnet", "inception"]), default="alexnet", show_default=True)
@click.option("--sides", type=(click.IntRange(16), click.IntRange(16)), default=(200, 640), show_default=True,
              metavar="MIN MAX", help="Side lengths of the generated JPEGs (without SPEC), e.g. 1000 2000 for "
                                      "camera-size photos.")
def pipeline_command(spec: str | None, images: int, image_size: int, batch_size: int, repeats: int,
                     augment: str, sides: tuple[int, int]) -> None:
    """Training pipeline images/s against plain decoding of the same files (last line: ratio=X).

    SPEC is an image folder (folder:PATH); without it a temporary folder of JPEGs made from
    scikit-image's photos (varied sizes) is used, so the benchmark runs offline.
    """
    quiet_tensorflow()
    from keras_repro.data.bench import bench_pipeline, image_files, write_photo_folder
    from keras_repro.data.folder import find_unreadable
    from keras_repro.data.sources import parse_spec

    with _data_errors(), tempfile.TemporaryDirectory(prefix="repro-bench-") as tmp:
        if spec is None:
            if sides[0] > sides[1]:
                raise click.BadParameter(f"MIN must not exceed MAX. Received: {sides[0]} {sides[1]}",
                                         param_hint="--sides")
            root = write_photo_folder(Path(tmp) / "photos", count=images, side_range=sides)
            click.echo(f"generated {images} JPEGs of {sides[0]}–{sides[1]} px per side from scikit-image photos "
                       f"in {root}")
        else:
            parsed = parse_spec(spec)
            if parsed.kind != "folder":
                raise click.ClickException(f"bench pipeline times the decoding of image files: give folder:PATH "
                                           f"or nothing (a generated folder). Received: {spec}")
            root = parsed.path
        files = image_files(root)
        if len(files) > images:
            import numpy as np

            pick = np.sort(np.random.default_rng(0).choice(len(files), images, replace=False))
            files = [files[i] for i in pick]
        reasons, _ = find_unreadable(files)
        files = [f for f in files if f not in reasons]
        if reasons:
            click.echo(f"left out {len(reasons)} unreadable files")
        click.echo(f"timing {len(files)} images: {repeats} alternating passes after a warm-up, "
                   f"batch {batch_size}, {image_size}×{image_size}, {augment} crop")
        result = bench_pipeline(files, image_size=image_size, batch_size=batch_size, repeats=repeats,
                                augment=augment, log=click.echo)
    plain_cpu = statistics.median(t.cpu_ms for t in result.plain)
    pipe_cpu = statistics.median(t.cpu_ms for t in result.pipeline)
    click.echo(f"plain decode: {result.plain_rate:.1f} images/s (median; {plain_cpu:.3f} ms CPU per image)")
    click.echo(f"pipeline:     {result.pipeline_rate:.1f} images/s (median; {pipe_cpu:.3f} ms CPU per image)")
    click.echo(f"CPU-time ratio (plain / pipeline per image): {result.cpu_ratio:.3f}")
    plain_start, pipe_start = result.startup_ms
    click.echo(f"start-up to the first element (included above): plain {plain_start:.0f} ms, "
               f"pipeline {pipe_start:.0f} ms")
    verdict = "meets" if result.ratio >= 0.9 else "misses"
    click.echo(f"pipeline/plain {verdict} the 0.9 target")
    click.echo(f"ratio={result.ratio:.3f}")


class _OneLineUsageError(click.UsageError):
    """A usage error shown as one ``Error: ...`` line (click's own adds the usage and a hint)."""

    def show(self, file=None) -> None:
        click.echo(f"Error: {self.format_message()}", err=True, file=file)


class _OneLineErrors(click.Command):
    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            raise _OneLineUsageError(exc.format_message(), ctx) from None


TRAIN_MODELS = ("lenet5", "alexnet", "vgg16", "googlenet", "resnet50", "resnext50", "resnet20")


@bench.command("train", cls=_OneLineErrors)
@click.argument("model", type=click.Choice(TRAIN_MODELS))
@click.option("--batch", type=click.IntRange(1), default=32, show_default=True, help="Global batch size.")
@click.option("--image-size", type=click.IntRange(1), default=None,
              help="Side of the square input (default: the model's, 224; 32 for lenet5 and resnet20).")
@click.option("--classes", type=click.IntRange(1), default=None, help="Outputs (default: 1000; 10 for lenet5, resnet20).")
@click.option("--precision", type=click.Choice(["float32", "mixed_bfloat16", "mixed_float16"]), default="float32",
              show_default=True, help="Keras dtype policy (torch: the matching autocast).")
@click.option("--steps", type=click.IntRange(1), default=10, show_default=True, help="Timed steps per round.")
@click.option("--warmup", type=click.IntRange(0), default=2, show_default=True,
              help="Untimed steps after the first (compiling) one.")
@click.option("--repeats", type=click.IntRange(1), default=3, show_default=True,
              help="Rounds; the contenders take turns in each, in alternating order. img/s is their median.")
@click.option("--backend", type=click.Choice(["tensorflow", "jax", "torch"]), default=None,
              help="Keras backend (default: $KERAS_BACKEND, else tensorflow).")
@click.option("--devices", default=None, metavar="N|all", help="Data-parallel over N devices, as `repro run`.")
@click.option("--data", "data_spec", default=None, metavar="folder:PATH",
              help="Also time the training input pipeline on this folder at the same batch and size: does input "
                   "or compute bound the step?")
@click.option("--no-twin", is_flag=True, help="Leave out the keras.applications model.")
@click.option("--no-torch", is_flag=True, help="Leave out the torch/torchvision baseline.")
@click.option("--torch-compile", is_flag=True, help="Also time torchvision's model under torch.compile (slow to compile "
                                                      "on a CPU).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as one JSON object (progress goes to stderr).")
def train_command(model, batch, image_size, classes, precision, steps, warmup, repeats, backend, devices, data_spec,
                  no_twin, no_torch, torch_compile, as_json) -> None:
    """Training img/s of a keras_repro model on synthetic data, against keras.applications and torch (last line: ratio=X).

    \b
    Examples:
      repro bench train resnet50 --image-size 64 --batch 16 --steps 10 --backend jax
      repro bench train resnet50 --precision mixed_bfloat16 --batch 256 --backend jax --torch-compile
      repro bench train alexnet --data folder:/data/imagenet
    """
    import json
    import os

    from keras_repro import _env

    def fail(message: str, code: int = 2):
        click.echo(f"Error: {message}", err=True)
        raise SystemExit(code)

    if devices is not None and devices != "all" and not (devices.isdigit() and int(devices) > 0):
        fail(f"--devices must be a positive number or 'all'. Received: {devices!r}")
    if data_spec is not None and not data_spec.startswith("folder:"):
        fail(f"--data takes an image folder, folder:PATH. Received: {data_spec}")
    try:
        backend = _env.select_backend(backend)
    except _env.BackendError as exc:
        fail(str(exc), 1)
    # Before the engines start: JAX would take 75% of a GPU and TensorFlow all of it, leaving nothing to torch.
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    _env.prepare_devices(backend, devices)
    keras = _env.import_keras_quietly()
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")
        for gpu in tf.config.list_physical_devices("GPU"):
            tf.config.experimental.set_memory_growth(gpu, True)
        _env.split_tensorflow_cpu(devices)
    from keras_repro.suite import bench_train as bench_mod
    from keras_repro.suite.runtime import DistributionError, resolve_devices

    def log(message: str) -> None:
        click.echo(message, err=as_json)

    try:
        n_devices = resolve_devices(backend, devices)
        if batch % n_devices:
            fail(f"--batch {batch} does not divide over {n_devices} devices")
        result = bench_mod.bench_train(model, batch=batch, image_size=image_size, classes=classes,
                                       precision=precision, steps=steps, warmup=warmup, repeats=repeats,
                                       devices=n_devices, twin=not no_twin, torch_baseline=not no_torch,
                                       torch_compile=torch_compile, log=log)
    except (bench_mod.BenchError, DistributionError) as exc:
        fail(str(exc).splitlines()[0])
    result["input"] = None
    if data_spec is not None:
        with _data_errors():
            result["input"] = bench_mod.bench_input(data_spec, image_size=result["image_size"], batch=batch,
                                                    channels=result["channels"], log=log)
        model_rate = result["contenders"][0]["img_per_s"]
        result["input"]["bound"] = "input" if result["input"]["img_per_s"] < model_rate else "compute"
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    _print_train_bench(result)


def _print_train_bench(result: dict) -> None:
    click.echo(f"{result['model']}: batch {result['batch']}, {result['image_size']}×{result['image_size']}×"
               f"{result['channels']}, {result['classes']} classes, {result['precision']}, {result['backend']} "
               f"(jit_compile={result['jit_compile']}), {result['devices']} device(s), {result['optimizer']}")
    click.echo(f"{result['steps']} timed steps × {result['repeats']} interleaved rounds after "
               f"{result['warmup']} warm-up step(s); img/s and step time: medians over the rounds")
    for row in result["contenders"]:
        madds = row["multiply_adds_per_image"]
        click.echo(f"  {row['name']}: {row['img_per_s']:.1f} img/s, step {row['step_ms']:.1f} ms "
                   f"({row['cpu_ms_per_step']:.0f} ms CPU), compile {row['compile_s']:.2f} s, "
                   f"{row['params'] / 1e6:.2f} M params" +
                   (f", {madds / 1e9:.3f} G mult-adds/img" if madds else ""))
        click.echo(f"    memory: {row['memory']['bytes'] / 2**20:.0f} MiB ({row['memory']['what']})")
    if result["torch_skipped"]:
        click.echo(f"  torch baseline: skipped ({result['torch_skipped']})")
    if result["input"]:
        inp, model_rate = result["input"], result["contenders"][0]["img_per_s"]
        click.echo(f"input pipeline on {inp['spec']}: {inp['img_per_s']:.1f} img/s against the model's "
                   f"{model_rate:.1f} img/s: {inp['bound']} bounds the step")
    if result["ratio"] is None:
        click.echo(f"ratio=n/a ({result['twin_skipped']})")
    else:
        rounds = result["ratio_rounds"]
        click.echo(f"CPU-time ratio (keras.applications / ours per step): {result['cpu_ratio']:.3f}; "
                   f"ratio within each round: median {statistics.median(rounds):.3f} "
                   f"(min {min(rounds):.3f}, max {max(rounds):.3f})")
        click.echo(f"ratio={result['ratio']:.3f}")
