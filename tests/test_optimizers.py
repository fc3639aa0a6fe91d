"""keras_repro.optimizers against the notes' formulas, Keras's built-ins and golden values.

References here are written independently in NumPy (float64) from the formulas; the optimisers run
in float32 on real Keras variables. Backends: TensorFlow and JAX each run the same script in a fresh
process (the backend is fixed at the first ``import keras``).
"""
from __future__ import annotations

import json

import keras
import numpy as np
import pytest
from conftest import assert_ok, run_python

import keras_repro  # noqa: F401  (registration)
from keras_repro import optimizers as O

CURVATURES = np.array([1.0, 10.0])
START = np.array([-1.0, 1.0])


def gradient(w):
    """∇ of the quadratic ½ Σ λ_i w_i² with λ = CURVATURES."""
    return CURVATURES * w


def keras_path(optimizer, steps=25, start=START, grad=gradient):
    """The points a Keras optimiser visits on the quadratic, fed exact gradients."""
    point = keras.Variable(np.asarray(start, "float32"))
    path = [np.asarray(start, "float64")]
    for _ in range(steps):
        g = grad(keras.ops.convert_to_numpy(point.value).astype("float64"))
        optimizer.apply([keras.ops.convert_to_tensor(g.astype("float32"))], [point])
        path.append(keras.ops.convert_to_numpy(point.value).astype("float64"))
    return np.array(path)


# --- NumPy references, one per formula of the notes ------------------------------------------------
def momentum_reference(a, b, steps=25, start=START, grad=gradient):
    """Notes 4.3: w_{t+1} = w_t + a v_t; v_{t+1} = b v_t − ∇f(w_t)."""
    w, v, path = start.copy(), np.zeros_like(start), [start.copy()]
    for _ in range(steps):
        w, v = w + a * v, b * v - grad(w)
        path.append(w.copy())
    return np.array(path)


def stale_heavy_ball_reference(a, b, steps=25, start=START, grad=gradient):
    """The derived form of 4.3: w⁺ = w + b(w − w⁻) − a∇f(w⁻), with w_1 = w_0 (v_0 = 0)."""
    path = [start.copy(), start.copy()]
    while len(path) < steps + 1:
        w, w_prev = path[-1], path[-2]
        path.append(w + b * (w - w_prev) - a * grad(w_prev))
    return np.array(path)


def nesterov_lookahead_reference(a, b, steps=25, start=START, grad=gradient):
    """Notes 4.4 computed directly: the gradient at the look-ahead point w_t + a·v_t.

    Returns the notes' iterates w_0, w_1, ..., w_{steps+1}.
    """
    w, v, path = start.copy(), np.zeros_like(start), [start.copy()]
    for _ in range(steps + 1):
        look_ahead = w + a * v
        w, v = w + a * v, b * v - grad(look_ahead)
        path.append(w.copy())
    return np.array(path)


def ema_reference(a, b, steps=25, start=START, grad=gradient):
    """Notes 4.5: EMA_t = (1 − b) g_t + b EMA_{t−1}; w_{t+1} = w_t − a EMA_t."""
    w, m, path = start.copy(), np.zeros_like(start), [start.copy()]
    for _ in range(steps):
        m = (1 - b) * grad(w) + b * m
        w = w - a * m
        path.append(w.copy())
    return np.array(path)


def rprop_reference(lr, steps=25, start=START, grad=gradient, etas=(0.5, 1.2), step_sizes=(1e-6, 50.0)):
    """torch.optim.Rprop's single-tensor loop, transcribed (iRprop−)."""
    eta_minus, eta_plus = etas
    w, prev, step = start.copy(), np.zeros_like(start), np.full_like(start, lr)
    path = [start.copy()]
    for _ in range(steps):
        g = grad(w)
        sign = np.sign(g * prev)
        factor = np.where(sign > 0, eta_plus, np.where(sign < 0, eta_minus, 1.0))
        step = np.clip(step * factor, *step_sizes)
        g = np.where(factor == eta_minus, 0.0, g)
        w = w - np.sign(g) * step
        prev = g
        path.append(w.copy())
    return np.array(path)


