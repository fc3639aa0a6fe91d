"""Architecture sizes at ImageNet settings: LeNet-5 → AlexNet → VGG → GoogLeNet → ResNet → ResNeXt.

Claim C5.9. The notes quote sizes (VGG-16 138.4M parameters, ResNet-50 25.6M, GoogLeNet ≈ 6.6–7M,
AlexNet ≈ 61M, LeNet-5 ≈ 60k). Every architecture is built here from ``keras_repro.models`` at the
reference configuration (224×224×3 inputs and 1,000 classes; LeNet-5 on 32×32×1 and 10 classes) and
its parameters are counted. Two kinds of check:

- **exact**: the count must equal a reference implementation's for the same configuration. Where
  the reference implementation is installed (``keras.applications`` VGG16, ResNet50/101/152), it is
  built here (``weights=None``: nothing is downloaded) and counted in the same run; ResNets are
  compared both as torchvision builds them (no convolution biases; its published ``num_params``
  count trainable parameters, not BatchNorm's moving statistics) and, built with ``conv_bias=True``,
  as ``keras.applications`` does (all weights). Published counts: torchvision's model documentation
  (AlexNet, ResNet-18 … 152, ResNeXt-50 32×4d) and BVLC Caffe's GoogLeNet (no auxiliary classifiers).
- **approximate**: the notes' rounded value, within 5% (what "≈" is taken to mean, fixed in the
  rule), and GoogLeNet inside the notes' range 6.6–7M.

Command: ``repro run architecture_sizes``
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from keras_repro.measures.flops import shapes_only
from keras_repro.models import trainable_parameters
from keras_repro.suite.claims import Claim, all_of, at_least, at_most, equals
from keras_repro.suite.config import ReproConfig, setting
from keras_repro.suite.registry import reproduction

# Published counts of reference implementations (not measured here: those libraries are not installed).
TORCHVISION = "torchvision model docs, num_params"
PUBLISHED = {
    "alexnet": (61_100_840, TORCHVISION),
    "resnet18": (11_689_512, TORCHVISION),
    "resnet34": (21_797_672, TORCHVISION),
    "resnet50": (25_557_032, TORCHVISION),
    "resnet101": (44_549_160, TORCHVISION),
    "resnet152": (60_192_808, TORCHVISION),
    "resnext50_32x4d": (25_028_904, TORCHVISION),
    "googlenet": (6_998_552, "BVLC Caffe bvlc_googlenet, without auxiliary classifiers"),
}
# The notes' sizes ("≈")
NOTES = {
    "lenet5": 60_000,
    "alexnet": 61_000_000,
    "vgg16": 138_400_000,
    "googlenet": 6_800_000,  # the middle of the notes' 6.6–7M
    "resnet50": 25_600_000,
}
GOOGLENET_RANGE = (6_600_000, 7_000_000)
LIVE = {"vgg16": "VGG16", "resnet50": "ResNet50", "resnet101": "ResNet101", "resnet152": "ResNet152"}


def _builders() -> dict[str, tuple[str, Callable[..., keras.Model]]]:
    from keras_repro.models import alexnet, googlenet, lenet5, resnet, resnext, vgg16

    return {
        "lenet5": ("32×32×1, 10 classes, full C3, average pooling", lambda **k: lenet5()),
        "alexnet": ("224×224×3, 1000 classes, one tower (64-192-384-256-256)", lambda **k: alexnet()),
        "vgg16": ("224×224×3, 1000 classes, configuration D", lambda **k: vgg16()),
        "googlenet": ("224×224×3, 1000 classes, Table 1, no auxiliary classifiers", lambda **k: googlenet()),
        "resnet18": ("224×224×3, 1000 classes", lambda **k: resnet(18, **k)),
        "resnet34": ("224×224×3, 1000 classes", lambda **k: resnet(34, **k)),
        "resnet50": ("224×224×3, 1000 classes", lambda **k: resnet(50, **k)),
        "resnet101": ("224×224×3, 1000 classes", lambda **k: resnet(101, **k)),
        "resnet152": ("224×224×3, 1000 classes", lambda **k: resnet(152, **k)),
        "resnext50_32x4d": ("224×224×3, 1000 classes, cardinality 32, width 4", lambda **k: resnext(50, **k)),
    }


ARCHITECTURES = ("lenet5", "alexnet", "vgg16", "googlenet", "resnet18", "resnet34", "resnet50", "resnet101",
                 "resnet152", "resnext50_32x4d")


@dataclass
class Config(ReproConfig):
    architectures: tuple[Literal[ARCHITECTURES], ...] = setting(ARCHITECTURES, "architectures built and counted")
    live_references: bool = setting(True, "also build keras.applications' VGG16 and ResNet50/101/152 to compare")
    PROFILES = {"smoke": {"architectures": ("lenet5", "alexnet", "googlenet", "resnet18", "resnet50",
                                            "resnext50_32x4d"), "live_references": False}}


CLAIMS = [
    Claim("C5.9", "Architectures at ImageNet settings have the published sizes (VGG-16 138.4M parameters, "
                  "ResNet-50 25.6M, GoogLeNet 6.6-7M, AlexNet 61M, LeNet-5 60k).",
          rule=all_of(at_least("exact_checks", 5), equals("exact_mismatches", 0),
                      at_least("approximate_checks", 3), at_most("worst_approximate_deviation", 0.05),
                      equals("outside_notes_range", 0))),
]


def size_rows(cfg, progress) -> list[dict]:
    """One row per (architecture, check): our count, the reference and whether they agree."""
    builders = _builders()
    rows = []
    for arch in cfg.architectures:
        description, build = builders[arch]
        with shapes_only():  # counted, never trained: no memory, no initialisation
            model = build()
        total, trainable = model.count_params(), trainable_parameters(model)
        progress(f"{arch}: {total:,} parameters ({trainable:,} trainable)")
        base = {"architecture": arch, "configuration": description, "parameters": total, "trainable": trainable}
        if arch in PUBLISHED:
            value, source = PUBLISHED[arch]
            # torchvision and Caffe count what is trained (no BatchNorm moving statistics)
            rows.append({**base, "check": "exact", "compared": "trainable", "ours": trainable,
                         "reference": value, "reference_source": source})
        if cfg.live_references and arch in LIVE:
            with shapes_only():
                ref_model = getattr(keras.applications, LIVE[arch])(weights=None)
                with_biases = build(conv_bias=True) if arch.startswith("resnet") else None
            if with_biases is not None:  # keras.applications' ResNets have convolution biases
                ours, how = with_biases.count_params(), "all weights, with conv biases"
            else:
                ours, how = total, "all weights"
            rows.append({**base, "check": "exact", "compared": how, "ours": ours,
                         "reference": ref_model.count_params(),
                         "reference_source": f"keras.applications.{LIVE[arch]}(weights=None), built in this run"})
        if arch in NOTES:
            rows.append({**base, "check": "approximate", "compared": "all weights", "ours": total,
                         "reference": NOTES[arch], "reference_source": "the notes (≈)"})
    df = pd.DataFrame(rows)
    df["difference"] = df["ours"] - df["reference"]
    df["relative_difference"] = df["difference"] / df["reference"]
    low, high = GOOGLENET_RANGE
    df["in_notes_range"] = np.where((df["architecture"] == "googlenet") & (df["check"] == "approximate"),
                                    df["ours"].between(low, high), None)
    return df.to_dict("records")


def plot_sizes(df: pd.DataFrame):
    sizes = df.drop_duplicates("architecture")
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    y = np.arange(len(sizes))
    ax.barh(y, sizes["parameters"] / 1e6, color="tab:blue", alpha=0.75, label="keras_repro (all weights)")
    notes = df[df["check"] == "approximate"]
    positions = {a: i for i, a in enumerate(sizes["architecture"])}
    ax.plot(notes["reference"] / 1e6, [positions[a] for a in notes["architecture"]], "k|", ms=16, mew=2,
            label="the notes' value")
    ax.set_yticks(y, sizes["architecture"])
    ax.invert_yaxis()  # oldest first
    ax.set_xscale("log")
    ax.set_xlabel("parameters (millions, log scale)")
    ax.set_title("Parameters at ImageNet settings")
    for i, p in enumerate(sizes["parameters"]):
        ax.text(p / 1e6 * 1.08, i, f"{p / 1e6:.3g}M", va="center", fontsize=8)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


@reproduction("architecture_sizes", title="Architecture sizes: LeNet-5, AlexNet, VGG, GoogLeNet, ResNet, ResNeXt",
              claims=CLAIMS, config=Config)
def run(ctx):
    cfg = ctx.config
    df = pd.DataFrame(size_rows(cfg, ctx.progress))
    ctx.table("sizes", df, keys=["architecture", "check", "compared"])
    ctx.figure("parameters", plot_sizes(df))
    exact, approx = df[df["check"] == "exact"], df[df["check"] == "approximate"]
    ctx.measure("C5.9", exact_checks=len(exact), exact_mismatches=int((exact["difference"] != 0).sum()),
                approximate_checks=len(approx),
                worst_approximate_deviation=float(approx["relative_difference"].abs().max()) if len(approx) else
                float("nan"),
                outside_notes_range=int((df["in_notes_range"] == False).sum()))  # noqa: E712  (None: not a range)
    if "lenet5" in cfg.architectures:
        ctx.note("C5.9", "LeNet-5 here connects every S2 map to every C3 map (2,416 parameters; the paper's "
                         "connection table has 1,516) and pools without trainable coefficients: 61,706 "
                         "parameters against the paper's 'about 60,000'.")
    if "googlenet" in cfg.architectures:
        ctx.note("C5.9", "GoogLeNet counts biases and no local response normalisation (it has no parameters); "
                         "its two auxiliary classifiers, used only in training, add 6.4M more.")
