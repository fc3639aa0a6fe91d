"""L2 regularisation smooths away local minima: ``L(a) = cos(a) + λa²``.

Claim C6.2. The notes' example: ``cos(a)`` has a minimum every 2π; adding the ridge (Tikhonov,
weight-decay) penalty ``λa²`` tilts the landscape up on both sides. The local minima of ``L`` on a
wide interval are counted for λ from 0 upward (critical points of ``L'(a) = -sin(a) + 2λa`` located
by sign changes on a fine grid and refined by Brent's method). Since ``L''(a) = 2λ − cos(a)``, the
function is strictly convex exactly when ``λ > 1/2``, leaving the single minimum ``a = 0``; for any
``λ < 1/2``, ``L''(0) < 0`` makes ``a = 0`` a maximum with a minimum on each side, so the bound is
tight. The grid of λ includes ``1/2 ± bound_probe`` to show that.

Weight decay in a network (shown with the verdict, not part of the rule): an MLP on a deliberately
small training set of digits, trained with and without an L2 kernel penalty, and the gap
(validation − training cross-entropy, both in inference mode) at the end of the same budget.

Command: ``repro run l2_smoothing``
"""
from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd

from keras_repro.data import digits_split
from keras_repro.measures.descent import is_non_increasing
from keras_repro.measures.gap import fit_tracking_gap
from keras_repro.measures.minima import cosine_ridge_minima
from keras_repro.models import mlp
from keras_repro.suite.claims import Claim, all_of, at_least, equals, is_true
from keras_repro.suite.config import ReproConfig, setting
from keras_repro.suite.registry import reproduction


@dataclass
class Config(ReproConfig):
    half_width: float = setting(100.0, "minima are counted on [-half_width, half_width]", gt=0)
    grid_step: float = setting(1e-3, "spacing of the grid on which sign changes of L' are found", gt=0)
    lambda_max: float = setting(1.0, "largest λ of the grid", gt=0)
    lambda_count: int = setting(101, "λ values from 0 to lambda_max (101: 0, 0.01, ..., 1.0, which contains 1/2)",
                                ge=2)
    bound_probe: float = setting(1e-3, "λ = 1/2 ± bound_probe are added to the grid", gt=0, lt=0.5)
    # weight decay in a network
    weight_decay: float = setting(1e-3, "Keras L2 coefficient in the network: loss += weight_decay · Σ w²", gt=0)
    per_class: int = setting(20, "training digits per class (a deliberately small set)", ge=1)
    n_val: int = setting(500, "validation digits (the rest are test digits)", ge=1)
    hidden: int = setting(128, "units per hidden layer", ge=1)
    epochs: int = setting(20, "training epochs", ge=1)
    repeats: int = setting(10, "passes over the training set per epoch", ge=1)
    seeds: int = setting(3, "seeds (the gap is their mean)", ge=1)
    PROFILES = {"smoke": {"half_width": 20.0, "lambda_count": 11, "epochs": 2, "repeats": 2, "seeds": 1},
                "full": {"half_width": 1000.0, "lambda_count": 1001, "epochs": 60, "seeds": 10}}
    DRY_RUN = {"lambda_count": 11, "epochs": 1, "seeds": 2}  # --dry-run: budgets only

    def validate(self):
        digits_split(self.per_class, self.n_val, seed=0)  # a split the 1797 digits cannot give fails here


CLAIMS = [
    Claim("C6.2", "L2 regularisation (ridge / Tikhonov / weight decay) smooths away local minima: the local "
                  "minima of L(a) = cos(a) + λa² fall in number as λ grows, and only one remains once λ > 1/2.",
          rule=all_of(is_true("counts_non_increasing"), equals("max_minima_above_half", 1),
                      equals("min_minima_above_half", 1), at_least("min_minima_below_half", 2)),
          note="min_minima_below_half >= 2 is stricter than the catalog: it checks that the bound 1/2 is tight. "
               "The weight-decay measurements (wd_*) are shown for context and are not part of the rule."),
]


def network(hidden: int, weight_decay: float) -> keras.Model:
    regularizer = keras.regularizers.L2(weight_decay) if weight_decay else None
    model = mlp(64, (hidden, hidden), 10, output_activation="softmax", kernel_regularizer=regularizer,
                name=f"mlp_wd{weight_decay:g}".replace(".", "p"))  # PyTorch refuses "." in layer names
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    return model


