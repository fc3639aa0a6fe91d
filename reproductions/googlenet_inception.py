"""GoogLeNet: 1×1 reductions make Inception blocks affordable; auxiliary losses feed early layers.

Claim C5.6. The notes: an Inception block runs 1×1, 3×3, 5×5 convolutions and a pooling branch side
by side and concatenates them; 1×1 convolutions reduce the channels before the expensive 3×3 and 5×5;
GoogLeNet trains with three losses, two of them from auxiliary classifiers on intermediate layers
(weight 0.3), to push gradient into the early layers.

(a) Cost at ImageNet settings (224×224×3, 1,000 classes): parameters and multiply-adds of GoogLeNet
with its 1×1 reductions and without them (the 3×3 and 5×5 convolutions then see the block's whole
input; the pooling projection stays, so every block keeps its output width).
(b) Auxiliary losses, on a CPU-sized GoogLeNet (``width_multiplier``) on the embedded digits at
``image_size`` (the auxiliary heads need sides of at least 96). With the same weights and the same
probe batches, the gradient norm of each early layer (the stem: ``conv1_7x7``, ``conv2_3x3_reduce``,
``conv2_3x3``) under the training objective with auxiliary losses, ``L + 0.3 (L_aux1 + L_aux2)``,
is compared with that under the main loss ``L`` alone (inference mode, so dropout draws no masks):
the ratio, median over probe batches and the early layers, at initialisation and after training a
network with the auxiliary losses. At equal weights that ratio is close to automatic: added loss
terms that point roughly the same way raise a gradient norm. (c) So the judged effect is the early
layers' training progress: for each seed, the network is trained twice from the same initial weights
(the same data pipeline, equal epochs, SGD with momentum 0.9 as in the paper, whose step size is where the
gradient's strength shows; Adam would normalise it away), once with the auxiliary losses and once
without (their heads weighted 0), and the stem's weights' distance from their initial values,
‖W_E − W_0‖ over the three stem layers, is compared: log(with / without) per seed, on its 95%
t-interval over seeds, smallest effect of interest log 1.1 (10% more movement). This can fail: a
network that learns faster through its auxiliary heads may reach flat regions sooner and move less, and
conflicting terms cancel. Main-head test accuracy of both networks is reported beside, not judged.

Command: ``repro run googlenet_inception``
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from keras_repro.data import iterate_batches, make_datasets, parse_spec, relabel
from keras_repro.measures.flops import multiply_adds, shapes_only
from keras_repro.measures.gradients import layer_gradient_norms
from keras_repro.models import googlenet
from keras_repro.models.googlenet import AUX_LOSS_WEIGHT
from keras_repro.suite.claims import Claim, Effect, all_of, at_least, at_most, greater_than, requires
from keras_repro.suite.config import ReproConfig, setting
from keras_repro.suite.registry import reproduction

def keras_initializer(name: str) -> None:
    """Fails with a clear message unless ``name`` is a Keras initializer."""
    try:
        keras.initializers.get(name)
    except ValueError:
        raise ValueError(f"not a keras.initializers name: {name!r} (e.g. he_normal, glorot_uniform)") from None


EARLY_LAYERS = ("conv1_7x7", "conv2_3x3_reduce", "conv2_3x3")


@dataclass
class Config(ReproConfig):
    dataset: str = setting("digits", "labelled images: digits, tfds:NAME or folder:PATH", check=parse_spec)
    data_dir: str = setting("", "tfds data directory with prepared data ('': tfds's default)")
    image_size: int = setting(96, "input side in pixels (the auxiliary heads need at least 96)", ge=96)
    width_multiplier: float = setting(0.25, "scales every layer's width (1: Table 1's GoogLeNet)", gt=0)
    epochs: int = setting(6, "training epochs", ge=1)
    batch_size: int = setting(64, "minibatch size, also of the gradient probes", ge=1)
    learning_rate: float = setting(0.01, "SGD learning rate", gt=0)
    momentum: float = setting(0.9, "SGD momentum (the paper: 0.9)", ge=0, lt=1)
    initializer: str = setting("he_normal", "kernel initializer of every layer (a keras.initializers name)",
                               check=keras_initializer)
    probe_batches: int = setting(4, "batches on which the early layers' gradient norms are compared", ge=1)
    seeds: int = setting(3, "seeds (initial weights, data order); the stem-progress effect is judged over them",
                         ge=1)
    max_examples: int = setting(0, "training images used (0: the whole training set)", ge=0)
    PROFILES = {"smoke": {"width_multiplier": 0.125, "epochs": 1, "probe_batches": 1, "max_examples": 128,
                          "seeds": 1},
                "full": {"dataset": "tfds:imagenette", "image_size": 224, "width_multiplier": 1.0, "epochs": 30,
                         "seeds": 3}}
    DRY_RUN = {"epochs": 1, "seeds": 1, "probe_batches": 1, "batch_size": 8}  # --dry-run: budgets only


# The smallest effect of interest, fixed before the run: auxiliary losses that move the stem's weights less
# than 10% further than the main loss alone do not "strengthen the gradient in early layers" in any way that
# matters for training.
# Precondition: training progress is compared between networks that train. The network without
# auxiliary losses (the control) must have left chance: its main head's last-epoch training loss (mean over
# the epoch's batches) at most half of ln 10 on every seed. What the claim asserts, that auxiliary losses
# help, is not presupposed: the network with them is not required to train.
CONTROL_TRAINED_LOSS = 0.5 * math.log(10)
STEM_EFFECT = Effect("log_stem_progress_ratio_per_seed", "higher", smallest=math.log(1.1))

CLAIMS = [
    Claim("C5.6", "Inception blocks concatenate 1x1, 3x3, 5x5 and pooling branches; 1x1 convolutions reduce "
                  "channels; auxiliary classifiers (loss weight 0.3) strengthen the gradient in early layers.",
          rule=all_of(at_least("param_reduction_factor", 2.0), greater_than("early_grad_ratio_at_init", 1.0),
                      greater_than("early_grad_ratio_trained", 1.0)),
          effect=STEM_EFFECT,
          preconditions=(requires(f"the network without auxiliary losses trained (main-head last-epoch training loss "
                                  f"at most {CONTROL_TRAINED_LOSS:.3g} = ln(10) / 2 on every seed)",
                                  at_most("control_main_loss_max", CONTROL_TRAINED_LOSS)),),
          note="early_grad_ratio_*: ‖∇(L + 0.3 ΣL_aux)‖ / ‖∇L‖ over the stem's weights, same weights and batches. "
               "log_stem_progress_ratio_per_seed: log of the stem's distance from its initial weights after training "
               "with the auxiliary losses over that without, same initial weights, data order and epochs (SGD)."),
]


def cost_rows() -> list[dict]:
    rows = []
    for reductions in (True, False):
        with shapes_only():  # counted, never trained
            model = googlenet(reductions=reductions)
        macs = multiply_adds(model)
        blocks = sum(n for name, n in macs.items() if name.startswith("inception"))
        rows.append({"network": model.name, "reductions_1x1": reductions, "parameters": model.count_params(),
                     "multiply_adds": sum(macs.values()), "inception_block_multiply_adds": blocks})
    return rows


@functools.cache  # the same two functions every time: on JAX the gradient function is compiled once per loss
def _losses():
    ce = keras.losses.SparseCategoricalCrossentropy()

    def main_only(y, outputs):
        return ce(y, outputs[0])

    def with_aux(y, outputs):
        return ce(y, outputs[0]) + AUX_LOSS_WEIGHT * (ce(y, outputs[1]) + ce(y, outputs[2]))

    return main_only, with_aux


def gradient_rows(model, probes, stage: str) -> list[dict]:
    """Early-layer gradient norms under the main loss and under the objective with auxiliary losses."""
    main_only, with_aux = _losses()
    rows = []
    for b, (x, y) in enumerate(probes):
        main = layer_gradient_norms(model, x, y, main_only, training=False)
        total = layer_gradient_norms(model, x, y, with_aux, training=False)
        for layer in EARLY_LAYERS:
            rows.append({"stage": stage, "probe_batch": b, "layer": layer, "grad_norm_main_loss": main[layer],
                         "grad_norm_with_aux_losses": total[layer], "ratio": total[layer] / main[layer]})
    return rows


def build(cfg, classes: int, aux: bool, seed: int):
    keras.utils.set_random_seed(seed)  # the same seed gives the shared layers the same initial weights
    model = googlenet(input_shape=(cfg.image_size, cfg.image_size, 3), classes=classes,
                      width_multiplier=cfg.width_multiplier, aux_classifiers=True,
                      kernel_initializer=cfg.initializer)
    weight = AUX_LOSS_WEIGHT if aux else 0.0  # weighted 0, the auxiliary heads receive and send no gradient
    model.compile(keras.optimizers.SGD(cfg.learning_rate, momentum=cfg.momentum),
                  loss=["sparse_categorical_crossentropy"] * 3, loss_weights=[1.0, weight, weight])
    return model


def stem_weights(model) -> list[np.ndarray]:
    """The stem's trainable weights (kernels and biases of ``EARLY_LAYERS``), as arrays."""
    return [keras.ops.convert_to_numpy(w).copy() for name in EARLY_LAYERS
            for w in model.get_layer(name).trainable_weights]


