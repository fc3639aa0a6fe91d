"""Measurements behind the claims of sections 1 and 2, checked on known inputs."""
import keras
import numpy as np
import pytest
from click.testing import CliRunner
from conftest import assert_ok, run_python

from keras_repro.activations import heaviside
from keras_repro.measures.boolean import exact_accuracy, separability_certificate, truth_table
from keras_repro.models import mlp, sigmoid_sum


def test_heaviside_is_the_notes_step():
    out = keras.ops.convert_to_numpy(heaviside(keras.ops.convert_to_tensor([-1.0, 0.0, 1e-7, 3.0])))
    assert out.tolist() == [0.0, 0.0, 1.0, 1.0]


@pytest.mark.parametrize("gate,separable", [("AND", True), ("OR", True), ("XOR", False)])
def test_lp_certificate_tells_separable_from_not(gate, separable):
    x, y = truth_table(gate)
    cert = separability_certificate(x, y)
    assert cert.separable is separable
    if not separable:
        assert cert.farkas is not None and cert.farkas_residual < 1e-9
        assert np.allclose(cert.farkas, 0.25)  # XOR's only witness: equal weight on all four points


def test_hand_wired_xor_networks_are_exact():
    from reproductions.logic_gates import xor_from_gates
    from reproductions.xor import three_neuron_xor

    x, y = truth_table("XOR")
    assert exact_accuracy(three_neuron_xor(), x, y) == 1.0
    # textbook gate weights: NOT(a) = f(-a + 0.5), AND = f(a + b - 1.5), OR = f(a + b - 0.5)
    net = xor_from_gates(-1.0, 0.5, np.array([1.0, 1.0]), -1.5, np.array([1.0, 1.0]), -0.5)
    assert exact_accuracy(net, x, y) == 1.0
    # and a wrong wiring is caught: OR in place of the final gate's bias turns it into AND
    wrong = xor_from_gates(-1.0, 0.5, np.array([1.0, 1.0]), -1.5, np.array([1.0, 1.0]), -1.5)
    assert exact_accuracy(wrong, x, y) == 0.5


def test_hyperplane_side_matches_a_hand_case():
    from reproductions.neuron_hyperplane import side_of_hyperplane, step_neuron

    w, b = np.array([1.0, 0.0], dtype=np.float32), -1.0  # plane x0 = 1, w points to +x0
    x = np.array([[2.0, 5.0], [0.0, -3.0]], dtype=np.float32)
    assert side_of_hyperplane(x, w, b).tolist() == [1, 0]
    assert step_neuron(w, b).predict(x, verbose=0).ravel().tolist() == [1.0, 0.0]


def test_composed_linear_layers_equal_the_network():
    from reproductions.linear_collapse import compose_linear_layers

    model = mlp(4, (6, 5), 2, activation="linear")
    x = np.random.default_rng(0).normal(size=(10, 4)).astype(np.float32)
    w, b = compose_linear_layers([l for l in model.layers if isinstance(l, keras.layers.Dense)])
    assert w.shape == (4, 2)
    np.testing.assert_allclose(x @ w + b, model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    relu = mlp(4, (6, 5), 2, activation="relu")
    w2, b2 = compose_linear_layers([l for l in relu.layers if isinstance(l, keras.layers.Dense)])
    assert not np.allclose(x @ w2 + b2, relu.predict(x, verbose=0), atol=1e-3)  # composition needs linearity


def test_connected_components_of_a_mask():
    from reproductions.decision_regions import count_components

    mask = np.zeros((10, 10), dtype=bool)
    mask[1:3, 1:3] = True
    assert count_components(mask) == 1
    mask[6:8, 6:9] = True
    assert count_components(mask) == 2


def test_null_space_of_a_wide_problem():
    from reproductions.least_squares import null_space_of_gram

    x = np.random.default_rng(1).normal(size=(5, 12))
    _, nulls = null_space_of_gram(x)
    assert nulls.shape == (12, 7)
    assert np.abs(x @ nulls).max() < 1e-10


def test_layer_null_vectors_annihilate_inputs_with_bias():
    from reproductions.layer_null_space import null_vectors

    rng = np.random.default_rng(2)
    inputs = rng.normal(size=(6, 3)) @ rng.normal(size=(3, 8))  # 6 examples spanning 3 of 8 dimensions
    nulls = null_vectors(inputs)
    assert nulls.shape[1] == 9 - 4  # 8 inputs + bias, rank 3 + bias direction
    augmented = np.hstack([inputs, np.ones((6, 1))])
    assert np.abs(augmented @ nulls).max() < 1e-9


def test_sigmoid_sum_shape_and_validation():
    model = sigmoid_sum(8, domain=(-2, 2), seed=3)
    assert model.count_params() == 8 * 3 + 1
    with pytest.raises(ValueError, match="n_units=0"):
        sigmoid_sum(0)
    with pytest.raises(ValueError, match="domain"):
        sigmoid_sum(3, domain=(1, 1))


def test_saved_step_network_loads_in_a_separate_program(tmp_path):
    from reproductions.xor import three_neuron_xor

    path = tmp_path / "xor.keras"
    three_neuron_xor().save(path)
    out = assert_ok(run_python(f"""
        import keras, numpy as np
        import keras_repro
        model = keras.saving.load_model({str(path)!r}, safe_mode=True)
        x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype="float32")
        print(model.predict(x, verbose=0).ravel().astype(int).tolist())
    """))
    assert out.strip().splitlines()[-1] == "[0, 1, 1, 0]"


def test_same_seed_gives_the_same_numbers(tmp_path):
    from keras_repro.suite import registry, runner

    repro = registry.get("layer_null_space")
    tables = []
    for out in ("a", "b"):
        outcome = runner.run_reproduction(repro, profile="smoke", seed=11, out=tmp_path / out, log=lambda m: None)
        tables.append((outcome.path / "perturbations.csv").read_text())
    assert tables[0] == tables[1]


def test_a_section1_reproduction_runs_under_jax(tmp_path):
    proc = run_python(f"""
        from click.testing import CliRunner
        from keras_repro.cli import main
        r = CliRunner().invoke(main, ["run", "xor", "--profile", "smoke", "--backend", "jax", "--out", {str(tmp_path)!r}])
        print(r.output)
        raise SystemExit(r.exit_code)
    """, backend="jax")
    assert_ok(proc)
    import json

    (folder,) = (tmp_path / "xor").iterdir()
    assert json.loads((folder / "run.json").read_text())["backend"] == "jax"


def test_cli_backend_mismatch_is_a_clear_error():
    from keras_repro.cli import main

    other = "jax" if keras.backend.backend() != "jax" else "tensorflow"
    result = CliRunner().invoke(main, ["run", "xor", "--backend", other])
    assert result.exit_code == 1 and "already running" in result.output
