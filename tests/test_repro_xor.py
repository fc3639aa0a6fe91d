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


def test_c15_rate_is_judged_on_its_interval():
    from keras_repro.suite import claims
    from reproductions.xor import CLAIMS

    claim = next(c for c in CLAIMS if c.id == "C1.5")

    def verdict(solved, seeds):
        flags = [True] * solved + [False] * (seeds - solved)
        return claims.evaluate(claim, {"three_neuron_accuracy": 1.0, "seeds": seeds, "solved_per_seed": flags,
                                       "fraction_seeds_100_percent": solved / seeds}, profile="default")

    assert verdict(17, 20).verdict == claims.REPRODUCED
    short = verdict(13, 20)  # 0.65: the exact 95% interval [0.41, 0.85] still holds 0.8
    assert (short.verdict, short.reason) == (claims.INCONCLUSIVE, claims.UNDERPOWERED) and "seeds would decide" in short.note
    ruled_out = verdict(24, 40)  # 0.6 of 40: interval [0.43, 0.75] lies below 0.8
    assert (ruled_out.verdict, ruled_out.reason) == (claims.NOT_REPRODUCED, claims.CLAIM_CONTRADICTED)


def test_mlp_gives_each_layer_its_own_seeded_initializer():
    import keras

    from keras_repro.models import mlp
    from reproductions.xor import train_221  # noqa: F401  (the reproduction's builder uses this path)

    shared = mlp(2, (2,), 1, kernel_initializer=keras.initializers.RandomNormal(seed=3))
    w_hidden, w_out = shared.layers[1].get_weights()[0], shared.layers[2].get_weights()[0]
    assert np.allclose(w_out.ravel(), w_hidden.ravel()[:2])  # the trap: one seeded initializer repeats itself
    own = mlp(2, (2,), 1, kernel_initializer=[keras.initializers.RandomNormal(seed=s) for s in (3, 4)])
    w_hidden, w_out = own.layers[1].get_weights()[0], own.layers[2].get_weights()[0]
    assert not np.allclose(w_out.ravel(), w_hidden.ravel()[:2])
