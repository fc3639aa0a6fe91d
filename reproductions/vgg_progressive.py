"""VGG's progressive deepening: grow 11 → 13 → 16 → 19 layers from trained weights, or train from scratch?

Claim C5.5. The notes: "train a network of 11 layers → add 2 deep layers → train 13 layers → ...;
this compensates vanishing gradients; max-pooling after each cascade of convolutions; VGG is often
used as a backbone (freeze the convolutional layers, drop the dense ones, add your own, train)".
The VGG paper (Simonyan & Zisserman, 2014) trained configuration A (11 weight layers) from
``N(0, 0.01)`` and started the deeper B, D, E from it, because "bad initialisation can stall
learning due to the instability of gradient in deep nets"; after submission the authors found that
Glorot initialisation removes the need.

Four ways to reach each depth, with the same number of epochs at every depth:

- ``progressive``: VGG-11 from ``N(0, σ)``; then each deeper net is :func:`grow_vgg` of the previous
  one (every layer it shares starts from the trained weights, the new convolutions from ``N(0, σ)``);
- ``scratch_normal``: every depth from ``N(0, σ)`` — the paper-era initialisation;
- ``scratch_glorot``: every depth from Glorot-uniform (the authors' later remark; reported, not judged);
- ``progressive_glorot``: the same growing chain started from the Glorot VGG-11, new layers Glorot
  too (reported, not judged): does growing help where Glorot-from-scratch still degrades with depth?

VGG-11 of ``progressive`` and ``scratch_normal`` is the same trained model. Training loss is the
mean over the last epoch. Finally the convolutional part of the progressive VGG-19 is frozen under a
new head for a new task (odd vs even digit): the backbone's weights must not move, and the head must
beat chance (the majority class's share of the test set) by ``HEAD_MARGIN``.

Precondition: the N(0, σ) VGG-11 that roots the progressive chain trained (its final training loss
below ``TRAINED_ROOT`` × ln(classes)); otherwise there is nothing to grow from and the verdict is
``inconclusive`` (precondition unmet), not a finding about progressive deepening.

Default profile (CPU, about 2 minutes): the embedded digits through the ImageNet-style pipeline
(random square crop, bilinear rescale to 32×32), widths × 1/8, 5 epochs per depth, with Adam: a
few hundred steps per depth, where the paper ran some 370,000 SGD iterations. ``σ`` is
the paper's 0.01 scaled by ``1/sqrt(width_multiplier)``: a layer's output variance is
``fan_in · σ²`` times its input's, so this keeps every layer's gain what it is in the full-width
net (``--set match_full_width_gain=false`` uses 0.01 as is). ``full``: true widths on
``tfds:cifar10`` with the paper's SGD (momentum 0.9, learning rate 0.01).

Command: ``repro run vgg_progressive``
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from keras_repro.data import first_batch, iterate_batches, make_datasets, parse_spec, relabel
from keras_repro.measures.gradients import layer_gradient_norms
from keras_repro.models import grow_vgg, vgg, vgg_backbone
from keras_repro.models.vgg import VGG_CONFIG_NAMES, VGG_CONVS_PER_BLOCK, copy_weights_by_name
from keras_repro.optimizers import make_optimizer
from keras_repro.suite.claims import Claim, all_of, at_least, at_most, custom, is_true, less_than, requires
from keras_repro.suite.config import ReproConfig, setting
from keras_repro.suite.registry import reproduction

METHODS = ("progressive", "scratch_normal", "scratch_glorot", "progressive_glorot")
SAME_AS = {"scratch_normal": "progressive", "progressive_glorot": "scratch_glorot"}  # one shared shallowest net
DEEP = 16  # "deep" depths, where the paper says random N(0, 0.01) initialisation stalls: D (16) and E (19)
CLEARLY = 0.5  # "clearly lower loss": at most half of the scratch net's
PLATEAU = 0.99  # a final loss above 99% of ln(classes) is the uniform-prediction plateau (for the notes only)
# Precondition: the root VGG-11 trained: its final training loss is below half of ln(classes), the loss of
# a uniform prediction (the Glorot VGG-11 of the reference run reached 0.22 of it; the N(0, σ) one 1.000).
TRAINED_ROOT = 0.5
# The frozen backbone's new head must beat chance by 10 points of test accuracy: 36 of the 359 digit test
# images, about four standard deviations of a chance-level accuracy (sqrt(0.25 / 359) = 0.026).
HEAD_MARGIN = 0.10


@dataclass
class Config(ReproConfig):
    dataset: str = setting("digits", "labelled images: digits, tfds:NAME or folder:PATH", check=parse_spec)
    data_dir: str = setting("", "tfds data directory with prepared data ('': tfds's default)")
    image_size: int = setting(32, "side of the network input, in pixels (five 2×2 poolings: at least 32)", ge=32)
    channels: Literal[0, 1, 3] = setting(0, "image channels fed to the network (0: the source's)")
    flip: bool = setting(False, "also mirror training crops left-right")
    depths: tuple[Literal[11, 13, 16, 19], ...] = setting((11, 13, 16, 19), f"VGG depths grown through, increasing; "
                                                                            f"the deepest >= {DEEP}")
    width_multiplier: float = setting(0.125, "scales every layer's width (1: the true VGG)", gt=0)
    epochs_per_depth: int = setting(5, "training epochs at each depth, the same for every method", ge=1)
    batch_size: int = setting(64, "minibatch size", ge=1)
    optimizer: Literal["adam", "sgd"] = setting("adam", "adam, or the paper's SGD with momentum 0.9")
    learning_rate: float = setting(1e-3, "the optimiser's learning rate", gt=0)
    init_std: float = setting(0.01, "σ of the paper's N(0, σ) initialisation (before the width correction)", gt=0)
    match_full_width_gain: bool = setting(True, "scale σ by 1/sqrt(width_multiplier): every layer keeps the "
                                                "full-width net's gain")
    backbone_epochs: int = setting(3, "epochs of the new head on the frozen VGG-19 backbone", ge=1)
    save_models: Literal["all", "deepest", "none"] = setting("deepest", "models saved: all, deepest (VGG-11 and each "
                                                                        "method's deepest net) or none")
    max_examples: int = setting(0, "training images used (0: all)", ge=0)
    PROFILES = {"smoke": {"depths": (11, 16), "width_multiplier": 0.0625, "epochs_per_depth": 1, "backbone_epochs": 1,
                          "max_examples": 256},
                "full": {"dataset": "tfds:cifar10", "channels": 3, "flip": True, "width_multiplier": 1.0,
                         "epochs_per_depth": 20, "batch_size": 128, "optimizer": "sgd", "learning_rate": 0.01,
                         "backbone_epochs": 5}}
    DRY_RUN = {"epochs_per_depth": 1, "backbone_epochs": 1, "batch_size": 16}  # --dry-run: budgets only

    def validate(self):
        check_depths(self.depths)


def _degrades_less(m):
    return m["scratch_normal_degradation"] > m["progressive_degradation"]


CLAIMS = [
    Claim("C5.5", "VGG: progressive deepening (11 -> 13 -> 16 -> 19 layers, each started from the trained shallower "
                  "net) trains deep nets that random N(0, 0.01) initialisation cannot, and scratch training degrades "
                  "with depth more than progressive; max-pooling after each cascade of convolutions; a frozen VGG "
                  "is a backbone for a new head.",
          rule=all_of(at_most("worst_deep_loss_ratio", CLEARLY),
                      custom("scratch_normal_degradation > progressive_degradation (train loss at the deepest minus "
                             "the shallowest depth)", _degrades_less,
                             reads=("scratch_normal_degradation", "progressive_degradation")),
                      is_true("pool_after_each_cascade"), is_true("backbone_weights_unchanged"),
                      at_least("backbone_parity_accuracy_over_chance", HEAD_MARGIN)),
          preconditions=(requires("the root N(0, σ) VGG-11 trained (final training loss below "
                                  f"{TRAINED_ROOT:g} × ln(classes))",
                                  less_than("root_loss_over_ln_classes", TRAINED_ROOT)),)),
]


def paper_init_std(cfg) -> float:
    return cfg.init_std / math.sqrt(cfg.width_multiplier) if cfg.match_full_width_gain else cfg.init_std


def check_depths(depths: tuple[int, ...]) -> None:
    if list(depths) != sorted(set(depths)) or any(d not in VGG_CONVS_PER_BLOCK for d in depths):
        raise ValueError(f"depths must be increasing VGG depths from {sorted(VGG_CONVS_PER_BLOCK)}. "
                         f"Received: depths={depths}")
    if depths[-1] < DEEP or len(depths) < 2:
        raise ValueError(f"depths must include a shallow depth and one >= {DEEP}. Received: depths={depths}")


def pools_after_each_cascade(model: keras.Model) -> bool:
    """Every ``block{b}_pool`` directly follows the last convolution of its block, and nothing else pools."""
    names = [layer.name for layer in model.layers]
    pools = [n for n, layer in zip(names, model.layers) if isinstance(layer, keras.layers.MaxPooling2D)]
    ok = len(pools) == 5
    for b in range(1, 6):
        convs = [n for n in names if n.startswith(f"block{b}_conv")]
        ok &= f"block{b}_pool" in names and bool(convs) and names.index(f"block{b}_pool") == names.index(convs[-1]) + 1
    return bool(ok)


def loss_summary(rows: pd.DataFrame, depths: tuple[int, ...]) -> dict[str, float]:
    """What the rule reads, from a table with one row per (method, depth) and a ``train_loss`` column."""
    loss = rows.set_index(["method", "depth"])["train_loss"]
    ratios = {d: loss["progressive", d] / loss["scratch_normal", d] for d in depths if d >= DEEP}
    out = {f"loss_ratio_d{d}": r for d, r in ratios.items()}
    out["worst_deep_loss_ratio"] = max(ratios.values())
    for method in ("progressive", "scratch_normal"):
        out[f"{method}_degradation"] = loss[method, depths[-1]] - loss[method, depths[0]]
    return out


def train(ctx, model, train_ds, eval_ds, probe, label: str) -> dict:
    """Train ``model`` for the depth's epochs; also its first and last layers' gradient norms at the start."""
    cfg = ctx.config
    norms = layer_gradient_norms(model, *probe)
    with ctx.scope():
        model.compile(make_optimizer(cfg.optimizer, cfg.learning_rate), "sparse_categorical_crossentropy",
                      metrics=["accuracy"])
    history = ctx.fit(model, train_ds, epochs=cfg.epochs_per_depth, shuffle=False, label=label)
    test_loss, test_accuracy = model.evaluate(eval_ds, verbose=0)
    return {"curve": history.history, "train_loss": history.history["loss"][-1],
            "train_accuracy": history.history["accuracy"][-1], "test_loss": float(test_loss),
            "test_accuracy": float(test_accuracy), "first_layer_gradient_at_start": norms["block1_conv1"],
            "last_layer_gradient_at_start": norms["predictions"]}


def save_list(models: dict, depths: tuple[int, ...], which: str) -> list[tuple[str, int]]:
    """(method, depth) of the models to save: ``all``, ``deepest`` (VGG-11 and each method's deepest) or ``none``."""
    if which not in ("all", "deepest", "none"):
        raise ValueError(f"save_models must be 'all', 'deepest' or 'none'. Received: save_models={which!r}")
    keep = [key for key in models if not (key[0] in SAME_AS and key[1] == depths[0])]  # the shared shallowest net
    if which == "deepest":
        keep = [key for key in keep if key[1] == depths[-1] or key == ("progressive", depths[0])]
    return keep if which != "none" else []


GRADIENT_FLOOR = 1e-16  # where an exactly zero (underflowed) gradient norm is drawn on the log axis


def plot_curves(curves: pd.DataFrame, table: pd.DataFrame, depths, classes: int):
    fig, axes = plt.subplots(1, len(depths) + 2, figsize=(3.5 * (len(depths) + 2), 3.6))
    styles = {"progressive": dict(color="C0", marker="s", ls="--", ms=6, mfc="none"),
              "scratch_normal": dict(color="C3", marker="o", ms=3),
              "scratch_glorot": dict(color="C2", marker="o", ms=3),
              "progressive_glorot": dict(color="C2", marker="s", ls="--", ms=6, mfc="none")}
    top = 1.1 * max(curves["train_loss"].max(), math.log(classes))
    for ax, depth in zip(axes, depths):
        for method, group in curves[curves["depth"] == depth].groupby("method", sort=False):
            ax.plot(group["epoch"], group["train_loss"], label=method, **styles[method])
        ax.set(title=f"VGG-{depth} ({VGG_CONFIG_NAMES[depth]})", xlabel="epoch at this depth", ylim=(0, top))
        ax.axhline(math.log(classes), color="k", lw=0.6, ls=":")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"training cross-entropy (dotted: ln {classes})")
    axes[0].legend(fontsize=8)
    loss_ax, grad_ax = axes[-2], axes[-1]
    for method, group in table.groupby("method", sort=False):
        loss_ax.plot(group["depth"], group["train_loss"], label=method, **styles[method])
        grad_ax.semilogy(group["depth"], group["first_layer_gradient_at_start"].clip(lower=GRADIENT_FLOOR),
                         **styles[method])
    loss_ax.set(title="final training loss", xlabel="weight layers", xticks=list(depths), ylim=(0, top))
    floor = "\n(an exact 0 is drawn at 1e-16)" if (table["first_layer_gradient_at_start"] == 0).any() else ""
    grad_ax.set(title=f"‖∂L/∂W‖ of block1_conv1 at the start{floor}", xlabel="weight layers",
                xticks=list(depths))
    for ax in (loss_ax, grad_ax):
        ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig


