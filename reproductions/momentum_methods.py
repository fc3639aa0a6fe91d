"""Momentum, Nesterov and EMA as the notes write them, against gradient descent.

Claims C4.3, C4.4, C4.5. The three methods of the notes (sections 4.3–4.5, ``keras_repro.optimizers``
``Momentum``, ``Nesterov``, ``EMA``) and Keras's ``SGD`` (plain, ``momentum=b``, ``nesterov=True``)
minimise an ill-conditioned quadratic ``½(x² + 100·y²)`` (flat axis x, steep axis y, condition
number 100) and the Rosenbrock valley, each stepping a real Keras variable, and a small network
(64-32-10 MLP, full batch) on scikit-learn's digits.

Fair tuning: every method gets the same number of runs. The momentum-type methods search
``learning_rate × b`` (``momentum_lr_count`` rates log-spaced over ``[lr_low, lr_high]`` times the
``momenta``); gradient descent searches as many learning rates over the same range. Each method is
judged at its best setting: the fewest steps until the loss's excess over the minimum stays below
``tolerance`` of its initial value. The network runs search ``network_lrs`` (same list for all; b = 0.9).

What the notes' formulas turn out to be (derived in ``keras_repro/optimizers/momentum.py``, shown
numerically in the table ``equivalences``):

- Momentum (4.3) applies each gradient one step late: ``w⁺ = w + b(w − w⁻) − a∇f(w⁻)``. It is stable
  only for ``aλ < 1 − b`` (heavy ball: ``aλ < 2(1 + b)``) and, on a quadratic, converges no faster
  than gradient descent at its best step, whatever ``a, b``: the erratum of C4.3.
- Nesterov (4.4): the look-ahead point ``w_t + a·v_t`` is the next iterate itself, so the method is
  Polyak's heavy ball, exactly ``keras.optimizers.SGD(learning_rate=a, momentum=b)`` — what Keras
  and most texts call plain momentum. Keras's ``SGD(nesterov=True)`` is yet another method.
- EMA (4.5) is ``keras.optimizers.SGD(learning_rate=a·(1 − b), momentum=b)``.

Command: ``repro run momentum_methods``
"""
from __future__ import annotations

from dataclasses import dataclass

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from keras_repro.data import load_arrays
from keras_repro.measures import descent, surfaces
from keras_repro.models import mlp
from keras_repro.optimizers import EMA, Momentum, Nesterov
from keras_repro.suite.claims import Claim, all_of, at_least, at_most, greater_than
from keras_repro.suite.config import ConfigError, ReproConfig, setting
from keras_repro.suite.registry import reproduction


@dataclass
class Config(ReproConfig):
    curvatures: tuple[float, ...] = setting((1.0, 100.0), "diagonal of the quadratic's Hessian (flat, steep)", gt=0)
    start: tuple[float, ...] = setting((-1.0, 1.0), "starting point on the quadratic (one value per curvature)")
    tolerance: float = setting(1e-6, "converged once the excess loss stays below this share of its initial value",
                               gt=0, lt=1)
    max_steps: int = setting(3000, "step budget of every quadratic run", ge=1)
    lr_low: float = setting(1e-5, "smallest learning rate of the log-spaced grid", gt=0)
    lr_high: float = setting(1.0, "largest learning rate of the grid", gt=0)
    momentum_lr_count: int = setting(21, "learning rates per momentum b (gradient descent gets as many runs)", ge=1)
    momenta: tuple[float, ...] = setting((0.5, 0.7, 0.9, 0.99), "momentum coefficients b searched", ge=0, lt=1)
    rosenbrock_start: tuple[float, ...] = setting((-1.5, 2.0), "starting point (x, y) in the Rosenbrock valley")
    rosenbrock_steps: int = setting(20000, "step budget of every Rosenbrock run", ge=1)
    network_hidden: int = setting(32, "hidden units of the digits MLP (64-hidden-10)", ge=1)
    network_lrs: tuple[float, ...] = setting((0.01, 0.0316, 0.1, 0.316, 1.0, 3.16, 10.0),
                                             "learning rates every method searches on the network", gt=0)
    network_momentum: float = setting(0.9, "momentum b of the network runs", ge=0, lt=1)
    network_steps: int = setting(400, "full-batch steps of each network run", ge=1)
    network_target: float = setting(0.1, "training loss whose first hit is counted on the network", gt=0)
    PROFILES = {
        "smoke": {"max_steps": 300, "momentum_lr_count": 5, "momenta": (0.5, 0.9), "rosenbrock_steps": 300,
                  "network_lrs": (0.1, 1.0), "network_steps": 20},
        "full": {"momentum_lr_count": 41, "momenta": (0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99), "max_steps": 10000,
                 "rosenbrock_steps": 50000, "network_steps": 2000,
                 "network_lrs": (0.01, 0.0178, 0.0316, 0.0562, 0.1, 0.178, 0.316, 0.562, 1.0, 1.78, 3.16, 5.62, 10.0)},
    }
    DRY_RUN = {"momentum_lr_count": 3, "momenta": (0.5, 0.9), "max_steps": 50, "rosenbrock_steps": 50,
               "network_steps": 20, "network_lrs": (0.1, 1.0)}  # --dry-run: budgets only

    def validate(self):
        if self.lr_low > self.lr_high:
            raise ConfigError(f"lr_low must be at most lr_high. Received: lr_low={self.lr_low:g}, "
                              f"lr_high={self.lr_high:g}")
        if len(self.start) != len(self.curvatures):
            raise ConfigError(f"start needs one coordinate per curvature. Received: start={self.start}, "
                              f"curvatures={self.curvatures}")
        if len(self.rosenbrock_start) != 2:
            raise ConfigError(f"rosenbrock_start is a point (x, y). Received: {self.rosenbrock_start}")


