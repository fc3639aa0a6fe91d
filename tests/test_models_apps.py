"""The builders in an app: ``input_tensor`` and ``None`` sides as in ``keras.applications``,
preprocessing saved inside the model, ``preprocess_input``, weights from ``keras.applications``."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from conftest import assert_ok, run_python
from keras_repro.models import (
    alexnet, googlenet, lenet5, load_applications_weights, preprocess_input, resnet, resnext, vgg, with_preprocessing,
)

SMALL = {  # CPU-sized variants: the point is the input handling, not the width
    "vgg": lambda **kw: vgg(11, width_multiplier=1 / 16, **kw),
    "resnet": lambda **kw: resnet(18, width_multiplier=1 / 16, **kw),
    "resnext": lambda **kw: resnext(26, cardinality=2, base_width=4, width_multiplier=1 / 16, **kw),
    "lenet5": lambda **kw: lenet5(**kw),
    "alexnet": lambda **kw: alexnet(width_multiplier=1 / 16, **kw),
    "googlenet": lambda **kw: googlenet(width_multiplier=1 / 16, **kw),
}
SIDES = {"vgg": (32, 64), "resnet": (32, 64), "resnext": (32, 64), "lenet5": (16, 40), "alexnet": (63, 100),
         "googlenet": (32, 64)}


def test_vgg16_without_top_takes_any_side():
    # the report: this crashed at models/vgg.py:112 comparing None < 32
    model = vgg(16, include_top=False, input_shape=(None, None, 3), width_multiplier=1 / 16, pooling="avg")
    assert tuple(model.input.shape) == (None, None, None, 3)
    for side in (32, 48, 96):
        assert tuple(model(np.zeros((1, side, side, 3), "float32")).shape) == (1, 32)


@pytest.mark.parametrize("family", sorted(SMALL))
def test_none_sides_without_top(family):
    model = SMALL[family](include_top=False, pooling="avg", input_shape=(None, None, 3))
    outputs = [model(np.zeros((1, side, side + 8, 3), "float32")) for side in SIDES[family]]
    assert all(out.shape[0] == 1 and len(out.shape) == 2 for out in outputs)


@pytest.mark.parametrize("family", ["vgg", "lenet5", "alexnet"])
def test_none_sides_with_a_flattening_top_fail_with_the_reason(family):
    with pytest.raises(ValueError, match="include_top=True needs fixed"):
        SMALL[family](include_top=True, input_shape=(None, None, 3))


@pytest.mark.parametrize("family", ["vgg", "lenet5"])
def test_too_small_known_sides_still_fail(family):
    with pytest.raises(ValueError, match="sides >="):
        SMALL[family](include_top=False, input_shape=(8, None, 3))


@pytest.mark.parametrize("family", sorted(SMALL))
def test_input_tensor_from_keras_input_and_from_another_model(family):
    side = SIDES[family][1]
    image = keras.Input((side, side, 3), name="image_in")
    model = SMALL[family](include_top=False, pooling="max", input_tensor=image)
    assert model.inputs[0] is image  # the model starts at the given tensor, not a new Input
    # a tensor computed from another input: the model's inputs are the source inputs (get_source_inputs)
    raw = keras.Input((side, side, 3), name="raw")
    scaled = keras.layers.Rescaling(1 / 255, name="to_unit")(raw)
    chained = SMALL[family](include_top=False, pooling="avg", input_tensor=scaled)
    assert chained.inputs[0] is raw and "to_unit" in [layer.name for layer in chained.layers]
    x = np.random.default_rng(0).integers(0, 256, (2, side, side, 3)).astype("float32")
    direct = keras.Model(chained.get_layer("to_unit").output, chained.output)
    # rtol: float32 rounding of different summation orders (ResNeXt's block-diagonal convolution: 6e-7 relative)
    np.testing.assert_allclose(chained.predict(x, verbose=0), direct.predict(x / 255, verbose=0), atol=1e-5, rtol=2e-6)


def test_input_tensor_that_is_not_a_keras_tensor_is_refused():
    with pytest.raises(ValueError, match="input_tensor must be a Keras tensor"):
        SMALL["vgg"](include_top=False, input_tensor=np.zeros((1, 32, 32, 3), "float32"))


# -- preprocessing saved inside the model ----------------------------------------------------------------
def _tiny_classifier(channels=3):
    inputs = keras.Input((8, 8, channels))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax", name="predictions")(x), name="tiny")


def test_saved_model_with_preprocessing_predicts_on_raw_uint8(tmp_path):
    keras.utils.set_random_seed(0)
    model = _tiny_classifier()
    mean, std = (0.49, 0.48, 0.45), (0.25, 0.24, 0.26)
    path = tmp_path / "tiny.keras"
    with_preprocessing(model, mean=mean, std=std).save(path)
    raw = np.random.default_rng(1).integers(0, 256, (5, 8, 8, 3)).astype("uint8")
    expected = model.predict((raw / 255.0 - np.asarray(mean)) / np.asarray(std), verbose=0)
    np.save(tmp_path / "raw.npy", raw)
    np.save(tmp_path / "expected.npy", expected)
    out = assert_ok(run_python(f"""
        import keras, numpy as np
        import keras_repro
        model = keras.saving.load_model({str(path)!r}, safe_mode=True)
        got = model.predict(np.load({str(tmp_path / "raw.npy")!r}), verbose=0)
        np.testing.assert_allclose(got, np.load({str(tmp_path / "expected.npy")!r}), rtol=1e-5, atol=1e-6)
        normalize = model.get_layer("normalize").get_config()
        print("scale", model.get_layer("rescale").get_config()["scale"], "mean", normalize["mean"])
    """, timeout=120))
    assert "scale 0.00392" in out and "mean [0.49" in out


def test_preprocessing_without_mean_is_a_rescaling_only_and_checks_its_arguments():
    model = _tiny_classifier(channels=1)
    wrapped = with_preprocessing(model)
    assert [type(layer).__name__ for layer in wrapped.layers[1:]] == ["Rescaling", "Functional"]
    raw = np.random.default_rng(2).integers(0, 256, (2, 8, 8, 1)).astype("uint8")
    np.testing.assert_allclose(wrapped.predict(raw, verbose=0), model.predict(raw / 255.0, verbose=0), atol=1e-6)
    with pytest.raises(ValueError, match="one value per channel"):
        with_preprocessing(model, mean=(0.5, 0.5), std=(0.2, 0.2))
    with pytest.raises(ValueError, match="std must be > 0"):
        with_preprocessing(model, mean=(0.5,), std=(0.0,))


# -- preprocess_input ------------------------------------------------------------------------------------
def test_preprocess_input_modes_match_keras_applications():
    x = np.random.default_rng(3).integers(0, 256, (2, 5, 5, 3)).astype("float32")
    imagenet = keras.applications.imagenet_utils.preprocess_input
    for mode in ("caffe", "torch", "tf"):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(preprocess_input(x, mode)),
                                   imagenet(x.copy(), mode=mode), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(preprocess_input(x.astype("uint8"))), x / 255, atol=1e-7)
    mean, std = (0.1, 0.2, 0.3), (0.5, 0.25, 0.2)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(preprocess_input(x, "standardize", mean=mean, std=std)),
                               (x / 255 - np.asarray(mean)) / np.asarray(std), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="mode must be one of"):
        preprocess_input(x, "bgr")
    with pytest.raises(ValueError, match="mean and std are both needed"):
        preprocess_input(x, "standardize")


# -- weights from keras.applications (random, no download) ----------------------------------------------
def _randomise(model, seed):
    """Random weights everywhere, BN moving variances positive: BN is then far from the identity."""
    rng = np.random.default_rng(seed)
    model.set_weights([(rng.uniform(0.5, 1.5, w.shape) if "variance" in v.path else rng.normal(0, 0.05, w.shape))
                       .astype("float32") for v, w in zip(model.weights, model.get_weights())])


def test_vgg16_takes_keras_applications_weights_by_set_weights():
    app = keras.applications.VGG16(weights=None, include_top=False, pooling="avg", input_shape=(None, None, 3))
    _randomise(app, 4)
    ours = vgg(16, include_top=False, pooling="avg", input_shape=(None, None, 3))
    ours.set_weights(app.get_weights())
    x = preprocess_input(np.random.default_rng(5).integers(0, 256, (2, 48, 64, 3)), "caffe")
    np.testing.assert_allclose(ours.predict(x, verbose=0), app.predict(x, verbose=0), atol=1e-4, rtol=1e-4)


def test_resnet50_with_conv_bias_takes_keras_applications_weights():
    app = keras.applications.ResNet50(weights=None, include_top=False, pooling="avg", input_shape=(None, None, 3))
    _randomise(app, 6)
    ours = resnet(50, conv_bias=True, include_top=False, pooling="avg", input_shape=(None, None, 3))
    copied = load_applications_weights(ours, app)
    assert len(copied) == len([layer for layer in app.layers if layer.weights])
    x = preprocess_input(np.random.default_rng(7).integers(0, 256, (2, 64, 64, 3)), "caffe")
    expected = app.predict(x, verbose=0)
    np.testing.assert_allclose(ours.predict(x, verbose=0), expected, atol=1e-4, rtol=1e-4)
    ours.set_weights(app.get_weights())  # same order too
    np.testing.assert_allclose(ours.predict(x, verbose=0), expected, atol=1e-4, rtol=1e-4)
    # torchvision's stride placement would load and compute something else: refused with the reason
    v15 = resnet(50, conv_bias=True, variant="v1.5", include_top=False, pooling="avg", input_shape=(None, None, 3))
    with pytest.raises(ValueError, match="configured differently"):
        load_applications_weights(v15, app)
    with pytest.raises(ValueError, match="weight shapes"):
        load_applications_weights(resnet(50, include_top=False, pooling="avg", input_shape=(64, 64, 3)), app)


def test_default_resnet_keeps_its_v15_layout():
    model = resnet(50, width_multiplier=1 / 16, input_shape=(64, 64, 3))
    assert model.get_layer("conv3_block1_2_conv").strides == (2, 2)
    assert model.get_layer("conv3_block1_1_conv").strides == (1, 1)
    assert "conv1_pad" not in [layer.name for layer in model.layers]
    with pytest.raises(ValueError, match="variant must be one of"):
        resnet(50, variant="v2")
