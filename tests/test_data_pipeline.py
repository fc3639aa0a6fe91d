"""make_datasets on in-memory sources, and the crop/flip/resize transforms on known images."""
from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from conftest import assert_ok, run_python
from keras_repro.data import load_arrays, make_datasets
from keras_repro.data import transforms


def first_batch(ds):
    x, y = next(iter(ds))
    return x.numpy(), y.numpy()


def test_make_datasets_contract():
    train_ds, eval_ds, info = make_datasets("digits", image_size=32, batch_size=64, seed=0)
    x, y = first_batch(train_ds)
    assert x.shape == (64, 32, 32, 1) and x.dtype == np.float32 and y.dtype == np.int64
    assert info.num_classes == 10 and info.class_names == tuple("0123456789")
    assert info.train_count + info.eval_count == 1797 and info.unreadable == []
    assert info.steps_per_epoch == -(-info.train_count // 64)
    assert sum(len(b) for _, b in eval_ds) == info.eval_count
    assert sum(len(b) for _, b in train_ds) == info.train_count


def test_normalisation_uses_training_statistics():
    _, eval_ds, info = make_datasets("digits", image_size=16, batch_size=512, seed=0, augment="none")
    arr = load_arrays("digits", image_size=16)
    pixels = arr.x_train.reshape(-1) / 255.0
    assert info.mean[0] == pytest.approx(pixels.mean()) and info.std[0] == pytest.approx(pixels.std())
    x = np.concatenate([b.numpy() for b, _ in eval_ds])
    np.testing.assert_allclose(x, (arr.x_test / 255.0 - info.mean[0]) / info.std[0], atol=1e-4)
    assert info.denormalize(x).dtype == np.uint8
    np.testing.assert_array_equal(info.denormalize(x), arr.x_test)


def test_unnormalised_images_are_in_unit_range():
    train_ds, _, info = make_datasets("faces", image_size=40, batch_size=32, normalize=False)
    x, _ = first_batch(train_ds)
    assert info.mean is None and 0.0 <= x.min() and x.max() <= 1.0 and x.max() > 0.5


def test_seeded_repeatable_and_new_crops_each_epoch():
    a_train, _, _ = make_datasets("digits", image_size=24, batch_size=32, seed=7)
    b_train, _, _ = make_datasets("digits", image_size=24, batch_size=32, seed=7)
    c_train, _, _ = make_datasets("digits", image_size=24, batch_size=32, seed=8)
    epoch1, epoch2 = first_batch(a_train), first_batch(a_train)
    again1, again2 = first_batch(b_train), first_batch(b_train)
    np.testing.assert_array_equal(epoch1[0], again1[0])  # same seed, same first epoch
    np.testing.assert_array_equal(epoch2[0], again2[0])  # and the same second epoch
    assert not np.array_equal(epoch1[0], epoch2[0])  # epochs differ
    assert not np.array_equal(epoch1[0], first_batch(c_train)[0])  # seeds differ


def test_channels_option_converts_grey_to_rgb():
    train_ds, _, info = make_datasets("digits", image_size=16, batch_size=8, channels=3, augment="inception")
    x, _ = first_batch(train_ds)
    assert x.shape == (8, 16, 16, 3) and info.channels == 3


def test_max_examples_limits_training_only():
    train_ds, _, info = make_datasets("shapes", image_size=16, batch_size=50, max_examples=100)
    assert info.train_count == 100 and sum(len(y) for _, y in train_ds) == 100 and info.eval_count == 300


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(augment="random"), "augment='random'"), (dict(image_size=0), "image_size=0"),
    (dict(batch_size=0), "batch_size=0"), (dict(channels=2), "channels=2"), (dict(crop_fraction=1.5), "crop_fraction=1.5"),
])
def test_bad_arguments_name_the_value(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment.replace("(", r"\(")):
        make_datasets("digits", **kwargs)


# -- transforms on known images ---------------------------------------------------------------------

def test_square_window_geometry():
    y, x, h, w = (int(v) for v in transforms.square_window(tf.constant(100), tf.constant(300), 0.875))
    assert (h, w) == (87, 87) and (y, x) == (6, 106)  # centred
    for i in range(50):
        y, x, h, w = (int(v) for v in transforms.square_window(tf.constant(40), tf.constant(30), 0.5, seed=[i, 0]))
        assert (h, w) == (15, 15) and 0 <= y <= 25 and 0 <= x <= 15
    assert int(transforms.square_window(tf.constant(1), tf.constant(1), 0.875)[2]) == 1  # never empty


