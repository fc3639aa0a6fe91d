"""LeNet-5, AlexNet, VGG builders: published sizes (C5.9), structure, progressive deepening, backbone, saving."""
from __future__ import annotations

import keras
import numpy as np
import pytest

import keras_repro  # noqa: F401  (registration)
from keras_repro.measures.flops import shapes_only
from keras_repro.models import alexnet, copy_weights_by_name, grow_vgg, lenet5, vgg, vgg_backbone, vgg_depth
from keras_repro.models.alexnet import alexnet_feature_size
from keras_repro.models.vgg import VGG_CONVS_PER_BLOCK, convs_per_block
from conftest import assert_ok, run_python

SMALL_VGG = dict(input_shape=(32, 32, 1), classes=10, width_multiplier=1 / 16)


def _kinds(model, kind):
    return [layer for layer in model.layers if isinstance(layer, kind)]


# -- published sizes (C5.9) ---------------------------------------------------------------------
def test_lenet5_has_61706_parameters():
    assert lenet5().count_params() == 61_706


def test_alexnet_matches_the_single_tower_reference_size():
    # torchvision.models.alexnet(): 61,100,840 parameters (64-192-384-256-256 convolutions).
    with shapes_only():
        assert alexnet().count_params() == 61_100_840


@pytest.mark.parametrize("depth, published", [(11, 132_863_336), (13, 133_047_848), (19, 143_667_240)])
def test_vgg_configurations_have_the_published_sizes(depth, published):
    with shapes_only():  # no 0.5 GB of random weights (a plain keras.StatelessScope initialises them on leaving)
        assert vgg(depth).count_params() == published


def test_vgg16_matches_keras_applications_exactly():
    with shapes_only():
        ours = vgg(16)
        reference = keras.applications.VGG16(weights=None)
    assert ours.count_params() == reference.count_params() == 138_357_544
    ref_shapes = {layer.name: [tuple(w.shape) for w in layer.weights] for layer in reference.layers}
    for layer in ours.layers:
        if layer.weights:
            assert [tuple(w.shape) for w in layer.weights] == ref_shapes[layer.name], layer.name


# -- structure ----------------------------------------------------------------------------------
def test_lenet5_is_two_convolutions_then_three_dense_layers():
    model = lenet5()
    assert [layer.name for layer in _kinds(model, keras.layers.Conv2D)] == ["conv1", "conv2"]
    assert [layer.name for layer in _kinds(model, keras.layers.Dense)] == ["fc1", "fc2", "predictions"]
    assert model.get_layer("pool2").output.shape[1:] == (5, 5, 16)
    probs = model(np.zeros((2, 32, 32, 1), "float32"))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(keras.ops.sum(probs, axis=-1)), 1.0, rtol=1e-6)


def test_alexnet_has_five_convolutions_last_three_3x3_and_three_dense_layers():
    model = alexnet()
    convs = _kinds(model, keras.layers.Conv2D)
    assert [c.kernel_size for c in convs] == [(11, 11), (5, 5), (3, 3), (3, 3), (3, 3)]
    assert [layer.name for layer in _kinds(model, keras.layers.Dense)] == ["fc6", "fc7", "predictions"]
    assert model.get_layer("conv1").output.shape[1:3] == (55, 55)
    assert model.get_layer("pool5").output.shape[1:] == (6, 6, 256)
    names = [layer.name for layer in model.layers]
    assert "pool3" not in names and "pool4" not in names  # conv3, conv4: no pooling


def test_alexnet_small_inputs_and_sizes():
    assert alexnet_feature_size(224) == 6 and alexnet_feature_size(63) == 1 and alexnet_feature_size(62) < 1
    small = alexnet(input_shape=(64, 64, 3), classes=10, width_multiplier=1 / 8)
    assert small.output_shape == (None, 10)
    assert small.get_layer("conv1").filters == 8 and small.get_layer("fc6").units == 512


