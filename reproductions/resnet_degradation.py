"""ResNet: deep plain networks degrade, residual networks do not; one network for any input size.

Claim C5.7. The notes: a residual block outputs F(x) + x; deeper plain networks train worse than
shallower ones (the degradation problem, not overfitting: the *training* error is higher), residual
networks do not; ResNets end in global average pooling and one dense layer, so they accept any
input size, ideally a multiple of 32 (five halvings).

(a) The paper's CIFAR experiment (§4.2) at CPU scale: CIFAR-style networks of ``depths`` (6n + 2
layers: a 3×3 convolution, three stages of n basic blocks, global average pooling, a dense layer;
batch normalisation after every convolution), plain and residual, same initialisation scheme, same
optimiser, the same number of epochs and the paper's step schedule (the learning rate divided by 10
for the last quarter of training; equal budgets), on the embedded digits at 32×32×3 (``--set
dataset=tfds:cifar10`` for CIFAR-10). Judged on the training loss
of the last epoch (the mean over its batches, in training mode: what the paper's training-error
curves show), over ``seeds`` seeds: the plain nets' degradation (deep minus shallow, per seed) on its
95% t-interval, the residual nets' deep-minus-shallow on its mean. Precondition: both shallow nets
trained (last-epoch loss below ``TRAINED_LOSS``), so the comparison is between trained networks.
(b) One ImageNet-style ResNet-18 (input shape ``(None, None, 3)``) with the same weights applied to
``input_sizes``: the feature map before global pooling must be input/32 on each side.

Command: ``repro run resnet_degradation``
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from keras_repro.data import in_memory_spec, load_arrays, to_unit_float
from keras_repro.models import resnet, resnet_cifar
from keras_repro.suite.claims import Claim, Effect, all_of, at_least, at_most, equals, greater_than, less_than, no_worse, requires
from keras_repro.suite.config import ConfigError, ReproConfig, setting
from keras_repro.suite.registry import reproduction


@dataclass
class Config(ReproConfig):
    dataset: str = setting("digits", "labelled images held in memory: digits, faces, shapes or tfds:NAME",
                           check=in_memory_spec)
    data_dir: str = setting("", "tfds data directory with prepared data ('': tfds's default)")
    image_size: int = setting(32, "side of the (square, RGB) input images (the paper's CIFAR: 32)", ge=8)
    depths: tuple[int, ...] = setting((20, 56), "a shallow and a deeper depth, each 6n + 2 (8, 14, 20, 32, 44, 56, "
                                                "110 ...)", ge=8)
    width_multiplier: float = setting(0.5, "scales the filters: 0.5 gives 8-16-32 (the paper: 16-32-64)", gt=0)
    epochs: int = setting(5, "training epochs, the same for every network", ge=1)
    lr_drop_at: float = setting(0.75, "fraction of the epochs after which the learning rate is divided by 10 (the "
                                      "paper: 48k of 64k iterations; 1: never)", gt=0, le=1)
    batch_size: int = setting(64, "minibatch size", ge=1)
    learning_rate: float = setting(0.05, "SGD learning rate", gt=0)
    momentum: float = setting(0.9, "SGD momentum", ge=0, lt=1)
    # 1 seed: 4 networks (two of depth 56) take ~115 s on 2 CPU cores, 3 seeds ~340 s, over the default
    # profile's 3 minutes. One seed gives no interval, so the default verdict is "underpowered"; about 7 seeds
    # (--set seeds=7) or the full profile decide.
    seeds: int = setting(1, "seeds (the plain nets' degradation is judged on its interval over seeds)", ge=1)
    max_examples: int = setting(0, "training images used (0: the whole training set)", ge=0)
    input_sizes: tuple[int, ...] = setting((64, 96, 128, 224), "input sides the ImageNet-style ResNet-18 is applied to",
                                           ge=32)
    PROFILES = {"smoke": {"depths": (8, 14), "width_multiplier": 0.25, "epochs": 1, "max_examples": 256,
                          "seeds": 1, "input_sizes": (64, 96)},
                "full": {"dataset": "tfds:cifar10", "width_multiplier": 1.0, "epochs": 60, "batch_size": 128,
                         "learning_rate": 0.1, "seeds": 3}}
    DRY_RUN = {"epochs": 1, "seeds": 1, "batch_size": 32}  # --dry-run: budgets only

    def validate(self):
        if len(self.depths) != 2 or self.depths[0] >= self.depths[1]:
            raise ConfigError(f"depths: give a shallow and a deeper depth, e.g. 20,56. Received: {self.depths}")
        bad = [d for d in self.depths if d < 8 or (d - 2) % 6]
        if bad:
            raise ConfigError(f"depths must be 6n + 2 (8, 14, 20, 32, 44, 56, 110 ...). Received: {bad}")


# Precondition: the shallow nets trained, so "deep minus shallow" compares trained networks: their
# last-epoch training loss is below a tenth of chance (ln 10 = 2.30 nats on ten classes).
TRAINED_LOSS = 0.1 * math.log(10)
# Smallest plain-net degradation that counts: 0.05 nats of training loss (the right class's mean
# probability e^-0.05 ≈ 5% lower): well above the seed-to-seed noise of near-zero losses, far below
# the degradation the paper shows (plain-56 a few points of training error above plain-20).
SMALLEST_DEGRADATION = 0.05

# Published beside ours, not judged: CIFAR-10 test error of ResNet-20 and ResNet-56 (He et al. 2015, Table 6;
# 164 epochs of SGD with augmentation). The full profile trains these nets on tfds:cifar10, far shorter.
PAPER_TEST_ERROR = {"paper_cifar10_test_error_resnet_20": 0.0875, "paper_cifar10_test_error_resnet_56": 0.0697}

CLAIMS = [
    Claim("C5.7", "Residual blocks output F(x) + x: deep plain nets train worse than shallow ones, residual nets do "
                  "not; global average pooling lets one ResNet take any input size (input/32 before pooling).",
          rule=all_of(greater_than("plain_deep_minus_shallow_loss", 0.0),
                      at_most("residual_deep_minus_shallow_loss", 0.0),
                      at_least("input_sizes_checked", 2), equals("input_size_mismatches", 0)),
          preconditions=(requires(f"both shallow nets trained (last-epoch training loss below {TRAINED_LOSS:.3g} = ln(10) / 10)",
                                  all_of(less_than("loss_plain_shallow", TRAINED_LOSS),
                                         less_than("loss_residual_shallow", TRAINED_LOSS))),),
          effect=(Effect("plain_deep_minus_shallow_loss_per_seed", "higher", SMALLEST_DEGRADATION,
                         covers=("plain_deep_minus_shallow_loss",)),
                  # "residual nets do not degrade": no worse than the shallow one by more than the degradation
                  # that counts for the plain nets (a non-inferiority margin of the same 0.05 nats)
                  no_worse("residual_deep_minus_shallow_loss_per_seed", "lower", SMALLEST_DEGRADATION,
                           covers=("residual_deep_minus_shallow_loss",)))),
]


def train_variant(ctx, cfg, train, test, classes: int, depth: int, residual: bool, seed: int):
    """Train one network on ``train = (x, y)``; returns (model, per-epoch history rows, summary row)."""
    ctx.reseed(seed, depth)
    kind = "residual" if residual else "plain"
    with ctx.scope():
        model = resnet_cifar(depth, residual=residual, input_shape=train[0].shape[1:], classes=classes,
                             width_multiplier=cfg.width_multiplier)
        steps = -(-len(train[1]) // cfg.batch_size) * cfg.epochs  # the paper's step schedule: ÷10 late in training
        rate = keras.optimizers.schedules.PiecewiseConstantDecay([int(cfg.lr_drop_at * steps)],
                                                                 [cfg.learning_rate, cfg.learning_rate / 10])
        model.compile(keras.optimizers.SGD(rate, momentum=cfg.momentum),
                      "sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = train
    history = ctx.fit(model, x, y, batch_size=cfg.batch_size, epochs=cfg.epochs, shuffle=True,
                      label=f"{kind}-{depth} seed {seed}").history
    curve = [{"kind": kind, "depth": depth, "seed": seed, "epoch": e + 1, "train_loss": history["loss"][e],
              "train_accuracy": history["accuracy"][e]} for e in range(cfg.epochs)]
    eval_loss, eval_acc = model.evaluate(x, y, batch_size=256, verbose=0)
    test_loss, test_acc = model.evaluate(*test, batch_size=256, verbose=0)
    summary = {"kind": kind, "depth": depth, "seed": seed, "parameters": model.count_params(),
               "last_epoch_train_loss": history["loss"][-1], "last_epoch_train_accuracy": history["accuracy"][-1],
               "train_loss_inference_mode": eval_loss, "train_accuracy_inference_mode": eval_acc,
               "test_loss": test_loss, "test_accuracy": test_acc}
    return model, curve, summary


def input_size_rows(sizes: tuple[int, ...], seed: int) -> list[dict]:
    """Apply one ResNet-18 (the same weights) to each input size; the side before pooling and the output."""
    keras.utils.set_random_seed(seed)
    model = resnet(18, input_shape=(None, None, 3), width_multiplier=0.125, classes=10)
    features = keras.Model(model.input, model.get_layer("conv5_block2_out").output)
    rows = []
    for side in sizes:
        x = np.random.default_rng(seed).normal(size=(1, side, side, 3)).astype("float32")
        fmap = keras.ops.convert_to_numpy(features(x))
        probs = keras.ops.convert_to_numpy(model(x))
        rows.append({"input_side": side, "feature_map_side": fmap.shape[1], "input_over_32": side / 32,
                     "matches": fmap.shape[1] == fmap.shape[2] == side // 32 and side % 32 == 0,
                     "output_shape": str(probs.shape), "probabilities_sum": float(probs.sum())})
    return rows


def plot_curves(curves: pd.DataFrame, depths):
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    mean = curves.groupby(["kind", "depth", "epoch"], as_index=False)["train_loss"].mean()
    for ax, kind in zip(axes, ("plain", "residual")):
        for depth, style in zip(depths, ("--", "-")):
            part = mean[(mean["kind"] == kind) & (mean["depth"] == depth)]
            ax.plot(part["epoch"], part["train_loss"], style, lw=2, label=f"{kind}-{depth}")
        ax.set(title=f"{kind} networks", xlabel="epoch", yscale="log")
        ax.grid(alpha=0.3)
        ax.legend()
    axes[0].set_ylabel("training loss (mean over the epoch's batches)")
    fig.suptitle("Training loss at two depths, plain vs residual (equal epochs)")
    fig.tight_layout()
    return fig


@reproduction("resnet_degradation", title="ResNet: plain nets degrade with depth, residual nets do not; any input size",
              claims=CLAIMS, config=Config)
def run(ctx):
    cfg = ctx.config
    data = load_arrays(cfg.dataset, image_size=cfg.image_size, channels=3, seed=ctx.seed, data_dir=cfg.data_dir or None,
                       max_examples=cfg.max_examples or None)
    x_train, x_test = to_unit_float(data.x_train), to_unit_float(data.x_test)
    ctx.progress(f"{cfg.dataset}: {len(data.y_train)} training, {len(data.y_test)} test images, "
                 f"{cfg.image_size}×{cfg.image_size}×3")

    curves, summaries = [], []
    ctx.plan(4 * cfg.seeds, "networks")  # plain and residual, shallow and deep, per seed
    for seed in range(cfg.seeds):
        for residual in (False, True):
            for depth in cfg.depths:
                model, curve, summary = train_variant(ctx, cfg, (x_train, data.y_train), (x_test, data.y_test),
                                                      data.num_classes, depth, residual, seed)
                curves += curve
                summaries.append(summary)
                ctx.progress(f"{summary['kind']}-{depth} seed {seed}: last-epoch training loss "
                             f"{summary['last_epoch_train_loss']:.4f}, test accuracy {summary['test_accuracy']:.3f}")
                if seed == 0 and residual and depth == cfg.depths[1]:
                    ctx.save_model(f"resnet{depth}_cifar", model, preprocessing={"scale": 1 / 255})
    curves, summaries = pd.DataFrame(curves), pd.DataFrame(summaries)
    ctx.table("training", summaries, keys=["kind", "depth", "seed"])
    ctx.table("training_curves", curves, keys=["kind", "depth", "seed", "epoch"])
    ctx.figure("training_loss", plot_curves(curves, cfg.depths))

    sizes = pd.DataFrame(input_size_rows(cfg.input_sizes, ctx.seed_for(99)))
    ctx.table("input_sizes", sizes, keys=["input_side"])

    loss = summaries.groupby(["kind", "depth"])["last_epoch_train_loss"].mean()
    per_seed = summaries.pivot_table(index="seed", columns=["kind", "depth"], values="last_epoch_train_loss")
    shallow, deep = cfg.depths
    plain_per_seed = (per_seed["plain", deep] - per_seed["plain", shallow]).tolist()
    residual_per_seed = (per_seed["residual", deep] - per_seed["residual", shallow]).tolist()
    plain_gap = loss["plain", deep] - loss["plain", shallow]
    residual_gap = loss["residual", deep] - loss["residual", shallow]
    ctx.measure("C5.7", plain_deep_minus_shallow_loss_per_seed=plain_per_seed,
                plain_deep_minus_shallow_loss=float(plain_gap), residual_deep_minus_shallow_loss=float(residual_gap),
                input_sizes_checked=len(sizes), input_size_mismatches=int((~sizes["matches"]).sum()),
                loss_plain_shallow=float(loss["plain", shallow]), loss_residual_shallow=float(loss["residual", shallow]),
                residual_deep_minus_shallow_loss_per_seed=residual_per_seed,
                **{f"loss_{kind}_{depth}": float(loss[kind, depth]) for kind in ("plain", "residual")
                   for depth in cfg.depths},
                epochs=cfg.epochs, seeds=cfg.seeds,
                **{f"test_error_{kind}_{depth}": float(1 - acc) for (kind, depth), acc in
                   summaries.groupby(["kind", "depth"])["test_accuracy"].mean().items()},
                **PAPER_TEST_ERROR)
    residual_worse = sum(d > 0 for d in residual_per_seed)
    ctx.note("C5.7", f"Plain-{deep} ends {plain_gap:+.4g} nats from plain-{shallow} and residual-{deep} "
                     f"{residual_gap:+.4g} from residual-{shallow} (last-epoch training loss, mean of {cfg.seeds} "
                     f"seeds; residual-{deep} worse on {residual_worse} of {cfg.seeds}). Losses are "
                     "last-epoch training losses (training mode); 'deep minus shallow' compares the two depths of one "
                     "kind of network on one seed; the rule reads means over seeds.")
    if residual_gap > 0:
        per_epoch = curves.groupby(["kind", "depth", "epoch"])["train_loss"].mean()
        falling = per_epoch["residual", deep, cfg.epochs] < per_epoch["residual", deep, max(cfg.epochs - 1, 1)]
        ratio = f"{plain_gap / residual_gap:.3g} times smaller than the plain networks' gap" \
            if plain_gap > 0 else "while the plain networks show no gap"
        ctx.note("C5.7", f"The residual gap is {ratio}; residual-{deep}'s loss was "
                         f"{'still falling' if falling else 'no longer falling'} in the last epoch. The paper's "
                         f"deeper ResNets pull ahead after full training (64k iterations): the full profile trains "
                         f"{Config.PROFILES['full']['epochs']} epochs on CIFAR-10.")
