"""Localisation with five outputs, and why the box size is regressed in log space.

Claims C3.1 and C3.1b. The notes: at most one object per image; it is present iff its centre lies in
the image (it may extend past the border). Five outputs ``p = σ(y0)``, ``xc = σ(y1)``, ``yc = σ(y2)``,
``w = exp(y3)``, ``h = exp(y4)``, trained with ``BCE(p, 1[object])`` plus, where an object is present,
``BCE`` on the centre and ``MSE(y3, log w)``, ``MSE(y4, log h)`` (``keras_repro.losses.LocalizationLoss``).
The log makes equal relative errors cost the same: ``log(1.1·y) − log y = log 1.1`` at any ``y``.

Data: synthetic shapes (``keras_repro.data.synthetic``) with the notes' convention: a share of
objects has its centre just outside the image (absent, but possibly poking in); box sides from 15%
to 90% of the image, width and height independent. A small CNN is trained with the log loss and,
for C3.1b, the same CNN from the same initial weights with ``box_loss="plain"`` (MSE on ``w, h``).

C3.1: presence accuracy, centre error and mean IoU of present objects on held-out images, against the
constant prediction (majority presence, mean box). C3.1b: (a) the identity, in float64, at sizes over
twelve orders of magnitude; (b) relative width error ``|ŵ − w| / w`` of the two models on the smallest
and the largest third of the held-out objects: the log model's small/large ratio should be closer to 1.

Command: ``repro run localization``
"""
from __future__ import annotations

from dataclasses import dataclass

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from keras_repro.data import make_shapes, to_unit_float
from keras_repro.losses import LocalizationLoss, box_iou, decode_localization
from keras_repro.suite.claims import Claim, all_of, at_least, greater_than, less_than
from keras_repro.suite.config import ConfigError, ReproConfig, setting
from keras_repro.suite.registry import reproduction


@dataclass
class Config(ReproConfig):
    image_size: int = setting(32, "side of the synthetic images, in pixels", ge=4)
    train: int = setting(4000, "training images", ge=1)
    test: int = setting(1000, "held-out images", ge=1)
    absent_fraction: float = setting(0.3, "share of objects whose centre lies outside the image (absent)", ge=0, lt=1)
    size_range: tuple[float, ...] = setting((0.15, 0.9), "smallest and largest box side, as fractions of the image "
                                                         "side", gt=0)
    aspect_jitter: float = setting(0.3, "box width and height vary independently by up to this factor", ge=0, lt=1)
    epochs: int = setting(25, "training epochs of each model", ge=1)
    batch_size: int = setting(64, "minibatch size", ge=1)
    learning_rate: float = setting(2e-3, "Adam learning rate", gt=0)
    PROFILES = {"smoke": {"train": 256, "test": 128, "epochs": 1},
                "full": {"image_size": 64, "train": 20000, "test": 4000, "epochs": 60}}
    DRY_RUN = {"epochs": 1}  # --dry-run: budgets only

    def validate(self):
        if len(self.size_range) != 2 or self.size_range[0] > self.size_range[1]:
            raise ConfigError(f"size_range: the smallest and the largest box side, e.g. 0.15,0.9. "
                              f"Received: {self.size_range}")


CLAIMS = [
    Claim("C3.1", "Localisation with p = σ(y0), xc = σ(y1), yc = σ(y2), w = exp(y3), h = exp(y4), BCE on presence and "
                  "centre, MSE on log w and log h where an object is present.",
          rule=all_of(at_least("presence_accuracy", 0.95), at_least("mean_iou", 0.5),
                      greater_than("presence_accuracy_over_baseline", 0.0), greater_than("mean_iou_over_baseline", 0.2))),
    Claim("C3.1b", "The log makes equal relative errors cost the same: log(1.1 y) - log y = log 1.1 for any y.",
          rule=all_of(less_than("identity_max_abs_error", 1e-12),
                      less_than("log_ratio_distance_from_1_minus_plain", 0.0)),
          note="ratio = mean relative width error on the smallest third of objects / on the largest third; "
               "distance from 1 is |log ratio|."),
]