def adam_reference(lr, b1=0.9, b2=0.999, eps=1e-7, bias_correction=True, steps=25, start=START, grad=gradient):
    """Notes 4.8 (bias_correction=False) and Kingma & Ba with Keras's epsilon-hat placement."""
    w, m, v, path = start.copy(), np.zeros_like(start), np.zeros_like(start), [start.copy()]
    for t in range(1, steps + 1):
        g = grad(w)
        m, v = (1 - b1) * g + b1 * m, (1 - b2) * g * g + b2 * v
        rate = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) if bias_correction else lr
        w = w - rate * m / (np.sqrt(v) + eps)
        path.append(w.copy())
    return np.array(path)


def rmsprop_reference(lr, rho=0.9, eps=1e-7, steps=25, start=START, grad=gradient):
    """Notes 4.7: w_{t+1} = w_t − a g / sqrt(EMA[g²]) (epsilon inside the root, as Keras)."""
    w, s, path = start.copy(), np.zeros_like(start), [start.copy()]
    for _ in range(steps):
        g = grad(w)
        s = (1 - rho) * g * g + rho * s
        w = w - lr * g / np.sqrt(s + eps)
        path.append(w.copy())
    return np.array(path)


def close(actual, expected, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


# --- formulas --------------------------------------------------------------------------------------
def test_momentum_follows_the_notes_and_its_derived_stale_gradient_form():
    a, b = 0.05, 0.8
    path = keras_path(O.Momentum(a, b))
    close(path, momentum_reference(a, b))
    close(path, stale_heavy_ball_reference(a, b))
    np.testing.assert_array_equal(path[1], path[0])  # v_0 = 0: the first call does not move w


def test_momentum_lags_keras_sgd_momentum_by_one_gradient():
    a, b = 0.05, 0.8
    ours, keras_sgd = keras_path(O.Momentum(a, b)), keras_path(keras.optimizers.SGD(a, momentum=b))
    assert np.abs(ours - keras_sgd).max() > 0.01  # they are different methods ...
    # ... and Keras's is the heavy ball with the fresh gradient: w⁺ = w + b(w − w⁻) − a∇f(w).
    w = [START.copy()]
    w.append(START - a * gradient(START))
    while len(w) < 26:
        w.append(w[-1] + b * (w[-1] - w[-2]) - a * gradient(w[-1]))
    close(keras_sgd, np.array(w))


@pytest.mark.parametrize("b", [0.5, 0.9])
def test_momentum_stability_range_is_a_lambda_below_one_minus_b(b):
    """On f = ½λw² the notes' Momentum converges iff aλ < 1 − b; the heavy ball up to 2(1 + b)."""
    def final(optimizer, steps):
        return abs(keras_path(optimizer, steps, start=np.array([1.0]), grad=lambda w: w)[-1, 0])

    limit = 1 - b
    assert final(O.Momentum(0.5 * limit, b), 600) < 1e-3
    assert not final(O.Momentum(1.1 * limit, b), 600) < 1.0  # grows (or overflows)
    heavy_ball_limit = 2 * (1 + b)
    assert final(keras.optimizers.SGD(1.1 * limit, momentum=b), 600) < 1e-3  # fine for Keras's form
    assert final(keras.optimizers.SGD(0.95 * heavy_ball_limit, momentum=b), 2000) < 1e-3
    assert not final(keras.optimizers.SGD(1.05 * heavy_ball_limit, momentum=b), 600) < 1.0


def test_nesterov_takes_the_gradient_at_the_look_ahead_point():
    a, b = 0.05, 0.8
    path = keras_path(O.Nesterov(a, b))
    notes = nesterov_lookahead_reference(a, b)
    # The variable holds u_t = w_t + a v_t = w_{t+1}: after k calls it is the notes' w_{k+1}.
    close(path, notes[1:])
    np.testing.assert_array_equal(notes[1], notes[0])


def test_nesterov_is_keras_sgd_momentum_and_not_keras_nesterov():
    a, b = 0.05, 0.8
    ours = keras_path(O.Nesterov(a, b), 60)
    close(ours, keras_path(keras.optimizers.SGD(a, momentum=b), 60), rtol=1e-5, atol=1e-6)
    assert np.abs(ours - keras_path(keras.optimizers.SGD(a, momentum=b, nesterov=True), 60)).max() > 1e-3


def test_ema_follows_the_notes_and_is_keras_momentum_with_a_rescaled_rate():
    a, b = 0.1, 0.7
    path = keras_path(O.EMA(a, b), 60)
    close(path, ema_reference(a, b, 60))
    close(path, keras_path(keras.optimizers.SGD(a * (1 - b), momentum=b), 60))


def test_rprop_is_torch_irprop_minus():
    close(keras_path(O.Rprop(0.1), 40), rprop_reference(0.1, 40))
    close(keras_path(O.Rprop(0.3, eta_plus=1.5, eta_minus=0.3, min_step=0.01, max_step=0.4), 40),
          rprop_reference(0.3, 40, etas=(0.3, 1.5), step_sizes=(0.01, 0.4)))


def test_rprop_golden_values():
    """f = ½w², w_0 = 1, initial step 0.1: growth ×1.2 while the sign holds, then one skipped step."""
    path = keras_path(O.Rprop(0.1), 9, start=np.array([1.0]), grad=lambda w: w)[:, 0]
    expected = [1.0, 0.9, 0.78, 0.636, 0.4632, 0.25584, 0.0070080, -0.2915904, -0.2915904, -0.1422912]
    close(path, expected, rtol=0, atol=2e-6)


def test_rprop_first_update_inside_fit_is_the_learning_rate():
    """Regression: on TensorFlow ``fit`` builds the optimiser while tracing; the first step must still be lr."""
    x, y = _data()
    model = _small_model(O.Rprop(0.01))
    before = np.concatenate([w.ravel() for w in model.get_weights()])
    model.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0)
    after = np.concatenate([w.ravel() for w in model.get_weights()])
    close(np.abs(after - before), np.full_like(before, 0.01), rtol=1e-4)