def test_inception_window_area_and_aspect():
    areas, aspects = [], []
    for i in range(300):
        y, x, h, w = (int(v) for v in transforms.inception_window(tf.constant(400), tf.constant(600), [i, 1]))
        assert 0 <= y and y + h <= 400 and 0 <= x and x + w <= 600
        areas.append(h * w / (400 * 600))
        aspects.append(w / h)
    areas, aspects = np.array(areas), np.array(aspects)
    inside = (areas >= 0.08 - 0.01) & (areas <= 1.0) & (aspects >= 0.75 - 0.02) & (aspects <= 4 / 3 + 0.02)
    assert inside.mean() > 0.9  # rare fall-backs to the whole image are allowed
    assert areas.min() < 0.2 and areas.max() > 0.7  # the range is used


def _gradient_image(h: int, w: int) -> np.ndarray:
    """Red grows left → right, green top → bottom: a crop's position shows in its colours."""
    image = np.zeros((h, w, 3), np.uint8)
    image[..., 0] = np.linspace(0, 255, w)[None, :]
    image[..., 1] = np.linspace(0, 255, h)[:, None]
    return image


@pytest.mark.parametrize("encoded", [False, True])
def test_eval_image_is_the_centre_crop(encoded):
    image = _gradient_image(60, 120)
    payload = tf.io.encode_png(image) if encoded else tf.constant(image)
    out = transforms.eval_image(payload, encoded=encoded, image_size=30, channels=3, crop_fraction=0.5).numpy() * 255
    expected = tf.image.resize(image[15:45, 45:75], [30, 30]).numpy()
    np.testing.assert_allclose(out, expected, atol=1e-3)


@pytest.mark.parametrize("augment", ["alexnet", "inception", "none"])
def test_training_images_are_exactly_the_resized_uint8_crops(augment):
    """The pipeline resizes a float32 copy of the crop (faster on a CPU): bit for bit what resizing the uint8
    crop gives, down- and upscaling, for every window and flip."""
    rng = np.random.default_rng(0)
    for i, (h, w, size) in enumerate([(300, 410, 224), (97, 61, 224), (64, 64, 32), (500, 333, 96)]):
        image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        seed = tf.constant([i, 5], tf.int64)
        out = transforms.train_image(tf.constant(image), seed, encoded=False, augment=augment, image_size=size,
                                     channels=3, crop_fraction=0.875, flip=True).numpy()
        # the same crop and flip, then the uint8 resize the pipeline used before
        crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
        window = {"alexnet": lambda: transforms.square_window(h, w, 0.875, crop_seed),
                  "inception": lambda: transforms.inception_window(h, w, crop_seed),
                  "none": lambda: transforms.square_window(h, w, 1.0)}[augment]
        y, x, ch, cw = (int(v) for v in window())
        crop = image[y:y + ch, x:x + cw]
        if augment != "none" and float(tf.random.stateless_uniform([], seed=flip_seed)) < 0.5:
            crop = crop[:, ::-1]
        expected = tf.image.resize(tf.constant(crop), [size, size], method="bilinear", antialias=False) * (1 / 255)
        np.testing.assert_array_equal(out, expected.numpy())


def test_jpeg_decode_and_crop_equals_decode_then_crop():
    image = _gradient_image(64, 96)
    jpeg = tf.io.encode_jpeg(image, quality=95)
    out = transforms.eval_image(jpeg, encoded=True, image_size=56, channels=3, crop_fraction=0.875)
    decoded = tf.io.decode_jpeg(jpeg, channels=3)
    expected = tf.image.resize(decoded[4:60, 20:76], [56, 56]) / 255.0
    np.testing.assert_allclose(out.numpy(), expected.numpy(), atol=2 / 255)


@pytest.mark.parametrize("side, target, ratio", [(447, 224, 1), (448, 224, 2), (900, 224, 4), (1792, 224, 8),
                                                  (5000, 224, 8), (100, 224, 1)])
def test_dct_ratio_is_the_coarsest_scale_that_keeps_the_target(side, target, ratio):
    index = transforms.dct_ratio_index(tf.constant(side), tf.constant(side + 50), target)
    assert transforms.DCT_RATIOS[int(index)] == ratio


