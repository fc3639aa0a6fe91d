"""RMSprop (notes, section 4.7)."""
from __future__ import annotations

import keras
from keras import ops

from keras_repro.optimizers._checks import check_decay, check_epsilon, check_learning_rate


@keras.saving.register_keras_serializable(package="keras_repro")
class RMSprop(keras.optimizers.Optimizer):
    """Divide the gradient by the root of a moving average of its square.

    ```python
    # w_{t+1} = w_t - a * grad f(w_t) / sqrt[EMA{(grad f) ** 2}]
    # EMA[f_t] = (1 - rho) * f_t + rho * EMA[f_{t-1}]       (EMA_0 = 0)
    mean_square = rho * mean_square + (1 - rho) * gradient ** 2
    w = w - learning_rate * gradient / sqrt(mean_square + epsilon)
    ```

    ``epsilon`` (absent from the notes) only guards against division by zero; it sits inside the
    root as in ``keras.optimizers.RMSprop``, whose plain (uncentred, momentum-free) update this is.

    Args:
        learning_rate: ``a``, a float > 0, a schedule or a callable. Defaults to ``0.001``.
        rho: the average's decay, in ``[0, 1)``. Defaults to ``0.9``.
        epsilon: added to the mean square, >= 0. Defaults to ``1e-7``.
        **kwargs: the base optimiser's keyword arguments.
    """

    def __init__(self, learning_rate=0.001, rho=0.9, epsilon=1e-7, name=None, **kwargs):
        check_learning_rate(learning_rate)
        check_decay("rho", rho)
        check_epsilon(epsilon)
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.rho = rho
        self.epsilon = epsilon

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.mean_squares = self.add_optimizer_variables(variables, "mean_square")

    def update_step(self, gradient, variable, learning_rate):
        learning_rate = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        mean_square = self.mean_squares[self._get_variable_index(variable)]
        self.assign(mean_square, ops.add(ops.multiply(self.rho, mean_square),
                                         ops.multiply(1 - self.rho, ops.square(gradient))))
        self.assign_sub(variable, ops.divide(ops.multiply(learning_rate, gradient),
                                             ops.sqrt(ops.add(mean_square, self.epsilon))))

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}