CLAIMS = [
    Claim("C4.3", "Momentum, w_{t+1} = w_t + a·v_t, v_{t+1} = b·v_t − ∇f(w_t), accumulates speed along the long "
                  "axis and converges faster than gradient descent.",
          rule=at_least("quadratic_speedup_notes_momentum", 3.0), erratum=True,
          note="Erratum: as written the step uses the previous velocity, so each gradient acts one step late "
               "(w⁺ = w + b(w − w⁻) − a∇f(w⁻)); stable only for a·λ_max < 1 − b instead of 2(1 + b), and no faster "
               "than GD on a quadratic for any a, b. The textbook order (Keras SGD(momentum=b), which is the notes' "
               "own Nesterov formula) is measured alongside as quadratic_speedup_keras_momentum."),
    Claim("C4.4", "Nesterov takes the gradient at the look-ahead point w_t + a·v_t and so does not 'crash into the "
                  "wall': less overshoot than momentum with the same a, b, and no more steps.",
          rule=all_of(greater_than("overshoot_reduction", 0.0), at_most("extra_steps", 0)),
          note="The notes' look-ahead point w_t + a·v_t is the next iterate, so their Nesterov is the heavy ball "
               "(= keras SGD(momentum=b)); it is compared with the notes' Momentum at that method's best (a, b)."),
    Claim("C4.5", "EMA of gradients, w_{t+1} = w_t − a·EMA[∇f], damps the oscillation like momentum: fewer "
                  "steep-axis sign flips and fewer steps than gradient descent.",
          rule=all_of(greater_than("flip_reduction", 0.0), greater_than("step_ratio_gd_over_ema", 1.0)),
          note="EMA(a, b) is exactly keras SGD(learning_rate=a·(1 − b), momentum=b): heavy-ball momentum."),
]

GD = "GD"
MOMENTUM = "Momentum (notes 4.3)"
NESTEROV = "Nesterov (notes 4.4)"
EMA_NOTES = "EMA (notes 4.5)"
KERAS_HEAVY_BALL = "keras SGD(momentum=b)"
KERAS_NESTEROV = "keras SGD(momentum=b, nesterov=True)"
METHODS = {
    GD: lambda lr, b: keras.optimizers.SGD(learning_rate=lr),
    MOMENTUM: lambda lr, b: Momentum(learning_rate=lr, momentum=b),
    NESTEROV: lambda lr, b: Nesterov(learning_rate=lr, momentum=b),
    EMA_NOTES: lambda lr, b: EMA(learning_rate=lr, beta=b),
    KERAS_HEAVY_BALL: lambda lr, b: keras.optimizers.SGD(learning_rate=lr, momentum=b),
    KERAS_NESTEROV: lambda lr, b: keras.optimizers.SGD(learning_rate=lr, momentum=b, nesterov=True),
}
# The b at which the stable learning rates enter C4.3's measurements: the notes' example value (and
# Keras's usual default); the largest grid b below it when a config leaves 0.9 out.
STABILITY_MOMENTUM = 0.9
# equivalences(): float32 runs of 200 steps of two identical methods agree to about 1e-6 of the
# path's scale; two different methods part by more than 1e-3 within those steps.
IDENTICAL_BELOW, DIFFERENT_ABOVE = 1e-5, 1e-3


