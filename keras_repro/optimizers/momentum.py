"""Momentum and Nesterov exactly as the notes write them (section 4.3 and 4.4).

Both keep a velocity ``v`` (``v_0 = 0``) and move by ``a·v``; they differ in where the gradient is
taken. Written out as recurrences in ``w`` alone (``λ``: a curvature of a quadratic) they are

=====================  =================================================  ===========================
notes                  recurrence                                         stable on ``½λw²`` iff
=====================  =================================================  ===========================
Momentum (4.3)         ``w⁺ = w + b(w − w⁻) − a∇f(w⁻)``                   ``0 < aλ < 1 − b``
Nesterov (4.4)         ``w⁺ = w + b(w − w⁻) − a∇f(w)``                    ``0 < aλ < 2(1 + b)``
=====================  =================================================  ===========================

The second line is Polyak's heavy ball, i.e. ``keras.optimizers.SGD(learning_rate=a, momentum=b)``;
the first is the same method fed a gradient one step old. Derivation: from ``w_{t+1} = w_t + a·v_t``,
``a·v_t = w_{t+1} − w_t`` and ``a·v_{t+1} = b·a·v_t − a∇f(·)``, so
``w_{t+2} − w_{t+1} = b(w_{t+1} − w_t) − a∇f(·)``, where ``·`` is ``w_t`` for Momentum and the
look-ahead point ``w_t + a·v_t = w_{t+1}`` for Nesterov. On a quadratic the error along an
eigenvector obeys ``z² − (1 + b)z + (b + aλ) = 0`` (Momentum) and ``z² − (1 + b − aλ)z + b = 0``
(Nesterov); the Schur–Cohn conditions on these polynomials give the stability ranges above. At the
usual ``b = 0.9`` the notes' Momentum tolerates a 38× smaller learning rate than the heavy ball.
Worse, it cannot accelerate: along a flat direction (curvature ``μ``) its error shrinks per step by
about ``aμ/(1 − b) < μ/λ_max`` when overdamped and by ``(1 − b)/2 < 2μ/λ_max`` at critical damping,
i.e. never faster than plain gradient descent at its best step (``≈ 2μ/λ_max``), whatever ``a, b``.
"""
from __future__ import annotations

import keras
from keras import ops

from keras_repro.optimizers._checks import check_decay, check_learning_rate


class _VelocityOptimizer(keras.optimizers.Optimizer):
    """What Momentum and Nesterov share: ``a`` (``learning_rate``), ``b`` (``momentum``), a velocity per variable."""

    def __init__(self, learning_rate=0.01, momentum=0.9, name=None, **kwargs):
        check_learning_rate(learning_rate)
        check_decay("momentum", momentum)
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.momentum = momentum

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.velocities = self.add_optimizer_variables(variables, "velocity")

    def decayed_velocity_minus(self, gradient, variable):
        """Assign ``v ← b·v − g`` for ``variable``'s velocity and return the velocity variable."""
        velocity = self.velocities[self._get_variable_index(variable)]
        self.assign(velocity, ops.subtract(ops.multiply(ops.cast(self.momentum, variable.dtype), velocity), gradient))
        return velocity

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum}


@keras.saving.register_keras_serializable(package="keras_repro")
class Momentum(_VelocityOptimizer):
    """Momentum as the notes write it (4.3): the step uses the velocity *before* this gradient.

    ```python
    # w_{t+1} = w_t + a * v_t
    # v_{t+1} = b * v_t - grad f(w_t)          (v_0 = 0)
    step = learning_rate * velocity
    velocity = momentum * velocity - gradient
    w = w + step
    ```

    Each gradient moves ``w`` one call later than in ``keras.optimizers.SGD(momentum=...)`` (the
    first call does not move ``w`` at all), which shrinks the range of stable learning rates from
    ``aλ < 2(1 + b)`` to ``aλ < 1 − b``; see the module docstring.

    Args:
        learning_rate: ``a``, a float > 0, a schedule or a callable. Defaults to ``0.01``.
        momentum: ``b``, the velocity's decay, in ``[0, 1)``. Defaults to ``0.9``.
        **kwargs: the base optimiser's keyword arguments (``clipnorm``, ``name``, ...).
    """

    def update_step(self, gradient, variable, learning_rate):
        learning_rate = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        step = ops.multiply(learning_rate, self.velocities[self._get_variable_index(variable)])
        self.decayed_velocity_minus(gradient, variable)
        self.assign_add(variable, step)


@keras.saving.register_keras_serializable(package="keras_repro")
class Nesterov(_VelocityOptimizer):
    """Nesterov as the notes write it (4.4): the gradient at the look-ahead point ``w_t + a·v_t``.

    ```python
    # w_{t+1} = w_t + a * v_t
    # v_{t+1} = b * v_t - grad f(w_t + a * v_t)      (v_0 = 0)
    # The variable holds the look-ahead point u_t = w_t + a * v_t, so Keras's gradient
    # (taken at the variable) is grad f(w_t + a * v_t). Then
    # u_{t+1} = w_{t+1} + a * v_{t+1} = u_t + a * v_{t+1}:
    velocity = momentum * velocity - gradient
    u = u + learning_rate * velocity
    ```

    Reparametrisation: with ``u_t = w_t + a·v_t`` (so ``u_0 = w_0``), the notes' recurrence becomes
    ``v_{t+1} = b·v_t − ∇f(u_t)``, ``u_{t+1} = u_t + a·v_{t+1}``. Since ``u_t = w_{t+1}``, the
    variable after ``k`` calls is the notes' ``w_{k+1}``. The look-ahead point of the notes is
    therefore the next iterate itself, and the method is Polyak's heavy ball — the same update as
    ``keras.optimizers.SGD(learning_rate=a, momentum=b)`` (velocity ``a·v``), not Keras's
    ``SGD(nesterov=True)``, whose look-ahead is the momentum part ``b·(a·v)`` alone.

    Args:
        learning_rate: ``a``, a float > 0, a schedule or a callable. Defaults to ``0.01``.
        momentum: ``b``, the velocity's decay, in ``[0, 1)``. Defaults to ``0.9``.
        **kwargs: the base optimiser's keyword arguments.
    """

    def update_step(self, gradient, variable, learning_rate):
        learning_rate = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        velocity = self.decayed_velocity_minus(gradient, variable)
        self.assign_add(variable, ops.multiply(learning_rate, velocity))