def stem_progress(initial: list[np.ndarray], final: list[np.ndarray]) -> float:
    """‖W_E − W_0‖ over all the stem's weights together."""
    return float(np.sqrt(sum(float(np.sum((b - a) ** 2)) for a, b in zip(initial, final, strict=True))))


def plot_ratios(grads: pd.DataFrame):
    fig, ax = plt.subplots(figsize=(6.4, 4))
    stages = list(dict.fromkeys(grads["stage"]))
    width = 0.8 / len(stages)
    for i, stage in enumerate(stages):
        part = grads[grads["stage"] == stage].groupby("layer", sort=False)["ratio"].median()
        ax.bar(np.arange(len(part)) + i * width, part.values, width, label=stage)
    ax.axhline(1.0, color="k", lw=1)
    ax.set_xticks(np.arange(len(EARLY_LAYERS)) + width * (len(stages) - 1) / 2, EARLY_LAYERS)
    ax.set_ylabel("‖∇(L + 0.3 ΣL_aux)‖ / ‖∇L‖ (median over batches)")
    ax.set_title("Auxiliary losses and the gradient reaching the stem")
    ax.legend()
    fig.tight_layout()
    return fig


@reproduction("googlenet_inception", title="GoogLeNet: 1×1 reductions and auxiliary classifiers", claims=CLAIMS,
              config=Config)