def grids(cfg) -> dict[str, list[tuple[float, float | None]]]:
    """Each method's (learning rate, b) settings: the same number of runs for every method."""
    rates = descent.log_grid(cfg.lr_low, cfg.lr_high, cfg.momentum_lr_count)
    gd_rates = descent.log_grid(cfg.lr_low, cfg.lr_high, cfg.momentum_lr_count * len(cfg.momenta))
    return {name: [(lr, None) for lr in gd_rates] if name == GD else [(lr, b) for b in cfg.momenta for lr in rates]
            for name in METHODS}


def search(surface, settings, start, steps):
    """Run every (method, b) group of settings as one :func:`descent.sweep`; yield rows and paths."""
    for method, grid in settings.items():
        for b in dict.fromkeys(b for _, b in grid):
            rates = [lr for lr, bb in grid if bb == b]
            paths = descent.sweep(surface, lambda learning_rate, m=method, bb=b: METHODS[m](learning_rate, bb),
                                  rates, start, steps)
            for i, lr in enumerate(rates):
                yield method, lr, b, paths[:, i, :]


def describe_path(surface, path, tolerance, steep_axis=1) -> dict:
    """Steps to tolerance, overshoot and steep-axis zigzag of one trajectory."""
    excess = descent.relative_excess(surfaces.evaluate(surface, path), surface.offset)
    steps = descent.steps_to_tolerance(excess, tolerance)
    window = path[: (steps if steps else len(path) - 1) + 1, steep_axis]
    finite = np.all(np.isfinite(path))
    return {"steps_to_tolerance": steps, "final_excess": float(excess[-1]) if finite else float("inf"),
            "diverged": bool(not finite or excess[-1] > 1.0),
            "steep_overshoot": descent.overshoot(path[:, steep_axis], surface.minimum[steep_axis]) if finite
            else np.inf,
            "steep_flip_fraction": descent.sign_flip_fraction(window) if finite else np.nan}


