"""Argument checks shared by the optimisers: each message names the bad value (``Received: rho=1.5``)."""
from __future__ import annotations


def check_learning_rate(learning_rate) -> None:
    """A number must be > 0; a schedule or a callable is checked by Keras itself."""
    if isinstance(learning_rate, (int, float)) and not isinstance(learning_rate, bool) and not learning_rate > 0:
        raise ValueError(f"learning_rate must be > 0. Received: learning_rate={learning_rate!r}")


def check_decay(name: str, value) -> None:
    """A decay factor (momentum, beta, rho) must be a number in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"{name} must be a float in [0, 1). Received: {name}={value!r}")


def check_epsilon(epsilon) -> None:
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not epsilon >= 0:
        raise ValueError(f"epsilon must be a float >= 0. Received: epsilon={epsilon!r}")