def run(ctx):
    cfg = ctx.config
    costs = pd.DataFrame(cost_rows())
    ctx.table("cost_at_224", costs, keys=["network"])
    with_red, without = costs.iloc[0], costs.iloc[1]
    ctx.progress(f"parameters {with_red['parameters']:,} with 1×1 reductions, {without['parameters']:,} without; "
                 f"multiply-adds {with_red['multiply_adds'] / 1e9:.2f}G vs {without['multiply_adds'] / 1e9:.2f}G")

    # streamed through the input pipeline (images of any size, e.g. Imagenette): whole images rescaled, x / 255
    train_ds, eval_ds, info = make_datasets(cfg.dataset, image_size=cfg.image_size, batch_size=cfg.batch_size,
                                            seed=ctx.seed_for(1), augment="none", channels=3, normalize=False,
                                            flip=False, max_examples=cfg.max_examples or None,
                                            data_dir=cfg.data_dir or None)
    y_test = np.concatenate([y for _, y in iterate_batches(eval_ds)])
    three_heads = relabel(train_ds, lambda y: (y, y, y))  # the main and the two auxiliary classifiers
    ctx.progress(f"{info.name}: {info.train_count} training, {info.eval_count} test images, "
                 f"{cfg.image_size}×{cfg.image_size}×3")
    grads, accuracy = [], []
    probes = list(iterate_batches(train_ds, limit=cfg.probe_batches))
    progress = []
    ctx.plan(2 * cfg.seeds, "networks")  # with and without auxiliary losses, per seed
    for seed in range(cfg.seeds):
        start = None
        for aux in (False, True):
            with ctx.scope():
                model = build(cfg, info.num_classes, aux, ctx.seed_for(seed, 2))
            initial = stem_weights(model)
            if start is None:
                start = initial
            elif any(not np.array_equal(a, b) for a, b in zip(start, initial, strict=True)):
                raise RuntimeError("the networks with and without auxiliary losses must start from the same weights")
            if aux:
                grads += [{**r, "seed": seed} for r in gradient_rows(model, probes, "at initialisation")]
            history = ctx.fit(model, three_heads, epochs=cfg.epochs,
                    label=f"{'with' if aux else 'without'} auxiliary losses, seed {seed}")
            if aux:
                grads += [{**r, "seed": seed} for r in gradient_rows(model, probes, "after training with aux")]
            progress.append({"seed": seed, "auxiliary_losses": aux, "epochs": cfg.epochs,
                             "main_last_epoch_loss": float(history.history["predictions_loss"][-1]),
                             "stem_distance_from_init": stem_progress(initial, stem_weights(model)),
                             "stem_initial_norm": stem_progress([0 * w for w in initial], initial)})
            main_probs = keras.ops.convert_to_numpy(model.predict(eval_ds, verbose=0)[0])
            accuracy.append({"seed": seed, "auxiliary_losses": aux, "epochs": cfg.epochs,
                             "main_test_accuracy": float((main_probs.argmax(1) == y_test[:len(main_probs)]).mean())})
            ctx.progress(f"seed {seed}, {'with' if aux else 'without'} auxiliary losses: main-head test accuracy "
                         f"{accuracy[-1]['main_test_accuracy']:.3f}, stem moved "
                         f"{progress[-1]['stem_distance_from_init']:.4g} from its initial weights")
    grads, accuracy, progress = pd.DataFrame(grads), pd.DataFrame(accuracy), pd.DataFrame(progress)
    ctx.table("stem_progress", progress, keys=["seed", "auxiliary_losses"])
    moved = progress.pivot(index="seed", columns="auxiliary_losses", values="stem_distance_from_init")
    log_ratio = np.log(moved[True] / moved[False])
    ctx.table("early_layer_gradients", grads, keys=["stage", "seed", "probe_batch", "layer"])
    ctx.table("accuracy", accuracy, keys=["seed", "auxiliary_losses"])
    ctx.figure("early_gradient_ratio", plot_ratios(grads))
    ratio = grads.groupby("stage")["ratio"].median()
    acc = accuracy.groupby("auxiliary_losses")["main_test_accuracy"].mean()
    ctx.measure("C5.6", param_reduction_factor=float(without["parameters"] / with_red["parameters"]),
                multiply_add_reduction_factor=float(without["multiply_adds"] / with_red["multiply_adds"]),
                early_grad_ratio_at_init=float(ratio["at initialisation"]),
                early_grad_ratio_trained=float(ratio["after training with aux"]),
                log_stem_progress_ratio_per_seed=[float(v) for v in log_ratio],
                control_main_loss_max=float(progress.loc[~progress["auxiliary_losses"], "main_last_epoch_loss"].max()),
                aux_main_loss_max=float(progress.loc[progress["auxiliary_losses"], "main_last_epoch_loss"].max()),
                stem_progress_ratio_mean=float(np.exp(log_ratio.mean())),
                test_accuracy_with_aux=float(acc[True]), test_accuracy_without_aux=float(acc[False]))