def best_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Per method, the setting with the fewest steps to tolerance (ties: smaller final excess)."""
    return descent.best_per(table, "method", ["steps_to_tolerance", "final_excess"])


@dataclass
class GridSearch:
    """Every method over its grid on one surface: one row per run, the best row per method, the paths."""

    table: pd.DataFrame
    best: pd.DataFrame
    paths: dict

    def best_path(self, method: str) -> np.ndarray:
        row = self.best.loc[method]
        return self.paths[method, row.learning_rate, None if pd.isna(row.momentum) else row.momentum]


def grid_search(surface, settings, start, steps, tolerance, steep_axis: bool = True) -> GridSearch:
    """:func:`search` summarised by :func:`describe_path` (without the steep-axis measures on a curved valley)."""
    rows, paths = [], {}
    for method, lr, b, path in search(surface, settings, start, steps):
        summary = describe_path(surface, path, tolerance)
        if not steep_axis:
            summary = {k: v for k, v in summary.items() if not k.startswith("steep_")}
        rows.append({"method": method, "momentum": b, "learning_rate": lr, **summary})
        paths[method, lr, b] = path
    table = pd.DataFrame(rows)
    return GridSearch(table, best_rows(table), paths)


def speedup(reference_steps, steps) -> float:
    """How many times fewer steps ``steps`` needs than ``reference_steps`` (0 when it never gets there)."""
    if steps is None or not np.isfinite(steps):
        return 0.0
    return float(reference_steps) / max(float(steps), 1.0)


def stable_rates(grid: pd.DataFrame, momenta, largest_curvature: float) -> pd.DataFrame:
    """Per b, the largest grid rate whose run did not diverge, for the notes' Momentum and the heavy
    ball, against the theory: ``a < (1 − b)/λ_max`` and ``a < 2(1 + b)/λ_max``."""
    rows = []
    for method in (MOMENTUM, KERAS_HEAVY_BALL):
        for b in momenta:
            sub = grid[(grid.method == method) & (grid.momentum == b)]
            stable = sub[~sub.diverged].learning_rate
            bound = (1 - b) if method == MOMENTUM else 2 * (1 + b)
            rows.append({"method": method, "momentum": b,
                         "largest_stable_rate_on_grid": float(stable.max()) if len(stable) else np.nan,
                         "smallest_divergent_rate_on_grid": float(sub[sub.diverged].learning_rate.min())
                         if sub.diverged.any() else np.nan,
                         "theory_bound_rate": bound / largest_curvature})
    return pd.DataFrame(rows)


def heavy_ball(hessian, start, a, b, steps, stale: bool) -> np.ndarray:
    """``w⁺ = w + b(w − w⁻) − a·H·w_g`` in NumPy with ``w_g = w⁻`` (stale) or ``w`` (fresh).

    ``w_1`` comes from ``v_0 = 0``: the stale form does not move (``w_1 = w_0``), the fresh one takes a
    plain gradient step.
    """
    previous = start.copy()
    current = start.copy() if stale else start - a * hessian @ start
    path = [start.copy(), current.copy()]
    while len(path) < steps + 1:
        point = previous if stale else current
        previous, current = current, current + b * (current - previous) - a * hessian @ point
        path.append(current.copy())
    return np.array(path)


def equivalences(surface, start, a=5e-4, b=0.9, steps=200) -> pd.DataFrame:
    """The relations derived in the optimisers' docstrings, measured on the quadratic (float32 runs).

    ``a·λ_max = 0.05 < 1 − b``: every method is stable here, so the gaps compare converging paths.
    """
    run = {name: descent.descend(surface, METHODS[name](a, b), start, steps)
           for name in (MOMENTUM, NESTEROV, KERAS_HEAVY_BALL, KERAS_NESTEROV)}
    run["EMA"] = descent.descend(surface, EMA(learning_rate=a, beta=b), start, steps)
    run["keras SGD(lr=a(1-b), momentum=b)"] = descent.descend(surface, keras.optimizers.SGD(a * (1 - b), momentum=b),
                                                              start, steps)
    stale = heavy_ball(surface.hessian, np.asarray(start, float), a, b, steps, stale=True)

    def gap(p, q):
        p, q = np.asarray(p, float), np.asarray(q, float)
        return float(np.abs(p - q).max() / max(np.abs(p).max(), np.abs(q).max()))

    rows = [
        (NESTEROV, "keras SGD(momentum=b) [heavy ball]", gap(run[NESTEROV], run[KERAS_HEAVY_BALL]), "identical"),
        (EMA_NOTES, "keras SGD(lr=a·(1−b), momentum=b)", gap(run["EMA"], run["keras SGD(lr=a(1-b), momentum=b)"]),
         "identical"),
        (MOMENTUM, "heavy ball with a one-step-old gradient (NumPy)", gap(run[MOMENTUM], stale), "identical"),
        (MOMENTUM, "keras SGD(momentum=b) [heavy ball]", gap(run[MOMENTUM], run[KERAS_HEAVY_BALL]), "different"),
        (NESTEROV, "keras SGD(momentum=b, nesterov=True)", gap(run[NESTEROV], run[KERAS_NESTEROV]), "different"),
    ]
    return pd.DataFrame([{"notes_method": m, "compared_with": other, "max_relative_gap": g, "expected": e,
                          "as_expected": bool(g < IDENTICAL_BELOW) if e == "identical" else bool(g > DIFFERENT_ABOVE),
                          "learning_rate": a, "b": b, "steps": steps} for m, other, g, e in rows])


# --- the network ------------------------------------------------------------------------------------
def network_losses(ctx, x, y, optimizer, initial_weights, steps, target) -> list[float]:
    """Full-batch training of the MLP from fixed initial weights; the loss before every step.

    Stops at the first step whose loss is <= ``target`` (or non-finite).
    """
    with ctx.scope():
        model = mlp(x.shape[1], (ctx.config.network_hidden,), 10, activation="tanh", name="digits_mlp")
        model.set_weights(initial_weights)
        model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    record = descent.LossPerStep(stop_below=target)
    ctx.fit(model, descent.batches(x, y, len(x), seed=0), steps_per_epoch=1, epochs=steps, shuffle=False,
            callbacks=[record], progress=False)
    return record.losses


def network_runs(ctx) -> tuple[pd.DataFrame, dict]:
    """GD, the notes' Momentum and the heavy ball on the digits MLP, full batch, from the same initial
    weights, at every rate of ``network_lrs``: one row per run, and each run's loss curve."""
    cfg = ctx.config
    x, y, _, _ = load_arrays("digits", seed=ctx.seed).features()
    with ctx.scope():
        initial = mlp(x.shape[1], (cfg.network_hidden,), 10, activation="tanh", name="digits_mlp").get_weights()
    rows, curves = [], {}
    for method in (GD, MOMENTUM, KERAS_HEAVY_BALL):
        for lr in cfg.network_lrs:
            b = None if method == GD else cfg.network_momentum
            losses = network_losses(ctx, x, y, METHODS[method](lr, b), initial, cfg.network_steps, cfg.network_target)
            reached = next((t for t, v in enumerate(losses) if v <= cfg.network_target), None)
            rows.append({"method": method, "momentum": b, "learning_rate": lr, "steps_to_target": reached,
                         "final_loss": losses[-1], "steps_run": len(losses)})
            curves[method, lr] = losses
        ctx.progress(f"network, {method}: done")
    return pd.DataFrame(rows), curves