def test_rmsprop_follows_the_notes_and_matches_keras_exactly():
    close(keras_path(O.RMSprop(0.01), 40), rmsprop_reference(0.01, steps=40))
    np.testing.assert_allclose(keras_path(O.RMSprop(0.01, rho=0.8), 40),
                               keras_path(keras.optimizers.RMSprop(0.01, rho=0.8), 40), rtol=0, atol=1e-7)


def test_adam_with_bias_correction_matches_keras_exactly():
    close(keras_path(O.Adam(0.01), 40), adam_reference(0.01, steps=40))
    np.testing.assert_allclose(keras_path(O.Adam(0.01, beta_1=0.8), 40),
                               keras_path(keras.optimizers.Adam(0.01, beta_1=0.8), 40), rtol=0, atol=1e-7)


def test_adam_without_bias_correction_is_the_notes_formula_with_larger_early_steps():
    path = keras_path(O.Adam(0.01, bias_correction=False), 40)
    close(path, adam_reference(0.01, bias_correction=False, steps=40))
    # Golden values for a constant gradient (f = w): step_t = a (1 − b1^t) / (sqrt(1 − b2^t) + ε).
    steps = -np.diff(keras_path(O.Adam(0.01, bias_correction=False), 3, start=np.array([0.0]),
                                grad=lambda w: np.ones_like(w))[:, 0])
    close(steps, [0.0316228, 0.0424958, 0.0495022], rtol=1e-5)
    corrected = -np.diff(keras_path(O.Adam(0.01), 3, start=np.array([0.0]), grad=lambda w: np.ones_like(w))[:, 0])
    close(corrected, [0.01, 0.01, 0.01], rtol=1e-4)