def _photo_jpeg(h: int, w: int) -> tf.Tensor:
    photo = tf.constant(load_arrays("faces", image_size=64, channels=3).x_train[0])  # a real photo: texture
    return tf.io.encode_jpeg(tf.cast(tf.image.resize(photo, [h, w], method="bicubic"), tf.uint8), quality=92)


def test_large_jpeg_windows_are_decoded_at_reduced_scale():
    jpeg = _photo_jpeg(1000, 1200)  # eval crop 0.875 × 1000 = 875 px: ≥ 2 × 400, < 4 × 400
    window = lambda h, w: transforms.square_window(h, w, 0.875)  # noqa: E731
    full = transforms.decode_window(jpeg, window, encoded=True, channels=3)
    half = transforms.decode_window(jpeg, window, encoded=True, channels=3, target=400)
    assert full.shape == (875, 875, 3) and half.shape == (437, 437, 3)
    small = transforms.decode_window(jpeg, window, encoded=True, channels=3, target=500)  # 875 < 2 × 500
    assert small.shape == (875, 875, 3)
    # the same picture as an antialiased resize of the full window (a window off by 3 px is ~10× further)
    reference = tf.image.resize(full, [400, 400], antialias=True)
    assert float(tf.reduce_mean(tf.abs(tf.image.resize(half, [400, 400]) - reference))) < 1.5


def test_pipeline_on_large_jpegs_gives_the_target_size():
    jpeg = _photo_jpeg(2000, 1600)  # crops of 1400 px: decoded at 1/4 scale for 224
    for augment in ("alexnet", "inception"):
        out = transforms.train_image(jpeg, tf.constant([3, 0], tf.int64), encoded=True, augment=augment,
                                     image_size=224, channels=3, crop_fraction=0.875, flip=True)
        assert out.shape == (224, 224, 3) and 0.1 < float(tf.reduce_mean(out)) < 0.9
    out = transforms.eval_image(jpeg, encoded=True, image_size=224, channels=3, crop_fraction=0.875)
    expected = tf.image.resize(tf.io.decode_jpeg(jpeg)[300:1700, 100:1500], [224, 224], antialias=True) / 255.0
    assert float(tf.reduce_mean(tf.abs(out - expected))) < 2 / 255


def test_flip_mirrors_the_crop():
    image = tf.constant(_gradient_image(32, 32))
    flipped = unflipped = None
    for i in range(20):  # with crop_fraction 1 the only randomness left is the flip
        out = transforms.train_image(image, tf.constant([i, 0], tf.int64), encoded=False, augment="alexnet",
                                     image_size=32, channels=3, crop_fraction=1.0, flip=True).numpy()
        if out[0, 0, 0] > out[0, -1, 0]:
            flipped = out
        else:
            unflipped = out
    assert flipped is not None and unflipped is not None
    np.testing.assert_allclose(flipped, unflipped[:, ::-1], atol=1e-6)


def test_pipeline_trains_on_jax_backend():
    code = """
        import keras
        from keras_repro.data import make_datasets
        train_ds, eval_ds, info = make_datasets("digits", image_size=16, batch_size=128, seed=0, flip=False)
        model = keras.Sequential([keras.Input((16, 16, 1)), keras.layers.Flatten(),
                                  keras.layers.Dense(info.num_classes, activation="softmax")])
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        history = model.fit(train_ds, epochs=4, validation_data=eval_ds, verbose=0)
        print(keras.backend.backend(), history.history["val_accuracy"][-1])
    """
    backend, accuracy = assert_ok(run_python(code, backend="jax", timeout=180)).split()[-2:]
    assert backend == "jax" and float(accuracy) > 0.5


def test_pipeline_runs_under_op_determinism():
    code = """
        import keras, numpy as np, tensorflow as tf
        keras.utils.set_random_seed(0)
        tf.config.experimental.enable_op_determinism()
        from keras_repro.data import make_datasets
        train_ds, _, _ = make_datasets("faces", image_size=24, batch_size=16, seed=0, augment="inception")
        a = next(iter(train_ds))[0].numpy()
        train_ds, _, _ = make_datasets("faces", image_size=24, batch_size=16, seed=0, augment="inception")
        b = next(iter(train_ds))[0].numpy()
        print(np.array_equal(a, b))
    """
    assert assert_ok(run_python(code, backend="tensorflow", timeout=120)).split()[-1] == "True"