# --- the claims' measurements ---------------------------------------------------------------------------
def measure_momentum(ctx, quad: GridSearch, gd_steps, stability, net_best, rosen: GridSearch, condition_number):
    """C4.3: the notes' Momentum and the heavy ball against GD, each at its best setting."""
    best, cfg = quad.best, ctx.config
    notes_steps = best.loc[MOMENTUM, "steps_to_tolerance"]
    keras_steps = best.loc[KERAS_HEAVY_BALL, "steps_to_tolerance"]
    b_stab = STABILITY_MOMENTUM if STABILITY_MOMENTUM in cfg.momenta else cfg.momenta[-1]
    stab_row = stability.set_index(["method", "momentum"])
    ctx.measure("C4.3",
                quadratic_speedup_notes_momentum=speedup(gd_steps, notes_steps),
                quadratic_speedup_keras_momentum=speedup(gd_steps, keras_steps),
                quadratic_steps_gd=int(gd_steps), quadratic_steps_notes_momentum=notes_steps,
                quadratic_steps_keras_momentum=keras_steps,
                best_notes_momentum=f"a={best.loc[MOMENTUM, 'learning_rate']:g}, b={best.loc[MOMENTUM, 'momentum']}",
                best_gd_learning_rate=float(best.loc[GD, "learning_rate"]),
                condition_number=condition_number,
                stability_momentum=b_stab,
                largest_stable_rate_notes=stab_row.loc[(MOMENTUM, b_stab), "largest_stable_rate_on_grid"],
                largest_stable_rate_keras=stab_row.loc[(KERAS_HEAVY_BALL, b_stab), "largest_stable_rate_on_grid"],
                network_steps_gd=net_best.loc[GD, "steps_to_target"],
                network_steps_notes_momentum=net_best.loc[MOMENTUM, "steps_to_target"],
                network_steps_keras_momentum=net_best.loc[KERAS_HEAVY_BALL, "steps_to_target"],
                rosenbrock_steps_gd=rosen.best.loc[GD, "steps_to_tolerance"],
                rosenbrock_steps_notes_momentum=rosen.best.loc[MOMENTUM, "steps_to_tolerance"],
                rosenbrock_steps_keras_momentum=rosen.best.loc[KERAS_HEAVY_BALL, "steps_to_tolerance"])