def test_models_train_identically_with_keras_builtins():
    """Full ``fit`` runs: our optimisers and their Keras twins from the same init, 30 minibatch steps."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(96, 5)).astype("float32"), rng.normal(size=(96, 1)).astype("float32")
    pairs = [(O.RMSprop(0.01), keras.optimizers.RMSprop(0.01)),
             (O.Adam(0.01), keras.optimizers.Adam(0.01)),
             (O.Nesterov(0.02, 0.9), keras.optimizers.SGD(0.02, momentum=0.9)),
             (O.EMA(0.2, 0.9), keras.optimizers.SGD(0.2 * (1 - 0.9), momentum=0.9))]
    for ours, theirs in pairs:
        weights = []
        for optimizer in (ours, theirs):
            keras.utils.set_random_seed(1)
            model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1)])
            model.compile(optimizer, "mse")
            model.fit(x, y, batch_size=16, epochs=5, shuffle=False, verbose=0)
            weights.append(np.concatenate([w.ravel() for w in model.get_weights()]))
        np.testing.assert_allclose(weights[0], weights[1], rtol=0, atol=1e-5, err_msg=type(ours).__name__)


# --- arguments and serialisation ------------------------------------------------------------------
@pytest.mark.parametrize("make, text", [
    (lambda: O.Momentum(learning_rate=-0.1), "learning_rate=-0.1"),
    (lambda: O.Momentum(momentum=1.0), "momentum=1.0"),
    (lambda: O.Nesterov(momentum=-0.2), "momentum=-0.2"),
    (lambda: O.Nesterov(learning_rate=0.0), "learning_rate=0.0"),
    (lambda: O.EMA(beta=1.5), "beta=1.5"),
    (lambda: O.Rprop(learning_rate=-1.0), "learning_rate=-1.0"),
    (lambda: O.Rprop(eta_minus=1.0), "eta_minus=1.0"),
    (lambda: O.Rprop(eta_minus=0.0), "eta_minus=0.0"),
    (lambda: O.Rprop(eta_plus=0.9), "eta_plus=0.9"),
    (lambda: O.Rprop(min_step=0.0), "min_step=0.0"),
    (lambda: O.Rprop(min_step=0.1, max_step=0.01), "max_step=0.01"),
    (lambda: O.RMSprop(rho=1.0), "rho=1.0"),
    (lambda: O.RMSprop(epsilon=-1e-7), "epsilon=-1e-07"),
    (lambda: O.Adam(beta_1=1.0), "beta_1=1.0"),
    (lambda: O.Adam(beta_2=-0.5), "beta_2=-0.5"),
    (lambda: O.Adam(learning_rate=-3e-4), "learning_rate=-0.0003"),
    (lambda: O.Adam(bias_correction="no"), "bias_correction='no'"),
])
def test_invalid_arguments_name_the_value(make, text):
    with pytest.raises(ValueError, match=f"Received: .*{text.replace('(', '[(]').replace('.', '[.]')}"):
        make()


ALL = [O.Momentum(0.03, 0.8), O.Nesterov(0.03, 0.8), O.EMA(0.1, 0.7), O.Rprop(0.02, eta_plus=1.3),
       O.RMSprop(0.005, rho=0.8), O.Adam(0.002, bias_correction=False)]
IDS = [type(o).__name__ for o in ALL]


@pytest.mark.parametrize("optimizer", ALL, ids=IDS)
def test_config_round_trip(optimizer):
    config = optimizer.get_config()
    clone = type(optimizer).from_config(config)
    assert clone.get_config() == config
    revived = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert type(revived) is type(optimizer) and revived.get_config() == config
    assert keras.saving.get_registered_name(type(optimizer)) == f"keras_repro>{type(optimizer).__name__}"


def _small_model(optimizer):
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6, activation="tanh"), keras.layers.Dense(1)])
    model.compile(type(optimizer).from_config(optimizer.get_config()), "mse")
    return model


def _data():
    rng = np.random.default_rng(5)
    return rng.normal(size=(32, 4)).astype("float32"), rng.normal(size=(32, 1)).astype("float32")


@pytest.mark.parametrize("optimizer", ALL, ids=IDS)
def test_saved_model_continues_training_identically(optimizer, tmp_path):
    x, y = _data()
    model = _small_model(optimizer)
    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded.optimizer) is type(optimizer)
    assert int(loaded.optimizer.iterations) == 8
    for a, b in zip(model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))
    for m in (model, loaded):
        m.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
    # and the continuation is not trivially equal to a fresh optimiser's
    fresh = _small_model(optimizer)
    fresh.set_weights(keras.saving.load_model(path, safe_mode=True).get_weights())
    fresh.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    assert max(np.abs(a - b).max() for a, b in zip(fresh.get_weights(), loaded.get_weights())) > 1e-6


def test_saved_models_load_in_a_separate_program(tmp_path):
    x, y = _data()
    for optimizer in ALL:
        model = _small_model(optimizer)
        model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
        model.save(tmp_path / f"{type(optimizer).__name__}.keras")
    out = assert_ok(run_python(f"""
        import json, pathlib, keras, keras_repro
        found = {{}}
        for path in sorted(pathlib.Path({str(tmp_path)!r}).glob("*.keras")):
            model = keras.saving.load_model(path, safe_mode=True)
            found[path.stem] = [type(model.optimizer).__module__, int(model.optimizer.iterations)]
        print(json.dumps(found))
    """, "tensorflow"))
    found = json.loads(out.strip().splitlines()[-1])
    assert found == {name: [type(o).__module__, 4] for name, o in zip(IDS, ALL)}


# --- backends --------------------------------------------------------------------------------------
BACKEND_SCRIPT = """
import json, keras, numpy as np
import keras_repro
from keras_repro import optimizers as O
from keras_repro.measures import descent, surfaces
surface = surfaces.Quadratic([1.0, 10.0])
runs = {
    "Momentum": O.Momentum(0.05, 0.8), "Nesterov": O.Nesterov(0.05, 0.8), "EMA": O.EMA(0.1, 0.7),
    "Rprop": O.Rprop(0.1), "RMSprop": O.RMSprop(0.01), "Adam": O.Adam(0.01),
    "Adam_notes": O.Adam(0.01, bias_correction=False), "keras_SGD_momentum": keras.optimizers.SGD(0.05, momentum=0.8),
}
paths = {name: descent.descend(surface, opt, [-1.0, 1.0], 25).tolist() for name, opt in runs.items()}
rng = np.random.default_rng(5)
x, y = rng.normal(size=(32, 4)).astype("float32"), rng.normal(size=(32, 1)).astype("float32")
round_trip = {}
for name, opt in runs.items():
    if name.startswith("keras"):
        continue
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6, activation="tanh"), keras.layers.Dense(1)])
    model.compile(type(opt).from_config(opt.get_config()), "mse")
    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    model.save(f"{TMP}/{name}.keras")
    loaded = keras.saving.load_model(f"{TMP}/{name}.keras", safe_mode=True)
    for m in (model, loaded):
        m.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    round_trip[name] = max(float(np.abs(a - b).max()) for a, b in zip(model.get_weights(), loaded.get_weights()))
