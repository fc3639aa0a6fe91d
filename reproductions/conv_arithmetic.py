"""Convolution arithmetic: padding, stride, channels, and pooling that acts on each channel alone.

Claim C5.1. The notes: padding adds zeros around the image, the stride is the step of the kernel,
a layer of n kernels outputs an n-channel image, pooling aggregates each channel independently.
The output side of a convolution (or pooling) is ``floor((n + 2p − k) / s) + 1``.

(a) Over a grid of input sides n, kernels k, paddings p and strides s, the formula is compared with
the output shape of real Keras layers (``ZeroPadding2D(p)`` + ``Conv2D`` / ``MaxPooling2D`` /
``AveragePooling2D`` with ``padding="valid"``). (b) Keras's ``padding="same"``: its (possibly
asymmetric) total padding put into the formula gives ``ceil(n/s)``, and for s = 1 and odd k it is
the formula with p = (k − 1)/2. (c) n kernels give n output channels. (d) Raising one input channel
before pooling changes exactly that output channel (a convolution, for contrast, changes them all).

Command: ``repro run conv_arithmetic``
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from keras_repro.measures.conv_arithmetic import (
    channels_changed,
    conv_output_size,
    measured_output_side,
    same_padding_output_size,
)
from keras_repro.suite.claims import Claim, all_of, at_least, equals, is_true
from keras_repro.suite.config import ReproConfig, setting
from keras_repro.suite.registry import reproduction


@dataclass
class Config(ReproConfig):
    sides: tuple[int, ...] = setting((5, 7, 8, 13, 28, 32), "input sides n of the grid", ge=1)
    kernels: tuple[int, ...] = setting((1, 2, 3, 5, 7, 11), "kernel sizes k", ge=1)
    paddings: tuple[int, ...] = setting((0, 1, 2, 3), "explicit zero paddings p", ge=0)
    strides: tuple[int, ...] = setting((1, 2, 3, 4), "strides s", ge=1)
    filters: tuple[int, ...] = setting((1, 3, 8, 16), "kernel counts whose output channels are counted", ge=1)
    pool_channels: int = setting(6, "channels of the image raised one at a time before pooling", ge=1)
    PROFILES = {"smoke": {"sides": (5, 8, 13), "kernels": (1, 3, 5), "paddings": (0, 1), "strides": (1, 2),
                          "filters": (1, 3)},
                "full": {"sides": tuple(range(3, 65)), "kernels": (1, 2, 3, 4, 5, 7, 9, 11),
                         "paddings": (0, 1, 2, 3, 4, 5), "strides": (1, 2, 3, 4, 5)}}
    DRY_RUN = {"sides": (3, 8, 64), "kernels": (1, 3), "paddings": (0, 1), "strides": (1, 2)}  # --dry-run: budgets only


CLAIMS = [
    Claim("C5.1", "Output side floor((n + 2p - k)/s) + 1; n kernels give an n-channel output; pooling acts on "
                  "each channel independently.",
          rule=all_of(at_least("grid_points", 100), equals("conv_mismatches", 0), equals("pool_mismatches", 0),
                      equals("same_padding_mismatches", 0), is_true("kernels_give_channels"),
                      is_true("pooling_per_channel"))),
]

CURVES = ((3, 1, 1), (3, 0, 1), (5, 2, 2), (2, 0, 2), (11, 2, 4))  # (k, p, s) drawn against n


def explicit_padding_grid(cfg) -> pd.DataFrame:
    """One row per (n, k, p, s) with k ≤ n + 2p: the formula and what Conv2D / max / avg pooling give."""
    rows = []
    for n, k, p, s in itertools.product(cfg.sides, cfg.kernels, cfg.paddings, cfg.strides):
        if k > n + 2 * p:
            continue
        rows.append({"n": n, "k": k, "p": p, "s": s, "formula": conv_output_size(n, k, p, s),
                     "conv2d": measured_output_side(n, k, p, s, layer="conv")[0],
                     "max_pool": measured_output_side(n, k, p, s, layer="max")[0],
                     "avg_pool": measured_output_side(n, k, p, s, layer="avg")[0]})
    return pd.DataFrame(rows)


def same_padding_grid(cfg) -> pd.DataFrame:
    """Keras ``padding="same"`` against the formula with its total padding, ``ceil(n/s)``, and p = (k−1)/2."""
    rows = []
    for n, k, s in itertools.product(cfg.sides, cfg.kernels, cfg.strides):
        symmetric = conv_output_size(n, k, (k - 1) // 2, 1) if s == 1 and k % 2 == 1 else None
        rows.append({"n": n, "k": k, "s": s, "formula_with_same_padding": same_padding_output_size(n, k, s),
                     "ceil_n_over_s": -(-n // s), "formula_p_half_k": symmetric,
                     "conv2d_same": measured_output_side(n, k, s=s, layer="conv", padding="same")[0]})
    return pd.DataFrame(rows)


def same_padding_mismatches(df: pd.DataFrame) -> int:
    """Rows where Keras's 'same' output differs from the formula, from ceil(n/s) or (s=1, odd k) from p=(k−1)/2."""
    bad = (df["conv2d_same"] != df["formula_with_same_padding"]) | (df["conv2d_same"] != df["ceil_n_over_s"])
    symmetric = df["formula_p_half_k"].notna()
    bad |= symmetric & (df["conv2d_same"] != df["formula_p_half_k"])
    return int(bad.sum())