@dataclass(frozen=True)
class Chain:
    """One initialisation's two ways to every depth: from scratch, and grown from the shallower grown net.

    At the shallowest depth both are the same trained model, the start of the growing chain.
    """

    scratch: str
    grown: str
    initializer: object
    seed_part: int  # ctx.reseed(seed_part, depth) before the depth's nets: their initial weights
    grown_first: bool  # at each depth the grown net trains before the scratch one (the reference runs' order)


class DepthRuns:
    """The trained nets of every (method, depth), their table rows and per-epoch curves."""

    def __init__(self, ctx):
        self.ctx, self.rows, self.curves, self.models = ctx, [], [], {}

    def record(self, method, depth, model, result, copied, cumulative):
        self.rows.append({"method": method, "depth": depth, "config": VGG_CONFIG_NAMES[depth],
                          "train_loss": result["train_loss"], "train_accuracy": result["train_accuracy"],
                          "test_loss": result["test_loss"], "test_accuracy": result["test_accuracy"],
                          "first_layer_gradient_at_start": result["first_layer_gradient_at_start"],
                          "last_layer_gradient_at_start": result["last_layer_gradient_at_start"],
                          "parameters": model.count_params(), "layers_from_shallower": copied,
                          "epochs_at_depth": self.ctx.config.epochs_per_depth, "cumulative_epochs": cumulative})
        self.curves.extend({"method": method, "depth": depth, "epoch": e + 1, "train_loss": loss,
                            "train_accuracy": result["curve"]["accuracy"][e]}
                           for e, loss in enumerate(result["curve"]["loss"]))
        self.models[method, depth] = model
        self.ctx.progress(f"{method} VGG-{depth}: train loss {result['train_loss']:.4f}, "
                          f"test accuracy {result['test_accuracy']:.3f}")

    def table(self) -> pd.DataFrame:
        """One row per (method, depth), in the order of METHODS."""
        order = {method: k for k, method in enumerate(METHODS)}
        return pd.DataFrame(self.rows).sort_values(
            ["method", "depth"], key=lambda col: col.map(order) if col.name == "method" else col).reset_index(drop=True)