@pytest.mark.parametrize("depth", sorted(VGG_CONVS_PER_BLOCK))
def test_vgg_pools_after_each_cascade_of_3x3_convolutions(depth):
    model = vgg(depth, **SMALL_VGG)
    names = [layer.name for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    convs = _kinds(model, keras.layers.Conv2D)
    assert all(c.kernel_size == (3, 3) for c in convs)
    assert len(convs) + len(_kinds(model, keras.layers.Dense)) == depth
    assert convs_per_block(model) == VGG_CONVS_PER_BLOCK[depth] and vgg_depth(model) == depth
    for b, n in enumerate(VGG_CONVS_PER_BLOCK[depth], start=1):
        assert names.index(f"block{b}_pool") == names.index(f"block{b}_conv{n}") + 1
    assert model.get_layer("block5_pool").output.shape[1:3] == (1, 1)


def test_vgg_without_top_and_global_pooling():
    model = vgg(11, include_top=False, pooling="avg", input_shape=(64, 64, 3), width_multiplier=1 / 16)
    assert model.output_shape == (None, 32)


@pytest.mark.parametrize("build, message", [
    (lambda: vgg(12), "depth=12"),
    (lambda: vgg(16, width_multiplier=0), "width_multiplier=0"),
    (lambda: vgg(16, input_shape=(16, 16, 3)), "input_shape=(16, 16, 3)"),
    (lambda: vgg(16, pooling="avg"), "pooling='avg'"),
    (lambda: vgg(16, dropout=1.5), "dropout=1.5"),
    (lambda: alexnet(input_shape=(32, 32, 3)), "input_shape=(32, 32, 3)"),
    (lambda: alexnet(classes=0), "classes=0"),
    (lambda: lenet5(subsampling="median"), "subsampling='median'"),
    (lambda: lenet5(input_shape=(8, 8, 1)), "input_shape=(8, 8, 1)"),
])
def test_bad_arguments_are_named(build, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build()


# -- progressive deepening and backbone ------------------------------------------------------------
def test_grow_vgg_copies_every_shared_layer_and_initialises_the_new_ones():
    keras.utils.set_random_seed(1)
    shallow = vgg(11, kernel_initializer=keras.initializers.RandomNormal(0.0, 0.01), **SMALL_VGG)
    deep = grow_vgg(shallow, 13)
    assert vgg_depth(deep) == 13 and deep.output_shape == shallow.output_shape
    shared = {layer.name for layer in shallow.layers if layer.weights}
    for layer in deep.layers:
        if not layer.weights:
            continue
        if layer.name in shared:
            for a, b in zip(layer.get_weights(), shallow.get_layer(layer.name).get_weights()):
                np.testing.assert_array_equal(a, b)
        else:
            assert layer.name in ("block1_conv2", "block2_conv2")
            kernel = layer.get_weights()[0]
            assert 0.005 < kernel.std() < 0.015  # the configured N(0, 0.01), inherited from `shallow`
    assert set(copy_weights_by_name(shallow, deep)) == shared


def test_grow_vgg_chain_and_its_errors():
    shallow = vgg(11, **SMALL_VGG)
    deepest = grow_vgg(grow_vgg(shallow, 16), 19, kernel_initializer="zeros")
    assert vgg_depth(deepest) == 19
    np.testing.assert_array_equal(deepest.get_layer("block5_conv4").get_weights()[0], 0.0)
    with pytest.raises(ValueError, match="depth=11"):
        grow_vgg(deepest, 11)
    with pytest.raises(ValueError, match="weight shapes differ"):
        copy_weights_by_name(vgg(11, **{**SMALL_VGG, "width_multiplier": 1 / 8}), vgg(13, **SMALL_VGG))


def test_vgg_backbone_freezes_a_copy_of_the_convolutions_and_trains_the_head():
    keras.utils.set_random_seed(2)
    trained = vgg(11, **SMALL_VGG)
    before = [w.copy() for w in trained.get_weights()]
    model = vgg_backbone(trained, classes=2, head_units=8)
    backbone = model.get_layer("backbone")
    assert not backbone.trainable
    assert {w.path.split("/")[0] for w in model.trainable_weights} == {"head_fc", "head_predictions"}
    frozen = [w.copy() for w in backbone.get_weights()]
    model.compile("adam", "sparse_categorical_crossentropy")
    x = np.random.default_rng(0).random((16, 32, 32, 1), dtype="float32")
    model.fit(x, np.arange(16) % 2, epochs=2, verbose=0)
    for a, b in zip(backbone.get_weights(), frozen):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(trained.get_weights(), before):  # the trained model itself is untouched
        np.testing.assert_array_equal(a, b)
    assert trained.get_layer("block1_conv1").trainable


# -- saving -----------------------------------------------------------------------------------------
def test_models_load_from_keras_files_in_another_program(tmp_path):
    keras.utils.set_random_seed(3)
    small_vgg = vgg(11, **SMALL_VGG)
    models = {
        "lenet5": lenet5(),
        "alexnet": alexnet(input_shape=(64, 64, 3), classes=10, width_multiplier=1 / 16),
        "vgg13_grown": grow_vgg(small_vgg, 13, kernel_initializer=keras.initializers.RandomNormal(0.0, 0.01)),
        "vgg_backbone": vgg_backbone(small_vgg, classes=3, head_units=4),
    }
    for name, model in models.items():
        x = np.random.default_rng(0).random((2, *model.input_shape[1:]), dtype="float32")
        np.save(tmp_path / f"{name}_x.npy", x)
        np.save(tmp_path / f"{name}_y.npy", keras.ops.convert_to_numpy(model(x)))
        model.save(tmp_path / f"{name}.keras")
    out = assert_ok(run_python(f"""
        import numpy as np, keras, keras_repro
        for name in {sorted(models)!r}:
            model = keras.saving.load_model(r"{tmp_path}/" + name + ".keras", safe_mode=True)
            x = np.load(r"{tmp_path}/" + name + "_x.npy")
            np.testing.assert_allclose(keras.ops.convert_to_numpy(model(x)), np.load(r"{tmp_path}/" + name + "_y.npy"),
                                       rtol=1e-5, atol=1e-6)
            print(name, "ok")
    """))
    assert out.count("ok") == len(models)


def test_builders_run_on_jax():
    out = assert_ok(run_python("""
        import numpy as np, keras
        from keras_repro.models import alexnet, grow_vgg, lenet5, vgg, vgg_backbone
        x = np.zeros((2, 64, 64, 1), "float32")
        small = vgg(11, input_shape=(64, 64, 1), classes=10, width_multiplier=1 / 16)
        models = (lenet5(input_shape=(64, 64, 1)), grow_vgg(small, 19), vgg_backbone(small, classes=2, head_units=4),
                  alexnet(input_shape=(64, 64, 1), classes=10, width_multiplier=1 / 16))
        for model in models:
            assert keras.ops.convert_to_numpy(model(x)).shape[0] == 2
        print(keras.backend.backend())
    """, backend="jax"))
    assert out.strip() == "jax"


def test_one_initializer_instance_does_not_give_layers_identical_weights():
    # Keras initializer instances fix their seed when created: shared naively, every same-shaped layer
    # would start from the same kernel. The builders re-create the initializer for each layer.
    init = keras.initializers.RandomNormal(0.0, 0.01)
    model = vgg(16, kernel_initializer=init, **SMALL_VGG)
    a, b = (model.get_layer(n).get_weights()[0] for n in ("block5_conv1", "block5_conv2"))
    assert a.shape == b.shape and not np.allclose(a, b)
    c1, c2 = (lenet5(kernel_initializer=init).get_layer("fc1").get_weights()[0] for _ in range(2))
    assert not np.allclose(c1, c2)
    grown = grow_vgg(model, 19)
    new_a, new_b = (grown.get_layer(n).get_weights()[0] for n in ("block4_conv4", "block5_conv4"))
    assert not np.allclose(new_a, new_b)


def test_inference_copy_drops_the_optimizer_and_keeps_the_function(tmp_path):
    from keras_repro.models import inference_copy

    keras.utils.set_random_seed(4)
    x = np.random.default_rng(0).random((8, 32, 32, 1), dtype="float32")
    for model in (vgg(11, **SMALL_VGG), vgg_backbone(vgg(11, **SMALL_VGG), classes=2, head_units=4)):
        model.compile("adam", "sparse_categorical_crossentropy")
        model.fit(x, np.arange(8) % 2, epochs=1, verbose=0)
        copy = inference_copy(model)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(copy(x)), keras.ops.convert_to_numpy(model(x)),
                                   rtol=1e-6)
        assert getattr(copy, "optimizer", None) is None
        assert [w.trainable for w in copy.weights] == [w.trainable for w in model.weights]
    full = vgg(11, **SMALL_VGG)
    full.compile("adam", "sparse_categorical_crossentropy")
    full.fit(x, np.arange(8) % 2, epochs=1, verbose=0)
    full.save(tmp_path / "compiled.keras")
    inference_copy(full).save(tmp_path / "copy.keras")
    assert (tmp_path / "copy.keras").stat().st_size < 0.6 * (tmp_path / "compiled.keras").stat().st_size