def measure_nesterov(ctx, quad: GridSearch) -> tuple[tuple[float, float], tuple[float, float]]:
    """C4.4: the notes' Nesterov at the notes' Momentum's best (a, b); the textbook pair (Keras's
    Nesterov and heavy ball at Keras Nesterov's best) alongside. Returns both (a, b) settings."""
    grid, best = quad.table, quad.best
    a_m, b_m = best.loc[MOMENTUM, "learning_rate"], best.loc[MOMENTUM, "momentum"]
    both = grid[(grid.learning_rate == a_m) & (grid.momentum == b_m)].set_index("method")
    mom, nes = both.loc[MOMENTUM], both.loc[NESTEROV]
    steps_m = mom.steps_to_tolerance if pd.notna(mom.steps_to_tolerance) else np.inf
    steps_n = nes.steps_to_tolerance if pd.notna(nes.steps_to_tolerance) else np.inf
    paired = grid[grid.method.isin([MOMENTUM, NESTEROV]) & ~grid.diverged].pivot_table(
        index=["learning_rate", "momentum"], columns="method", values="steep_overshoot").dropna()
    # Textbook pair (reported): Keras's Nesterov vs heavy ball at Keras Nesterov's best (a, b), where both are stable.
    a_t, b_t = best.loc[KERAS_NESTEROV, "learning_rate"], best.loc[KERAS_NESTEROV, "momentum"]
    textbook = grid[(grid.learning_rate == a_t) & (grid.momentum == b_t)].set_index("method")
    hb, nag = textbook.loc[KERAS_HEAVY_BALL], textbook.loc[KERAS_NESTEROV]
    ctx.measure("C4.4", overshoot_momentum=mom.steep_overshoot, overshoot_nesterov=nes.steep_overshoot,
                overshoot_reduction=mom.steep_overshoot - nes.steep_overshoot,
                steps_momentum=mom.steps_to_tolerance, steps_nesterov=nes.steps_to_tolerance,
                extra_steps=float(steps_n - steps_m) if np.isfinite(steps_m) or np.isfinite(steps_n) else 0.0,
                learning_rate=a_m, momentum=b_m,
                grid_fraction_less_overshoot=float((paired[NESTEROV] < paired[MOMENTUM]).mean()) if len(paired)
                else np.nan,
                grid_pairs_both_stable=len(paired),
                textbook_setting=f"a={a_t:g}, b={b_t:g}",
                textbook_overshoot_heavy_ball=hb.steep_overshoot, textbook_overshoot_keras_nesterov=nag.steep_overshoot,
                textbook_steps_heavy_ball=hb.steps_to_tolerance, textbook_steps_keras_nesterov=nag.steps_to_tolerance)
    ctx.note("C4.4", f"At a={a_m:g}, b={b_m:g} the notes' Nesterov (heavy ball) needs {steps_n:g} steps and "
                     f"the notes' Momentum {steps_m:g}. Along the flat axis (curvature μ) both contract by "
                     "about aμ/(1 − b) per step, the one-step-late form faster by a second-order (aμ)²/(1 − b)² (the "
                     "late gradient acts like a slightly larger step); at a rate small enough for the late form's "
                     "steep axis the two need nearly the same number of steps, and the heavy ball's gain is the "
                     "damped steep axis.")
    return (a_m, b_m), (a_t, b_t)


def measure_ema(ctx, quad: GridSearch, gd_steps, equal: pd.DataFrame) -> None:
    """C4.5: EMA against GD, each at its best setting."""
    ema, gd = quad.best.loc[EMA_NOTES], quad.best.loc[GD]
    ema_steps = ema.steps_to_tolerance if pd.notna(ema.steps_to_tolerance) else np.inf
    ctx.measure("C4.5", flips_gd=gd.steep_flip_fraction, flips_ema=ema.steep_flip_fraction,
                flip_reduction=gd.steep_flip_fraction - ema.steep_flip_fraction,
                overshoot_gd=gd.steep_overshoot, overshoot_ema=ema.steep_overshoot,
                steps_gd=int(gd_steps), steps_ema=ema.steps_to_tolerance,
                step_ratio_gd_over_ema=float(gd_steps / ema_steps) if ema_steps > 0 else np.inf,
                best_ema=f"a={ema.learning_rate:g}, b={ema.momentum}",
                ema_equals_keras_sgd_gap=float(equal.loc[equal.notes_method == EMA_NOTES,
                                                         "max_relative_gap"].iloc[0]))


@reproduction("momentum_methods", title="Momentum, Nesterov and EMA as the notes write them, vs gradient descent",
              claims=CLAIMS, config=Config, single_device=True)