def reach_every_depth(ctx, build, chains, train_ds, eval_ds, probe) -> DepthRuns:
    """Train every chain's nets at every depth: the shallowest once, then grown and from scratch."""
    cfg = ctx.config
    runs = DepthRuns(ctx)
    for i, depth in enumerate(cfg.depths):
        for chain in chains:
            ctx.reseed(chain.seed_part, depth)
            if i == 0:
                model = build(depth, chain.initializer)
                result = train(ctx, model, train_ds, eval_ds, probe, f"{chain.scratch} VGG-{depth}")
                for method in ((chain.grown, chain.scratch) if chain.grown_first else (chain.scratch, chain.grown)):
                    runs.record(method, depth, model, result, 0, cfg.epochs_per_depth)
                continue

            def grown(chain=chain, depth=depth, i=i):
                shallower = runs.models[chain.grown, cfg.depths[i - 1]]
                net = grow_vgg(shallower, depth, kernel_initializer=chain.initializer, name=f"vgg{depth}")
                copied = len(copy_weights_by_name(shallower, net))
                runs.record(chain.grown, depth, net, train(ctx, net, train_ds, eval_ds, probe,
                                                           f"{chain.grown} VGG-{depth}"),
                            copied, cfg.epochs_per_depth * (i + 1))

            def scratch(chain=chain, depth=depth):
                net = build(depth, chain.initializer)
                runs.record(chain.scratch, depth, net, train(ctx, net, train_ds, eval_ds, probe,
                                                             f"{chain.scratch} VGG-{depth}"),
                            0, cfg.epochs_per_depth)

            for step in ((grown, scratch) if chain.grown_first else (scratch, grown)):
                step()
    return runs