print(json.dumps({"backend": keras.backend.backend(), "paths": paths, "round_trip": round_trip}))
"""


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_every_optimiser_runs_on_the_backend(backend, tmp_path):
    out = assert_ok(run_python(f"TMP = {str(tmp_path)!r}\n" + BACKEND_SCRIPT, backend))
    result = json.loads(out.strip().splitlines()[-1])
    assert result["backend"] == backend
    paths = {k: np.array(v) for k, v in result["paths"].items()}
    close(paths["Momentum"], momentum_reference(0.05, 0.8))
    close(paths["Nesterov"], nesterov_lookahead_reference(0.05, 0.8)[1:])
    close(paths["Nesterov"], paths["keras_SGD_momentum"])
    close(paths["EMA"], ema_reference(0.1, 0.7))
    close(paths["Rprop"], rprop_reference(0.1))
    close(paths["RMSprop"], rmsprop_reference(0.01))
    close(paths["Adam"], adam_reference(0.01))
    close(paths["Adam_notes"], adam_reference(0.01, bias_correction=False))
    assert set(result["round_trip"]) == {"Momentum", "Nesterov", "EMA", "Rprop", "RMSprop", "Adam", "Adam_notes"}
    assert max(result["round_trip"].values()) <= 1e-6, result["round_trip"]


def test_make_optimizer_from_a_config_name():
    from keras_repro.optimizers import make_optimizer

    adam = make_optimizer("adam", 1e-3)
    assert isinstance(adam, keras.optimizers.Adam) and float(adam.learning_rate) == pytest.approx(1e-3)
    sgd = make_optimizer("sgd", 0.01, weight_decay=5e-4)
    assert isinstance(sgd, keras.optimizers.SGD) and sgd.momentum == 0.9 and sgd.weight_decay == 5e-4
    assert make_optimizer("sgd", 0.01).weight_decay is None
    with pytest.raises(ValueError, match="Received: optimizer='adamw'"):
        make_optimizer("adamw", 0.01)
