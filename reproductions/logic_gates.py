"""One neuron implements NOT, AND and OR; XOR is composed from them as (~x & y) | (x & ~y).

Claims C1.2 and C1.4. For each gate a single sigmoid neuron is trained on the truth table (BCE, full
batch, several seeds); its weights are then copied into a step neuron ``f(z) = 1 if z > 0 else 0`` and
checked on the truth table. The trained NOT, AND and OR neurons are then wired into a three-layer
step network computing ``(~x & y) | (x & ~y)``, built from Keras layers, saved as ``.keras``.

Command: ``repro run logic_gates``
"""
from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd

from keras_repro.measures.boolean import exact_accuracy, step_model, train_sigmoid_neuron, truth_table
from keras_repro.suite.claims import Claim, equals
from keras_repro.suite.config import ReproConfig, setting
from keras_repro.suite.registry import reproduction


@dataclass
class Config(ReproConfig):
    seeds: int = setting(10, "initial weights tried per gate", ge=1)
    steps: int = setting(1000, "full-batch Adam steps of each sigmoid neuron", ge=1)
    learning_rate: float = setting(0.1, "Adam learning rate", gt=0)
    PROFILES = {"smoke": {"seeds": 2, "steps": 200}, "full": {"seeds": 50, "steps": 3000}}
    DRY_RUN = {"seeds": 2, "steps": 20}  # --dry-run: budgets only


CLAIMS = [
    Claim("C1.2", "One neuron implements NOT, AND and OR.",
          rule=equals("min_truth_table_accuracy", 1.0),
          note="Weights come from a sigmoid neuron trained on the table (BCE); the step neuron reuses them: "
               "sigmoid(z) > 0.5 exactly when z > 0."),
    Claim("C1.4", "x XOR y = (~x & y) | (x & ~y): XOR is composed of NOT, AND and OR neurons.",
          rule=equals("xor_truth_table_accuracy", 1.0)),
]


def xor_from_gates(not_w, not_b, and_w, and_b, or_w, or_b) -> keras.Model:
    """Wire trained gates into (~x & y) | (x & ~y) with three layers of step neurons.

    Layer 1 outputs [x, y, ~x, ~y] (x and y passed on by identity step neurons, z = x − 0.5);
    layer 2 holds two AND neurons reading (~x, y) and (x, ~y); layer 3 is the OR neuron.
    """
    w1 = np.array([[1, 0, not_w, 0], [0, 1, 0, not_w]], dtype=np.float32)
    b1 = np.array([-0.5, -0.5, not_b, not_b], dtype=np.float32)
    w2 = np.zeros((4, 2), dtype=np.float32)
    w2[2, 0], w2[1, 0] = and_w  # AND(~x, y)
    w2[0, 1], w2[3, 1] = and_w  # AND(x, ~y)
    b2 = np.array([and_b, and_b], dtype=np.float32)
    w3 = np.asarray(or_w, dtype=np.float32).reshape(2, 1)
    return step_model([(w1, b1), (w2, b2), (w3, np.array([or_b], dtype=np.float32))], 2, "xor_from_gates")


@reproduction("logic_gates", title="NOT, AND, OR as single neurons; XOR composed from them", claims=CLAIMS,
              config=Config)
def run(ctx):
    cfg = ctx.config
    rows, trained = [], {}
    for gate in ("NOT", "AND", "OR"):
        x, y = truth_table(gate)
        for k in range(cfg.seeds):
            neuron = train_sigmoid_neuron(ctx.runtime, x, y, steps=cfg.steps, learning_rate=cfg.learning_rate,
                                          seed=ctx.seed_for(len(gate), k))
            w, b = neuron.get_layer("neuron").get_weights()
            step = step_model([(w, b)], x.shape[1], f"{gate.lower()}_step")
            rows.append({"gate": gate, "seed_index": k, "weights": np.round(w.ravel(), 3).tolist(),
                         "bias": round(float(b[0]), 3), "sigmoid_accuracy": exact_accuracy(neuron, x, y),
                         "step_accuracy": exact_accuracy(step, x, y)})
            trained.setdefault(gate, (w.ravel(), float(b[0])))
        ctx.progress(f"{gate}: {cfg.seeds} seeds trained")
    table = pd.DataFrame(rows)
    ctx.table("gates", table, keys=["gate", "seed_index"])
    ctx.measure("C1.2", min_truth_table_accuracy=float(table["step_accuracy"].min()),
                seeds_per_gate=cfg.seeds)

    (not_w, not_b), (and_w, and_b), (or_w, or_b) = trained["NOT"], trained["AND"], trained["OR"]
    xor_net = xor_from_gates(float(not_w[0]), not_b, and_w, and_b, or_w, or_b)
    x, y = truth_table("XOR")
    predicted = xor_net.predict(x, verbose=0).ravel().astype(int)
    ctx.table("xor_from_gates", pd.DataFrame({"x": x[:, 0].astype(int), "y": x[:, 1].astype(int),
                                              "expected": y, "network": predicted}), keys=["x", "y"])
    ctx.measure("C1.4", xor_truth_table_accuracy=float(np.mean(predicted == y)))
    ctx.save_model("xor_from_gates", xor_net)