def majority_share(ds) -> float:
    """The share of the most frequent label in ``ds``: the accuracy of always guessing it (chance)."""
    labels = np.concatenate([np.asarray(y).reshape(-1) for _, y in iterate_batches(ds)])
    return float(np.bincount(labels.astype(int)).max() / len(labels))


def frozen_backbone(ctx, trained, train_ds, eval_ds) -> tuple[keras.Model, bool, float, float]:
    """VGG as a frozen backbone under a new head for odd vs even class: the model, whether the backbone's
    weights stayed exactly as they were, the head's test accuracy and chance (the majority share)."""
    cfg = ctx.config
    ctx.reseed(4)
    with ctx.scope():
        head_model = vgg_backbone(trained, classes=2, head_units=64)
        head_model.compile(make_optimizer(cfg.optimizer, cfg.learning_rate), "sparse_categorical_crossentropy",
                           metrics=["accuracy"])
    frozen_before = [w.copy() for w in head_model.get_layer("backbone").get_weights()]
    parity = (relabel(train_ds, lambda y: y % 2), relabel(eval_ds, lambda y: y % 2))
    ctx.fit(head_model, parity[0], epochs=cfg.backbone_epochs, shuffle=False, label="frozen backbone + new head")
    _, parity_accuracy = head_model.evaluate(parity[1], verbose=0)
    unchanged = all(np.array_equal(a, b) for a, b in zip(head_model.get_layer("backbone").get_weights(), frozen_before))
    return head_model, unchanged, float(parity_accuracy), majority_share(parity[1])


