"""Super-resolution: train by downscaling originals; beat bicubic upsampling on held-out photos.

Claim C3.4. The notes: to train a super-resolution network, downscale an original image, pass the
small image through the network and compare the output with the original.

Real photos shipped by scikit-image (RGB, intensities in [0, 1]). ``test_photos`` are held out;
the others give the training patches. A photo is degraded by an antialiased downscale by ``scale``
(``skimage.transform.resize``), then bicubically upsampled back to its size: that is the bicubic
baseline and the network's input. The network is SRCNN (9-1-5 convolutions) predicting the
correction to the bicubic image, trained with MSE on random ``patch``×``patch`` crops. On each held-out
photo, PSNR and SSIM of the network's output and of bicubic upsampling against the original are
computed on RGB, leaving out a border of ``scale`` pixels. Reproduced when the network's PSNR beats
bicubic's on average over the held-out photos (the catalog), and on every one of them (stricter).

Command: ``repro run super_resolution``
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from skimage.transform import resize

from keras_repro.data.embedded import COLOUR_PHOTOS, load_photos
from keras_repro.models import srcnn
from keras_repro.suite.claims import Claim, all_of, at_least, equals, greater_than
from keras_repro.suite.config import ConfigError, ReproConfig, setting
from keras_repro.suite.registry import reproduction


@dataclass
class Config(ReproConfig):
    scale: int = setting(2, "upscaling factor: photos are shrunk by it, then upsampled back", ge=2)
    test_photos: tuple[Literal[COLOUR_PHOTOS], ...] = setting(("astronaut", "coffee", "chelsea"),
                                                              "held-out photos (some, not all; the others train)")
    patch: int = setting(32, "side of the training patches, in pixels", ge=1)
    patches: int = setting(8000, "training patches, spread over the training photos", ge=1)
    epochs: int = setting(20, "training epochs", ge=1)
    batch_size: int = setting(32, "minibatch size", ge=1)
    learning_rate: float = setting(1e-3, "Adam learning rate", gt=0)
    width_multiplier: float = setting(1.0, "scales SRCNN's widths (1: the paper's)", gt=0)
    max_side: int = setting(512, "photos larger than this are downscaled first (training time)", ge=1)
    PROFILES = {"smoke": {"patches": 256, "epochs": 1, "width_multiplier": 0.25, "test_photos": ("chelsea",),
                          "max_side": 256},
                "full": {"patches": 40000, "epochs": 50, "max_side": 2000}}
    DRY_RUN = {"epochs": 1}  # --dry-run: budgets only

    def validate(self):
        if len(set(self.test_photos)) >= len(COLOUR_PHOTOS):
            raise ConfigError(f"test_photos: some (not all) of {', '.join(COLOUR_PHOTOS)}. "
                              f"Received: {self.test_photos}")


CLAIMS = [
    Claim("C3.4", "Super-resolution is trained by downscaling an original, passing it through the network and "
                  "comparing with the original; the network beats bicubic upsampling.",
          rule=all_of(at_least("held_out_photos", 1), greater_than("mean_psnr_gain_db", 0.0),
                      equals("photos_where_bicubic_wins", 0)),
          note="PSNR on RGB in [0, 1], border of `scale` pixels left out. For scale: SRCNN's paper reports about "
               "+2 dB over bicubic (Set5, x3, Y channel) after far longer training than this CPU budget."),
]


def degrade(image: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """(original cropped to a multiple of ``scale``, its bicubic upsampling from 1/``scale`` size); float [0, 1]."""
    h, w = (image.shape[0] // scale) * scale, (image.shape[1] // scale) * scale
    original = image[:h, :w].astype(np.float32) / 255.0 if image.dtype == np.uint8 else image[:h, :w]
    small = resize(original, (h // scale, w // scale), order=3, anti_aliasing=True)
    bicubic = np.clip(resize(small, (h, w), order=3, anti_aliasing=False), 0.0, 1.0)
    return original.astype(np.float32), bicubic.astype(np.float32)


def limit_side(image: np.ndarray, max_side: int) -> np.ndarray:
    if max(image.shape[:2]) <= max_side:
        return image
    f = max_side / max(image.shape[:2])
    out = resize(image, (round(image.shape[0] * f), round(image.shape[1] * f)), order=3, anti_aliasing=True)
    return (np.clip(out, 0, 1) * 255).round().astype(np.uint8)


def training_patches(pairs, count: int, patch: int, rng: np.random.Generator):
    """``count`` random aligned crops (bicubic input, original target), spread over the training photos."""
    xs, ys = [], []
    for i in range(count):
        original, bicubic = pairs[i % len(pairs)]
        y = rng.integers(0, original.shape[0] - patch + 1)
        x = rng.integers(0, original.shape[1] - patch + 1)
        xs.append(bicubic[y:y + patch, x:x + patch])
        ys.append(original[y:y + patch, x:x + patch])
    return np.stack(xs), np.stack(ys)


def scores(output: np.ndarray, original: np.ndarray, border: int) -> tuple[float, float]:
    a, b = output[border:-border, border:-border], original[border:-border, border:-border]
    return (float(peak_signal_noise_ratio(b, np.clip(a, 0, 1), data_range=1.0)),
            float(structural_similarity(b, np.clip(a, 0, 1), data_range=1.0, channel_axis=-1)))


def plot_example(name, original, bicubic, output, border: int):
    h, w = original.shape[:2]
    side = min(h, w, 128)
    y, x = (h - side) // 2, (w - side) // 2
    fig, axes = plt.subplots(1, 3, figsize=(9, 3.3))
    for ax, (title, img) in zip(axes, (("bicubic", bicubic), ("SRCNN", output), ("original", original))):
        ax.imshow(np.clip(img[y:y + side, x:x + side], 0, 1), interpolation="nearest")
        if title != "original":
            psnr, _ = scores(img, original, border)
            title = f"{title} ({psnr:.2f} dB)"
        ax.set_title(title)
        ax.axis("off")
    fig.suptitle(f"{name}: centre crop, whole-photo PSNR")
    fig.tight_layout()
    return fig


@reproduction("super_resolution", title="Super-resolution trained by downscaling, vs bicubic on held-out photos",
              claims=CLAIMS, config=Config)
def run(ctx):
    cfg = ctx.config
    photos = {name: limit_side(img, cfg.max_side) for name, img in load_photos(COLOUR_PHOTOS, channels=3).items()}
    train_names = [n for n in photos if n not in cfg.test_photos]
    pairs = {name: degrade(img, cfg.scale) for name, img in photos.items()}
    ctx.progress(f"training photos: {', '.join(train_names)}; held out: {', '.join(cfg.test_photos)}")
    x, y = training_patches([pairs[n] for n in train_names], cfg.patches, cfg.patch, np.random.default_rng(ctx.seed))

    ctx.reseed(1)
    with ctx.scope():
        model = srcnn(width_multiplier=cfg.width_multiplier)
        model.compile(keras.optimizers.Adam(cfg.learning_rate), "mse")
    ctx.fit(model, x, y, batch_size=cfg.batch_size, epochs=cfg.epochs, shuffle=True, label="SRCNN")
    ctx.save_model("srcnn", model)

    rows = []
    for name in list(cfg.test_photos) + train_names:
        original, bicubic = pairs[name]
        output = keras.ops.convert_to_numpy(model.predict(bicubic[None], verbose=0))[0]
        (psnr_net, ssim_net), (psnr_bic, ssim_bic) = scores(output, original, cfg.scale), \
            scores(bicubic, original, cfg.scale)
        rows.append({"photo": name, "held_out": name in cfg.test_photos, "height": original.shape[0],
                     "width": original.shape[1], "psnr_bicubic": psnr_bic, "psnr_network": psnr_net,
                     "psnr_gain_db": psnr_net - psnr_bic, "ssim_bicubic": ssim_bic, "ssim_network": ssim_net})
        if name == cfg.test_photos[0]:
            ctx.figure(f"example_{name}", plot_example(name, original, bicubic, output, cfg.scale))
    df = pd.DataFrame(rows)
    ctx.table("psnr_ssim", df, keys=["photo"])
    held = df[df["held_out"]]
    ctx.progress("held-out PSNR gain over bicubic: " + ", ".join(f"{r.photo} {r.psnr_gain_db:+.2f} dB"
                                                                  for r in held.itertuples()))
    ctx.measure("C3.4", held_out_photos=len(held), mean_psnr_gain_db=float(held["psnr_gain_db"].mean()),
                photos_where_bicubic_wins=int((held["psnr_gain_db"] <= 0).sum()),
                mean_ssim_gain=float((held["ssim_network"] - held["ssim_bicubic"]).mean()),
                mean_psnr_bicubic=float(held["psnr_bicubic"].mean()), mean_psnr_network=float(held["psnr_network"].mean()),
                scale=cfg.scale)