def shapes_split(cfg, seed: int):
    data = make_shapes(cfg.train + cfg.test, cfg.image_size, seed=seed, size_range=tuple(cfg.size_range),
                       aspect_jitter=cfg.aspect_jitter, absent_fraction=cfg.absent_fraction)
    x = to_unit_float(data.images)
    y = np.column_stack([data.present.astype(np.float32), data.boxes]).astype("float32")
    return (x[:cfg.train], y[:cfg.train]), (x[cfg.train:], y[cfg.train:])


def localizer(input_shape) -> keras.Model:
    inputs = keras.Input(input_shape, name="image")
    x = inputs
    for i, filters in enumerate((16, 32, 64), start=1):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"conv{i}")(x)
        x = keras.layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(128, activation="relu", name="fc")(x)
    return keras.Model(inputs, keras.layers.Dense(5, name="y")(x), name="localizer")


def scores(pred: dict, y: np.ndarray) -> dict:
    present = y[:, 0] > 0.5
    boxes = np.column_stack([pred["xc"], pred["yc"], pred["w"], pred["h"]])
    iou = box_iou(boxes[present], y[present, 1:])
    return {"presence_accuracy": float(((pred["p"] > 0.5) == present).mean()),
            "centre_error": float(np.mean(np.hypot(pred["xc"] - y[:, 1], pred["yc"] - y[:, 2])[present])),
            "mean_iou": float(iou.mean()),
            "relative_width_error": np.abs(pred["w"] - y[:, 3]) / y[:, 3]}


def constant_prediction(y_train: np.ndarray, n: int) -> dict:
    present = y_train[:, 0] > 0.5
    mean_box = y_train[present, 1:].mean(axis=0)
    return {"p": np.full(n, float(present.mean() >= 0.5)), "xc": np.full(n, mean_box[0]),
            "yc": np.full(n, mean_box[1]), "w": np.full(n, mean_box[2]), "h": np.full(n, mean_box[3])}


def identity_rows() -> list[dict]:
    rows = []
    for y in 10.0 ** np.arange(-6, 7):
        diff = np.log(1.1 * y) - np.log(y)
        rows.append({"y": y, "log_difference": diff, "minus_log_1.1": diff - np.log(1.1),
                     "squared_log_error": diff ** 2, "squared_plain_error": (0.1 * y) ** 2})
    return rows


def size_thirds(rel_error: np.ndarray, widths: np.ndarray, present: np.ndarray) -> tuple[float, float]:
    """Mean relative width error of the smallest and of the largest third of the present objects."""
    w = widths[present]
    low, high = np.quantile(w, [1 / 3, 2 / 3])
    err = rel_error[present]
    return float(err[w <= low].mean()), float(err[w >= high].mean())