def explain(ctx, table: pd.DataFrame, std: float, info) -> None:
    """Notes: a shallowest net stuck on the plateau, the Glorot runs (reported, not judged), the setting."""
    classes = info.num_classes
    cfg = ctx.config
    base = table.set_index(["method", "depth"]).loc[("progressive", cfg.depths[0])]
    base_loss = base["train_loss"]
    loss = table.set_index(["method", "depth"])["train_loss"]
    deep = [d for d in cfg.depths if d >= DEEP]
    pairs = "; ".join(f"VGG-{d} {loss['progressive', d]:.4g} vs {loss['scratch_normal', d]:.4g}" for d in deep)
    ctx.note("C5.5", f"Final training loss, progressive vs scratch N(0, σ): {pairs}"
                     f" (root VGG-{cfg.depths[0]}: {base_loss:.4g}, ln {classes} = {math.log(classes):.4g}). "
                     f"worst_deep_loss_ratio: the largest, over depths >= {DEEP}, of progressive / scratch_normal final "
                     f"training loss; 'clearly lower' is fixed at <= {CLEARLY:g} (at most half).")
    if base_loss >= PLATEAU * math.log(classes):
        ctx.note("C5.5", f"The N(0, {std:.3g}) VGG-{cfg.depths[0]} that starts the progressive chain ended at "
                         f"training loss {base_loss:.4f}, within {1 - PLATEAU:.0%} of ln {classes} = "
                         f"{math.log(classes):.4f}: it never left the plateau of its initialisation, so "
                         "growing had no trained net to start from. Its first layer's gradient norm at the start "
                         f"was {base['first_layer_gradient_at_start']:.3g} (per_depth). The paper trained "
                         "net A for 74 epochs (about 370,000 SGD iterations); this budget is "
                         f"{cfg.epochs_per_depth} epochs per depth.")
    glorot = table[table["method"] == "scratch_glorot"].set_index("depth")["train_loss"]
    grown_glorot = table[table["method"] == "progressive_glorot"].set_index("depth")["train_loss"]
    ctx.note("C5.5", f"Glorot-uniform (reported, not judged), final training loss from scratch: "
                     f"{', '.join(f'VGG-{d} {glorot[d]:.3g}' for d in cfg.depths)}; grown from the Glorot VGG-"
                     f"{cfg.depths[0]}: {', '.join(f'VGG-{d} {grown_glorot[d]:.3g}' for d in cfg.depths)}. "
                     "Equal epochs at every depth: "
                     f"the progressive net at depth d has also had the epochs of the shallower depths "
                     f"(cumulative_epochs in per_depth).")
    scaling = "scaled to the full-width layer gain" if cfg.match_full_width_gain else "as is"
    ctx.note("C5.5", f"{info.name} at {cfg.image_size}px, widths x {cfg.width_multiplier:g}, {cfg.optimizer} "
                     f"(lr {cfg.learning_rate:g}), batch {cfg.batch_size}, no dropout and no weight decay; paper "
                     f"init N(0, {std:.4g}) = 0.01 {scaling}.")


