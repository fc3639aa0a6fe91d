"""reproductions/adam_sweep.py: its rule, including cases where it must fail."""
from __future__ import annotations

from reproductions import adam_sweep


def test_adam_sweep_rule():
    (claim,) = adam_sweep.CLAIMS
    adam = {"lenet_gap_at_3e-4": 0.005, "mlp_gap_at_3e-4": 0.0, "custom_vs_keras_max_abs_diff": 0.0}
    assert claim.rule(adam) and not claim.rule({**adam, "mlp_gap_at_3e-4": 0.039})
    assert not claim.rule({**adam, "custom_vs_keras_max_abs_diff": 1e-3})