@reproduction("l2_smoothing", title="L2 regularisation smooths away local minima", claims=CLAIMS, config=Config)
def run(ctx):
    cfg = ctx.config
    # -- the notes' example: minima of cos(a) + λa² --------------------------------------------
    lambdas = np.union1d(np.linspace(0.0, cfg.lambda_max, cfg.lambda_count),
                         [0.5 - cfg.bound_probe, 0.5 + cfg.bound_probe])
    rows = []
    for lam in lambdas:
        minima = cosine_ridge_minima(lam, cfg.half_width, cfg.grid_step)
        rows.append({"lambda": float(lam), "local_minima": len(minima),
                     "outermost_minimum": float(np.abs(minima).max()) if len(minima) else np.nan,
                     "min_second_derivative": 2 * lam - 1.0})
    minima = pd.DataFrame(rows)
    ctx.table("minima_vs_lambda", minima, keys=["lambda"])
    above, below = minima[minima["lambda"] > 0.5], minima[minima["lambda"] < 0.5]
    ctx.measure("C6.2", counts_non_increasing=is_non_increasing(minima["local_minima"]),
                max_minima_above_half=int(above["local_minima"].max()),
                min_minima_above_half=int(above["local_minima"].min()),
                min_minima_below_half=int(below["local_minima"].min()),
                minima_at_lambda_0=int(minima["local_minima"].iloc[0]),
                minima_at_half=int(minima.loc[np.isclose(minima["lambda"], 0.5), "local_minima"].iloc[0]))
    ctx.progress(f"minima counted for {len(lambdas)} values of λ: {minima['local_minima'].iloc[0]} at λ=0, "
                 f"{int(below['local_minima'].iloc[-1])} at λ={below['lambda'].iloc[-1]:g}, "
                 f"{int(above['local_minima'].iloc[0])} at λ={above['lambda'].iloc[0]:g}")
    ctx.figure("minima_vs_lambda", _plot_minima(minima, cfg.half_width))

    # -- weight decay in a network (context) ---------------------------------------------------
    gap_rows, curves = [], []
    for seed in range(cfg.seeds):
        split = digits_split(cfg.per_class, cfg.n_val, ctx.seed_for(seed))
        for decay in (0.0, cfg.weight_decay):
            ctx.reseed(seed, 1)
            with ctx.scope():
                model = network(cfg.hidden, decay)
            history = fit_tracking_gap(ctx.fit, model, split, epochs=cfg.epochs, repeats=cfg.repeats, batch_size=32,
                                       seed=ctx.seed_for(seed, 2), label=f"seed {seed} weight decay {decay:g}")
            curves += [{"weight_decay": decay, "seed": seed, **row} for row in history]
            gap_rows.append({"weight_decay": decay, "seed": seed, **history[-1]})
    gaps = pd.DataFrame(gap_rows)
    ctx.table("weight_decay_gap", gaps, keys=["weight_decay", "seed"])
    mean = gaps.groupby("weight_decay")[["loss_gap", "val_loss", "val_acc"]].mean()
    ctx.measure("C6.2", wd_loss_gap_none=float(mean.loc[0.0, "loss_gap"]),
                wd_loss_gap_l2=float(mean.loc[cfg.weight_decay, "loss_gap"]),
                wd_val_acc_none=float(mean.loc[0.0, "val_acc"]), wd_val_acc_l2=float(mean.loc[cfg.weight_decay, "val_acc"]))
    ctx.figure("weight_decay_gap", _plot_gap_curves(pd.DataFrame(curves), 10 * cfg.per_class))


def _plot_minima(minima: pd.DataFrame, half_width: float):
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.step(minima["lambda"], minima["local_minima"], where="post", marker=".")
    left.axvline(0.5, color="k", ls="--", lw=1, label="λ = 1/2")
    left.set(xlabel="λ", ylabel=f"local minima on [-{half_width:g}, {half_width:g}]", yscale="log",
             title="local minima of cos(a) + λa²")
    left.legend()
    a = np.linspace(-15, 15, 2000)
    for lam in (0.0, 0.02, 0.1, 0.4, 0.6):
        right.plot(a, np.cos(a) + lam * a**2, label=f"λ = {lam:g}")
    right.set(xlabel="a", ylabel="L(a)", ylim=(-1.5, 12), title="L(a) = cos(a) + λa²")
    right.legend()
    return fig


def _plot_gap_curves(curves: pd.DataFrame, n_train: int):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for (decay, seed), part in curves.groupby(["weight_decay", "seed"]):
        ax.plot(part["epoch"], part["loss_gap"], color="C1" if decay else "C0", alpha=0.8,
                label=(f"L2 {decay:g}" if decay else "no penalty") if seed == 0 else None)
    ax.set(xlabel="epoch", ylabel="validation − training loss", title=f"weight decay on {n_train} training digits")
    ax.legend()
    return fig