def run(ctx):
    cfg = ctx.config
    quadratic, rosenbrock = surfaces.Quadratic(cfg.curvatures), surfaces.Rosenbrock()
    settings = grids(cfg)
    ctx.progress(f"quadratic: condition number {quadratic.condition_number:g}; {len(settings[GD])} runs per method")

    quad = grid_search(quadratic, settings, cfg.start, cfg.max_steps, cfg.tolerance)
    ctx.table("quadratic_grid", quad.table, keys=["method", "momentum", "learning_rate"])
    ctx.table("quadratic_best", quad.best.reset_index(), keys=["method"])
    for method, row in quad.best.iterrows():
        ctx.progress(f"quadratic, {method}: {row.steps_to_tolerance} steps at a={row.learning_rate:g}, "
                     f"b={row.momentum}")
    gd_steps = quad.best.loc[GD, "steps_to_tolerance"]
    if pd.isna(gd_steps):  # GD never reached the tolerance: its step count is at least max_steps
        gd_steps = cfg.max_steps
        ctx.note("C4.3", f"GD did not reach the tolerance within {cfg.max_steps} steps; speedups are lower bounds.")
    stability = stable_rates(quad.table, cfg.momenta, quadratic.curvatures.max())
    ctx.table("stability", stability, keys=["method", "momentum"])
    equal = equivalences(quadratic, np.asarray(cfg.start, "float32"))
    ctx.table("equivalences", equal, keys=["notes_method", "compared_with"])

    rosen = grid_search(rosenbrock, settings, cfg.rosenbrock_start, cfg.rosenbrock_steps, cfg.tolerance,
                        steep_axis=False)  # no steep axis on a curved valley
    ctx.table("rosenbrock_best", rosen.best.reset_index(), keys=["method"])
    ctx.progress("Rosenbrock: " + ", ".join(f"{m}: {r.steps_to_tolerance}" for m, r in rosen.best.iterrows()))

    net, curves = network_runs(ctx)
    ctx.table("network_grid", net, keys=["method", "learning_rate"])
    net_best = descent.best_per(net, "method", ["steps_to_target", "final_loss"])

    measure_momentum(ctx, quad, gd_steps, stability, net_best, rosen, quadratic.condition_number)
    same, textbook = measure_nesterov(ctx, quad)
    measure_ema(ctx, quad, gd_steps, equal)

    ctx.figure("C4.3_momentum", plot_momentum(cfg, quadratic, rosenbrock, quad, rosen, stability, net_best, curves))
    ctx.figure("C4.4_nesterov", plot_nesterov(quadratic, rosenbrock, quad, rosen, same, textbook))
    ctx.figure("C4.5_ema", plot_ema(cfg, quadratic, quad))


# --- figures ------------------------------------------------------------------------------------------
QUADRATIC_VIEW = dict(xlim=(-1.3, 0.4), ylim=(-2.3, 2.3))
ROSENBROCK_VIEW = dict(xlim=(-2.0, 2.0), ylim=(-1.0, 3.0))