def pooling_isolation(channels: int, seed: int) -> pd.DataFrame:
    """For each layer kind and input channel c: which output channels change when channel c is raised."""
    x = np.random.default_rng(seed).normal(size=(2, 8, 8, channels)).astype("float32")
    layers = {"max_pool": keras.layers.MaxPooling2D(2), "avg_pool": keras.layers.AveragePooling2D(2),
              "conv2d_3x3": keras.layers.Conv2D(channels, 3, padding="same")}
    rows = []
    for kind, layer in layers.items():
        for c in range(channels):
            changed = channels_changed(layer, x, c)
            rows.append({"layer": kind, "input_channel": c, "output_channels_changed": " ".join(map(str, changed)),
                         "only_its_own_channel": changed == [c]})
    return pd.DataFrame(rows)


def plot_curves(cfg):
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ns = np.arange(1, max(cfg.sides) + 1)
    for k, p, s in CURVES:
        valid = ns[ns + 2 * p >= k]
        line, = ax.step(valid, [conv_output_size(n, k, p, s) for n in valid], where="mid", lw=1.2,
                        label=f"k={k}, p={p}, s={s}")
        ax.plot(valid, [measured_output_side(n, k, p, s)[0] for n in valid], "o", ms=3.5, mfc="none",
                color=line.get_color())
    ax.set(xlabel="input side n", ylabel="output side",
           title="floor((n + 2p - k)/s) + 1 (steps) vs Keras Conv2D output (circles)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


@reproduction("conv_arithmetic", title="Convolution arithmetic: padding, stride, channels, per-channel pooling",
              claims=CLAIMS, config=Config)
def run(ctx):
    cfg = ctx.config

    # (a) explicit padding: formula vs Keras layers
    grid = explicit_padding_grid(cfg)
    ctx.table("output_sizes", grid, keys=["n", "k", "p", "s"])
    conv_bad = int((grid["conv2d"] != grid["formula"]).sum())
    pool_bad = int(((grid["max_pool"] != grid["formula"]) | (grid["avg_pool"] != grid["formula"])).sum())
    ctx.progress(f"{len(grid)} (n, k, p, s) points: {conv_bad} conv and {pool_bad} pooling mismatches")

    # (b) Keras "same" padding
    same = same_padding_grid(cfg)
    ctx.table("same_padding", same, keys=["n", "k", "s"])

    # (c) n kernels -> n channels
    channel_rows = [{"input_channels": c_in, "kernels": f,
                     "output_channels": measured_output_side(9, 3, 1, 1, channels=c_in, filters=f)[1]}
                    for c_in in (1, 3) for f in cfg.filters]
    channels = pd.DataFrame(channel_rows)
    ctx.table("channels", channels, keys=["input_channels", "kernels"])

    # (d) pooling acts on each channel alone; a convolution mixes them
    isolation = pooling_isolation(cfg.pool_channels, ctx.seed_for(1))
    ctx.table("channel_isolation", isolation, keys=["layer", "input_channel"])
    pooled = isolation[isolation["layer"] != "conv2d_3x3"]
    conv_rows = isolation[isolation["layer"] == "conv2d_3x3"]
    conv_mixes = bool((conv_rows["output_channels_changed"].str.split().str.len() == cfg.pool_channels).all())

    ctx.figure("output_size_vs_n", plot_curves(cfg))
    ctx.measure("C5.1", grid_points=len(grid), conv_mismatches=conv_bad, pool_mismatches=pool_bad,
                same_padding_mismatches=same_padding_mismatches(same),
                kernels_give_channels=bool((channels["output_channels"] == channels["kernels"]).all()),
                pooling_per_channel=bool(pooled["only_its_own_channel"].all()), conv_mixes_channels=conv_mixes)
    ctx.note("C5.1", "Keras's padding='same' pads (k - 1)/2 on each side only for stride 1 and odd k; otherwise "
                     "it pads max((ceil(n/s) - 1)s + k - n, 0) in total, the extra pixel at the bottom/right, "
                     "so the output side is ceil(n/s).")
