"""Gradient descent along an exponential moving average of the gradients (notes, section 4.5)."""
from __future__ import annotations

import keras
from keras import ops

from keras_repro.optimizers._checks import check_decay, check_learning_rate


@keras.saving.register_keras_serializable(package="keras_repro")
class EMA(keras.optimizers.Optimizer):
    """``w ← w − a·EMA[∇f]`` (notes 4.5), the average started at zero without bias correction.

    ```python
    # w_{t+1} = w_t - a * EMA[(grad f)_t]
    # EMA[f_t] = (1 - b) * f_t + b * EMA[f_{t-1}]       (EMA_0 = 0)
    average = beta * average + (1 - beta) * gradient
    w = w - learning_rate * average
    ```

    With ``V = −a·EMA`` this is ``V ← b·V − a(1 − b)·g``, ``w ← w + V``: exactly
    ``keras.optimizers.SGD(learning_rate=a * (1 - b), momentum=b)``. The notes' EMA method is
    heavy-ball momentum with its learning rate scaled by ``1 − b``.

    Args:
        learning_rate: ``a``, a float > 0, a schedule or a callable. Defaults to ``0.01``.
        beta: ``b``, the average's decay, in ``[0, 1)``. Defaults to ``0.9``.
        **kwargs: the base optimiser's keyword arguments.
    """

    def __init__(self, learning_rate=0.01, beta=0.9, name=None, **kwargs):
        check_learning_rate(learning_rate)
        check_decay("beta", beta)
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta = beta

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.averages = self.add_optimizer_variables(variables, "gradient_average")

    def update_step(self, gradient, variable, learning_rate):
        learning_rate = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        beta = ops.cast(self.beta, variable.dtype)
        average = self.averages[self._get_variable_index(variable)]
        self.assign(average, ops.add(ops.multiply(beta, average), ops.multiply(1 - beta, gradient)))
        self.assign_sub(variable, ops.multiply(learning_rate, average))

    def get_config(self):
        return {**super().get_config(), "beta": self.beta}