@reproduction("vgg_progressive", title="VGG: progressive deepening vs training from scratch", claims=CLAIMS,
              config=Config)
def run(ctx):
    cfg = ctx.config
    train_ds, eval_ds, info = make_datasets(cfg.dataset, image_size=cfg.image_size, batch_size=cfg.batch_size,
                                            seed=ctx.seed_for(1), augment="alexnet", channels=cfg.channels or None,
                                            data_dir=cfg.data_dir or None, flip=cfg.flip,
                                            max_examples=cfg.max_examples or None)
    shape = (cfg.image_size, cfg.image_size, info.channels)
    probe = first_batch(train_ds)  # one fixed batch for the gradient norms at the start
    std = paper_init_std(cfg)
    ctx.progress(f"{info.name}: {info.train_count} training images at {cfg.image_size}px; "
                 f"paper init N(0, {std:.4g}); {cfg.epochs_per_depth} epochs per depth")

    def build(depth, init):
        return vgg(depth, input_shape=shape, classes=info.num_classes, width_multiplier=cfg.width_multiplier,
                   kernel_initializer=init, name=f"vgg{depth}")

    chains = (Chain("scratch_normal", "progressive", keras.initializers.RandomNormal(0.0, std), 2, grown_first=True),
              Chain("scratch_glorot", "progressive_glorot", "glorot_uniform", 3, grown_first=False))
    ctx.plan(len(chains) * (2 * len(cfg.depths) - 1) + 1, "networks")  # + the frozen backbone's head
    runs = reach_every_depth(ctx, build, chains, train_ds, eval_ds, probe)
    table, curves = runs.table(), pd.DataFrame(runs.curves)
    ctx.table("per_depth", table, keys=["method", "depth"],
              caption="train_loss / train_accuracy: mean over the last epoch at that depth (augmented inputs)")
    ctx.table("loss_curves", curves, keys=["method", "depth", "epoch"])
    ctx.figure("loss_curves", plot_curves(curves, table, cfg.depths, info.num_classes))
    raw_images = {"scale": 1 / 255, "mean": info.mean, "std": info.std}  # saved models take 0-255 images
    for method, depth in save_list(runs.models, cfg.depths, cfg.save_models):
        ctx.save_model(f"vgg{depth}_{method}", runs.models[method, depth], preprocessing=raw_images)

    head_model, unchanged, parity_accuracy, parity_chance = frozen_backbone(ctx, runs.models["progressive", cfg.depths[-1]],
                                                             train_ds, eval_ds)
    if cfg.save_models != "none":
        ctx.save_model(f"vgg{cfg.depths[-1]}_backbone_parity_head", head_model, preprocessing=raw_images)

    root_loss = float(table.set_index(["method", "depth"]).loc[("progressive", cfg.depths[0]), "train_loss"])
    ctx.measure("C5.5", **loss_summary(table, cfg.depths),
                pool_after_each_cascade=all(pools_after_each_cascade(m) for m in runs.models.values()),
                backbone_weights_unchanged=unchanged,
                backbone_parity_accuracy_over_chance=parity_accuracy - parity_chance,
                root_loss_over_ln_classes=root_loss / math.log(info.num_classes),
                backbone_parity_test_accuracy=parity_accuracy, backbone_parity_chance=parity_chance,
                epochs_per_depth=cfg.epochs_per_depth, paper_init_std=std)
    explain(ctx, table, std, info)
