"""Segmentation: a per-pixel σ(y) trained with per-pixel BCE summed over the pixels.

Claim C3.2. The notes: for segmentation the network outputs ``σ(y)`` at every pixel and the loss is
the per-pixel binary cross-entropy summed over the pixels (``keras_repro.losses.SummedPixelBCE``).

Data: synthetic shapes with their true masks (``keras_repro.data.synthetic``: a bright circle, square
or triangle on a darker, noisy background; one object per image, possibly cut by the border). Model:
a small fully convolutional network (3×3 convolutions, one 1×1 output, no pooling: it runs on any
image size). Scores on held-out images: pixel accuracy and IoU of the predicted mask (σ > 0.5),
against the intensity-threshold baseline (Otsu's threshold per image, ``skimage.filters``), the
natural rival on such images. IoU is the mean over images.

Command: ``repro run segmentation``
"""
from __future__ import annotations

from dataclasses import dataclass

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from skimage.filters import threshold_otsu
from sklearn.metrics import jaccard_score

from keras_repro.data import make_shapes, to_unit_float
from keras_repro.losses import SummedPixelBCE
from keras_repro.suite.claims import Claim, all_of, at_least, greater_than
from keras_repro.suite.config import ReproConfig, setting
from keras_repro.suite.registry import reproduction


@dataclass
class Config(ReproConfig):
    image_size: int = setting(32, "side of the synthetic images, in pixels", ge=4)
    train: int = setting(2000, "training images", ge=1)
    test: int = setting(500, "held-out images", ge=1)
    noise: float = setting(0.15, "standard deviation of the pixel noise", ge=0)
    epochs: int = setting(15, "training epochs", ge=1)
    batch_size: int = setting(32, "minibatch size", ge=1)
    learning_rate: float = setting(2e-3, "Adam learning rate", gt=0)
    PROFILES = {"smoke": {"train": 128, "test": 64, "epochs": 1},
                "full": {"image_size": 64, "train": 10000, "test": 2000, "epochs": 40}}
    DRY_RUN = {"epochs": 1}  # --dry-run: budgets only


CLAIMS = [
    Claim("C3.2", "Segmentation: output σ(y) per pixel, loss = per-pixel BCE summed over the pixels.",
          rule=all_of(at_least("mean_iou", 0.8), greater_than("mean_iou_over_threshold_baseline", 0.0))),
]


def segmenter(channels: int = 1) -> keras.Model:
    inputs = keras.Input((None, None, channels), name="image")
    x = inputs
    for i, (filters, dilation) in enumerate(((16, 1), (32, 1), (32, 2), (32, 4)), start=1):
        x = keras.layers.Conv2D(filters, 3, padding="same", dilation_rate=dilation, activation="relu",
                                name=f"conv{i}")(x)
    return keras.Model(inputs, keras.layers.Conv2D(1, 1, name="logits")(x), name="fcn")


def mask_scores(predicted: np.ndarray, truth: np.ndarray) -> dict:
    """Pixel accuracy and per-image IoU (an empty prediction of an empty mask counts as IoU 1)."""
    predicted, truth = predicted.astype(bool), truth.astype(bool)
    iou = np.array([jaccard_score(t.ravel(), p.ravel(), zero_division=1.0) for p, t in zip(predicted, truth)])
    return {"pixel_accuracy": float((predicted == truth).mean()), "mean_iou": float(iou.mean()),
            "median_iou": float(np.median(iou))}


def otsu_masks(images: np.ndarray) -> np.ndarray:
    return np.stack([img > threshold_otsu(img) for img in images[..., 0]])


def plot_examples(images, truth, predicted, baseline, count: int = 6):
    fig, axes = plt.subplots(4, count, figsize=(1.6 * count, 6.6))
    for j in range(count):
        for i, (title, img) in enumerate((("image", images[j, ..., 0]), ("true mask", truth[j]),
                                          ("FCN", predicted[j]), ("Otsu threshold", baseline[j]))):
            axes[i, j].imshow(img, cmap="gray", vmin=0, vmax=1)
            axes[i, j].set_xticks([])
            axes[i, j].set_yticks([])
            if j == 0:
                axes[i, j].set_ylabel(title, fontsize=9)
    fig.suptitle("Held-out images")
    fig.tight_layout()
    return fig


@reproduction("segmentation", title="Segmentation: per-pixel σ(y), per-pixel BCE summed, vs a threshold",
              claims=CLAIMS, config=Config)
def run(ctx):
    cfg = ctx.config
    data = make_shapes(cfg.train + cfg.test, cfg.image_size, seed=ctx.seed, noise=cfg.noise)
    x = to_unit_float(data.images)
    masks = data.masks.astype("float32")[..., None]
    x_train, m_train, x_test, m_test = x[:cfg.train], masks[:cfg.train], x[cfg.train:], masks[cfg.train:]
    ctx.progress(f"shapes: {cfg.train} training, {cfg.test} test images of {cfg.image_size}×{cfg.image_size}, "
                 f"{m_test.mean():.0%} of test pixels inside an object")
    ctx.reseed(1)
    with ctx.scope():
        model = segmenter()
        model.compile(keras.optimizers.Adam(cfg.learning_rate), SummedPixelBCE())
    ctx.fit(model, x_train, m_train, batch_size=cfg.batch_size, epochs=cfg.epochs, shuffle=True, label="FCN")
    ctx.save_model("fcn", model)
    predicted = keras.ops.convert_to_numpy(model.predict(x_test, verbose=0))[..., 0] > 0.0  # σ(y) > 0.5
    baseline = otsu_masks(x_test)
    truth = m_test[..., 0] > 0.5
    rows = [{"model": "FCN, per-pixel BCE summed", **mask_scores(predicted, truth)},
            {"model": "Otsu threshold per image", **mask_scores(baseline, truth)}]
    df = pd.DataFrame(rows)
    ctx.table("segmentation", df, keys=["model"])
    ctx.figure("examples", plot_examples(x_test, truth, predicted, baseline))
    fcn, otsu = rows
    ctx.measure("C3.2", mean_iou=fcn["mean_iou"], pixel_accuracy=fcn["pixel_accuracy"],
                mean_iou_over_threshold_baseline=fcn["mean_iou"] - otsu["mean_iou"],
                baseline_mean_iou=otsu["mean_iou"], baseline_pixel_accuracy=otsu["pixel_accuracy"])
