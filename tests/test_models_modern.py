"""GoogLeNet, ResNet, ResNeXt builders: sizes against reference implementations, shapes, saving."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from conftest import assert_ok, run_python
from keras_repro.models import googlenet, resnet, resnet_cifar, resnext, trainable_parameters


@pytest.mark.parametrize("depth, expected", [(18, 11_689_512), (34, 21_797_672), (50, 25_557_032)])
def test_resnet_matches_torchvision_counts(depth, expected):
    assert trainable_parameters(resnet(depth)) == expected  # torchvision's num_params (no BN moving statistics)


def test_resnet50_with_conv_biases_matches_keras_applications():
    ours = resnet(50, conv_bias=True)
    reference = keras.applications.ResNet50(weights=None)
    assert ours.count_params() == reference.count_params() == 25_636_712
    convolutions = [layer for layer in ours.layers if isinstance(layer, keras.layers.Conv2D)]
    assert ours.count_params() - resnet(50).count_params() == sum(layer.filters for layer in convolutions)


def test_resnext50_and_googlenet_match_reference_counts():
    assert trainable_parameters(resnext(50)) == 25_028_904  # torchvision resnext50_32x4d
    assert googlenet().count_params() == 6_998_552  # BVLC Caffe GoogLeNet without auxiliary classifiers


def test_plain_network_has_no_shortcuts_and_fewer_parameters():
    res, plain = resnet(18, width_multiplier=0.25), resnet(18, width_multiplier=0.25, residual=False)
    assert any(isinstance(layer, keras.layers.Add) for layer in res.layers)
    assert not any(isinstance(layer, keras.layers.Add) for layer in plain.layers)
    assert plain.count_params() < res.count_params()  # no 1×1 projection shortcuts
    assert plain.name == "plain18" and res.name == "resnet18"


def test_one_resnet_runs_on_any_input_size_and_pools_input_over_32():
    model = resnet(18, input_shape=(None, None, 3), include_top=False, width_multiplier=0.125)
    for side in (64, 96, 128, 224):
        out = model(np.zeros((1, side, side, 3), "float32"))
        assert tuple(out.shape) == (1, side // 32, side // 32, 64)


@pytest.mark.parametrize("depth, n", [(8, 1), (20, 3), (56, 9)])
def test_cifar_resnet_depth_counts_weight_layers(depth, n):
    model = resnet_cifar(depth, width_multiplier=0.5)
    # weight layers on the main path: the first conv, 2 per block, the dense layer (projections aside)
    main = [layer for layer in model.layers if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))
            and not layer.name.endswith("_0_conv")]
    assert len(main) == depth == 6 * n + 2
    assert tuple(model.output.shape) == (None, 10)


def test_googlenet_reductions_and_auxiliary_outputs():
    with_red, without = googlenet(), googlenet(reductions=False)
    assert not any("reduce" in layer.name and layer.name.startswith("inception") for layer in without.layers)
    assert without.count_params() > with_red.count_params()
    aux = googlenet(aux_classifiers=True, width_multiplier=0.25, classes=7)
    assert [tuple(o.shape) for o in aux.outputs] == [(None, 7)] * 3
    assert aux.output_names == ["predictions", "aux1", "aux2"]


@pytest.mark.parametrize("call, fragment", [
    (lambda: resnet(42), "depth must be one of"),
    (lambda: resnext(34), "depth must be 26, 50, 101 or 152"),
    (lambda: resnext(50, residual=False), "ResNeXt is residual"),
    (lambda: resnext(50, colour=True), "unexpected keyword"),
    (lambda: resnet_cifar(21), r"6n \+ 2"),
    (lambda: googlenet(include_top=False, aux_classifiers=True), "aux_classifiers=True needs include_top"),
    (lambda: resnet(18, width_multiplier=0), "width_multiplier must be > 0"),
])
def test_bad_arguments_are_named(call, fragment):
    with pytest.raises((ValueError, TypeError), match=fragment):
        call()


def test_modern_models_round_trip_through_keras_files(tmp_path):
    code = f"""
        import numpy as np, keras
        import keras_repro
        from keras_repro.models import googlenet, resnext, resnet_cifar
        x = np.random.default_rng(0).normal(size=(2, 64, 64, 3)).astype("float32")
        for i, model in enumerate([resnext(50, width_multiplier=0.125, cardinality=4, input_shape=(64, 64, 3),
                                           classes=5),
                                   googlenet(width_multiplier=0.125, input_shape=(64, 64, 3), classes=5),
                                   resnet_cifar(8, input_shape=(64, 64, 3), classes=5)]):
            path = r"{tmp_path}" + f"/m{{i}}.keras"
            model.save(path)
            loaded = keras.saving.load_model(path)
            np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)
            model.compile("sgd", "sparse_categorical_crossentropy")
            model.fit(x, np.array([0, 1]), epochs=1, verbose=0)  # grouped convolutions train on this CPU
        print("ok")
    """
    assert assert_ok(run_python(code, timeout=240)).strip().endswith("ok")
