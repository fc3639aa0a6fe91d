"""reproductions/adam_sweep.py: its rule, including cases where it must fail."""
from __future__ import annotations

from reproductions import adam_sweep


def test_adam_sweep_rule():
    (claim,) = adam_sweep.CLAIMS
    adam = {"lenet_gap_at_3e-4": 0.005, "mlp_gap_at_3e-4": 0.0, "custom_vs_keras_max_abs_diff": 0.0}
    assert claim.rule(adam) and not claim.rule({**adam, "mlp_gap_at_3e-4": 0.039})
    assert not claim.rule({**adam, "custom_vs_keras_max_abs_diff": 1e-3})


def test_a_lag_of_3e4_that_has_not_fit_the_training_set_is_inconclusive():
    from keras_repro.suite import claims

    (claim,) = adam_sweep.CLAIMS
    lagging = {"lenet_gap_at_3e-4": 0.022, "mlp_gap_at_3e-4": 0.039, "custom_vs_keras_max_abs_diff": 0.0}
    fitted = {"lenet_train_accuracy_at_3e-4": 1.0, "mlp_train_accuracy_at_3e-4": 0.995}
    assert claims.evaluate(claim, {**lagging, **fitted}, profile="default").verdict == claims.NOT_REPRODUCED
    short = claims.evaluate(claim, {**lagging, **fitted, "lenet_train_accuracy_at_3e-4": 0.95}, profile="default")
    assert (short.verdict, short.reason) == (claims.INCONCLUSIVE, claims.PRECONDITION_UNMET)
    assert "lenet_train_accuracy_at_3e-4=0.95" in short.note