def plot_excess(ax, surface, series, tolerance, title):
    """The fraction of the initial excess loss left, per step, for each path of ``series``."""
    for label, path in series.items():
        excess = descent.relative_excess(surfaces.evaluate(surface, path), surface.offset)
        ax.semilogy(np.where(np.isfinite(excess), excess, np.nan), lw=1, label=label)
    ax.axhline(tolerance, color="k", ls=":", lw=0.8)
    ax.set_ylim(tolerance * 1e-4, 10)
    ax.set_xlabel("step")
    ax.set_ylabel("(f − f*) / (f₀ − f*)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)


def setting_label(method, table):
    row = table.loc[method]
    b = "" if pd.isna(row.momentum) else f", b={row.momentum:g}"
    return f"{method}: a={row.learning_rate:g}{b}"


def plot_momentum(cfg, quadratic, rosenbrock, quad: GridSearch, rosen: GridSearch, stability, net_best, curves):
    fig, axes = plt.subplots(2, 3, figsize=(16, 9.5))
    trio = (GD, MOMENTUM, KERAS_HEAVY_BALL)
    best_quadratic = {setting_label(m, quad.best): quad.best_path(m) for m in trio}
    surfaces.plot_trajectories(axes[0, 0], quadratic, best_quadratic, **QUADRATIC_VIEW,
                               title="C4.3 quadratic (κ=100), each at its best setting")
    plot_excess(axes[0, 1], quadratic, best_quadratic, cfg.tolerance, "quadratic: loss vs step")
    ax = axes[0, 2]
    for method, marker in ((MOMENTUM, "o"), (KERAS_HEAVY_BALL, "s")):
        sub = stability[stability.method == method]
        ax.semilogy(sub.momentum, sub.largest_stable_rate_on_grid, marker, label=f"{method}: largest stable a on grid")
        ax.semilogy(sub.momentum, sub.theory_bound_rate, "-", lw=0.8,
                    label=("theory (1 − b)/λmax" if method == MOMENTUM else "theory 2(1 + b)/λmax"))
    ax.set_xlabel("b")
    ax.set_ylabel("learning rate a")
    ax.set_title("stable learning rates: the notes' Momentum vs heavy ball", fontsize=9)
    ax.legend(fontsize=7)
    best_rosenbrock = {setting_label(m, rosen.best): rosen.best_path(m) for m in trio}
    surfaces.plot_trajectories(axes[1, 0], rosenbrock, best_rosenbrock, **ROSENBROCK_VIEW,
                               title="Rosenbrock, each at its best setting (first 400 steps)")
    plot_excess(axes[1, 1], rosenbrock, best_rosenbrock, cfg.tolerance, "Rosenbrock: loss vs step")
    ax = axes[1, 2]
    for method in trio:
        row = net_best.loc[method]
        ax.semilogy(curves[method, row.learning_rate], lw=1, label=f"{method}: a={row.learning_rate:g}")
    ax.axhline(cfg.network_target, color="k", ls=":", lw=0.8)
    ax.set_xlabel("full-batch step")
    ax.set_ylabel("training cross-entropy")
    ax.set_title(f"digits MLP 64-{cfg.network_hidden}-10, best rate of {len(cfg.network_lrs)} each", fontsize=9)
    ax.legend(fontsize=7)
    return fig


def plot_nesterov(quadratic, rosenbrock, quad: GridSearch, rosen: GridSearch, same, textbook):
    (a_m, b_m), (a_t, b_t) = same, textbook
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    pair = {MOMENTUM: quad.paths[MOMENTUM, a_m, b_m], NESTEROV: quad.paths[NESTEROV, a_m, b_m]}
    surfaces.plot_trajectories(axes[0], quadratic, pair, **QUADRATIC_VIEW,
                               title=f"C4.4 same a={a_m:g}, b={b_m:g} (Momentum's best)")
    for name, path in pair.items():
        axes[1].plot(path[:150, 1], lw=1, label=name)
    for name in (KERAS_HEAVY_BALL, KERAS_NESTEROV):
        axes[1].plot(quad.paths[name, a_t, b_t][:150, 1], lw=1, ls="--", label=f"{name} (a={a_t:g}, b={b_t:g})")
    axes[1].axhline(0, color="k", lw=0.6)
    axes[1].set_ylim(-1.2, 1.2)
    axes[1].set_xlabel("step")
    axes[1].set_ylabel("steep coordinate y (minimum 0)")
    axes[1].set_title("overshoot past the minimum along the steep axis", fontsize=9)
    axes[1].legend(fontsize=7)
    row = rosen.best.loc[MOMENTUM]
    surfaces.plot_trajectories(axes[2], rosenbrock, {m: rosen.paths[m, row.learning_rate, row.momentum]
                                                     for m in (MOMENTUM, NESTEROV)}, **ROSENBROCK_VIEW,
                               max_points=3000,
                               title=f"Rosenbrock, same a={row.learning_rate:g}, b={row.momentum:g} (first 3000 steps)")
    return fig


def plot_ema(cfg, quadratic, quad: GridSearch):
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    pair = {setting_label(m, quad.best): quad.best_path(m) for m in (GD, EMA_NOTES)}
    surfaces.plot_trajectories(axes[0], quadratic, pair, **QUADRATIC_VIEW,
                               title="C4.5 EMA vs GD, each at its best setting")
    for name, path in pair.items():
        axes[1].plot(np.diff(path[:80, 1]), ".-", ms=3, lw=0.8, label=name)
    axes[1].axhline(0, color="k", lw=0.6)
    axes[1].set_xlabel("step")
    axes[1].set_ylabel("update of the steep coordinate")
    gd, ema = quad.best.loc[GD], quad.best.loc[EMA_NOTES]
    axes[1].set_title(f"steep-axis updates (sign flips: GD {gd.steep_flip_fraction:.2f}, "
                      f"EMA {ema.steep_flip_fraction:.2f})", fontsize=9)
    axes[1].legend(fontsize=7)
    plot_excess(axes[2], quadratic, pair, cfg.tolerance, "quadratic: loss vs step")
    return fig
