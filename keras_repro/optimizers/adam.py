"""Adam (notes, section 4.8), with the notes' formula as ``bias_correction=False``."""
from __future__ import annotations

import keras
from keras import ops

from keras_repro.optimizers._checks import check_decay, check_epsilon, check_learning_rate


@keras.saving.register_keras_serializable(package="keras_repro")
class Adam(keras.optimizers.Optimizer):
    """RMSprop's per-parameter step applied to a moving average of the gradient.

    ```python
    # w_{t+1} = w_t - a * EMA{grad f_t, b1} / sqrt[EMA{(grad f_t) ** 2, b2}]      (the notes)
    m = beta_1 * m + (1 - beta_1) * gradient
    v = beta_2 * v + (1 - beta_2) * gradient ** 2
    if bias_correction:            # Kingma & Ba: divide m by 1 - b1^t and v by 1 - b2^t
        w = w - (learning_rate * sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)) * m / (sqrt(v) + epsilon)
    else:                          # the notes' formula
        w = w - learning_rate * m / (sqrt(v) + epsilon)
    ```

    Both averages start at zero. Without bias correction the first steps are larger than
    ``learning_rate``: for a constant gradient the step is ``a·(1 − b1^t)/sqrt(1 − b2^t)``, which is
    ``3.2a`` at ``t = 1`` and peaks near ``6.6a`` around ``t = 12`` with the default betas, before it
    settles to ``a``. With ``bias_correction=True`` the update is computed exactly as in
    ``keras.optimizers.Adam`` (``epsilon`` is Keras's "epsilon hat").

    Args:
        learning_rate: ``a``, a float > 0, a schedule or a callable. Defaults to ``3e-4`` (the notes).
        beta_1: decay of the gradient average, in ``[0, 1)``. Defaults to ``0.9``.
        beta_2: decay of the squared-gradient average, in ``[0, 1)``. Defaults to ``0.999``.
        epsilon: added to the root, >= 0. Defaults to ``1e-7``.
        bias_correction: divide the averages by ``1 − b^t``. Defaults to ``True``.
        **kwargs: the base optimiser's keyword arguments.
    """

    def __init__(self, learning_rate=3e-4, beta_1=0.9, beta_2=0.999, epsilon=1e-7, bias_correction=True, name=None,
                 **kwargs):
        check_learning_rate(learning_rate)
        check_decay("beta_1", beta_1)
        check_decay("beta_2", beta_2)
        check_epsilon(epsilon)
        if not isinstance(bias_correction, bool):
            raise ValueError(f"bias_correction must be True or False. Received: bias_correction={bias_correction!r}")
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.bias_correction = bias_correction

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.first_moments, self.second_moments = self.add_optimizer_variables(variables, ["m", "v"])

    def update_step(self, gradient, variable, learning_rate):
        learning_rate = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        index = self._get_variable_index(variable)
        m, v = self.first_moments[index], self.second_moments[index]
        if self.bias_correction:
            t = ops.cast(self.iterations + 1, variable.dtype)
            beta_1_power = ops.power(ops.cast(self.beta_1, variable.dtype), t)
            beta_2_power = ops.power(ops.cast(self.beta_2, variable.dtype), t)
            learning_rate = learning_rate * ops.sqrt(1 - beta_2_power) / (1 - beta_1_power)
        self.assign_add(m, ops.multiply(ops.subtract(gradient, m), 1 - self.beta_1))
        self.assign_add(v, ops.multiply(ops.subtract(ops.square(gradient), v), 1 - self.beta_2))
        self.assign_sub(variable, ops.divide(ops.multiply(m, learning_rate), ops.add(ops.sqrt(v), self.epsilon)))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "bias_correction": self.bias_correction}