def plot_relative_error(df: pd.DataFrame):
    fig, ax = plt.subplots(figsize=(6.4, 4))
    for model, style in (("log", "C0-o"), ("plain", "C3-s")):
        part = df[df["box_loss"] == model]
        ax.plot(part["true_width_bin"], part["mean_relative_width_error"], style, label=f"MSE on {model} w")
    ax.set(xlabel="true width (fraction of the image)", ylabel="mean |ŵ − w| / w",
           title="Relative width error by object size (held-out)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


@reproduction("localization", title="Localisation: five outputs, BCE + MSE on log sizes; why the log",
              claims=CLAIMS, config=Config)
def run(ctx):
    cfg = ctx.config
    (x_train, y_train), (x_test, y_test) = shapes_split(cfg, ctx.seed)
    present = y_test[:, 0] > 0.5
    ctx.progress(f"shapes: {len(x_train)} training, {len(x_test)} test images, {present.mean():.0%} with an object")
    rows, models, models_raw = [], {}, {}
    for box_loss in ("log", "plain"):
        ctx.reseed(1)  # the same initial weights for both losses
        with ctx.scope():
            model = localizer(x_train.shape[1:])
            model.compile(keras.optimizers.Adam(cfg.learning_rate), LocalizationLoss(box_loss))
        ctx.fit(model, x_train, y_train, batch_size=cfg.batch_size, epochs=cfg.epochs, shuffle=True,
                label=f"box loss on {box_loss} sizes")
        models_raw[box_loss] = model.predict(x_test, verbose=0)
        models[box_loss] = scores(decode_localization(models_raw[box_loss], box_loss), y_test)
        rows.append({"model": f"CNN, MSE on {box_loss} w, h",
                     **{k: v for k, v in models[box_loss].items() if k != "relative_width_error"}})
        if box_loss == "log":
            ctx.save_model("localizer", model)
    baseline = scores(constant_prediction(y_train, len(y_test)), y_test)
    rows.append({"model": "constant prediction", **{k: v for k, v in baseline.items() if k != "relative_width_error"}})
    ctx.table("localization", pd.DataFrame(rows), keys=["model"])

    identity = pd.DataFrame(identity_rows())
    ctx.table("log_identity", identity, keys=["y"])
    bins = np.quantile(y_test[present, 3], np.linspace(0, 1, 7))
    by_size = []
    for box_loss, result in models.items():
        which = np.clip(np.digitize(y_test[:, 3], bins[1:-1]), 0, len(bins) - 2)
        for b in range(len(bins) - 1):
            sel = present & (which == b)
            by_size.append({"box_loss": box_loss, "true_width_bin": float((bins[b] + bins[b + 1]) / 2),
                            "objects": int(sel.sum()),
                            "mean_relative_width_error": float(result["relative_width_error"][sel].mean())})
    ctx.table("relative_width_error_by_size", pd.DataFrame(by_size), keys=["box_loss", "true_width_bin"])
    ctx.figure("relative_width_error_by_size", plot_relative_error(pd.DataFrame(by_size)))

    # How far is each test object's centre from the nearest border (negative: outside, i.e. absent)?
    inside = np.minimum.reduce([y_test[:, 1], 1 - y_test[:, 1], y_test[:, 2], 1 - y_test[:, 2]])
    predicted = decode_localization(models_raw["log"], "log")["p"] > 0.5
    edges = np.array([-0.25, -0.1, -0.05, 0.0, 0.05, 0.1, 0.5])
    by_distance = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (inside >= lo) & (inside < hi)
        by_distance.append({"centre_to_border_from": lo, "to": hi, "objects": int(sel.sum()),
                            "present": bool(lo >= 0),
                            "presence_accuracy": float((predicted[sel] == present[sel]).mean()) if sel.any() else np.nan})
    by_distance = pd.DataFrame(by_distance)
    ctx.table("presence_by_centre_distance", by_distance, keys=["centre_to_border_from"])
    near = (np.abs(inside) < 0.05)
    near_errors = int((predicted != present)[near].sum())
    total_errors = int((predicted != present).sum())

    ratios = {}
    for box_loss, result in models.items():
        small, large = size_thirds(result["relative_width_error"], y_test[:, 3], present)
        ratios[box_loss] = small / large
    log_model = models["log"]
    ctx.measure("C3.1", presence_accuracy=log_model["presence_accuracy"], mean_iou=log_model["mean_iou"],
                centre_error=log_model["centre_error"],
                presence_accuracy_over_baseline=log_model["presence_accuracy"] - baseline["presence_accuracy"],
                mean_iou_over_baseline=log_model["mean_iou"] - baseline["mean_iou"],
                baseline_presence_accuracy=baseline["presence_accuracy"], baseline_mean_iou=baseline["mean_iou"],
                presence_errors=total_errors, presence_errors_centre_within_0_05_of_border=near_errors)
    if total_errors:
        ctx.note("C3.1", f"{near_errors} of the {total_errors} presence errors are objects whose centre lies within "
                         f"0.05 of the image side from the border (inside or out), where an object cut by the border "
                         f"may not show where its centre is (see presence_by_centre_distance).")
    ctx.measure("C3.1b", identity_max_abs_error=float(identity["minus_log_1.1"].abs().max()),
                small_over_large_log=ratios["log"], small_over_large_plain=ratios["plain"],
                log_ratio_distance_from_1_minus_plain=float(abs(np.log(ratios["log"])) - abs(np.log(ratios["plain"]))),
                mean_iou_plain=models["plain"]["mean_iou"])
