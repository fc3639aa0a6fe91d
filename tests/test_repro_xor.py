"""reproductions/xor.py: its helpers on known inputs, and its rules
(including cases where they must fail)."""
from __future__ import annotations

import numpy as np
from conftest import assert_ok, run_python

from keras_repro.measures.boolean import exact_accuracy, truth_table


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
