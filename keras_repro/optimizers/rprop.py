"""Rprop (notes, section 4.6), the iRprop− variant of ``torch.optim.Rprop``."""
from __future__ import annotations

import keras
from keras import ops

from keras_repro.optimizers._checks import check_learning_rate


@keras.saving.register_keras_serializable(package="keras_repro")
class Rprop(keras.optimizers.Optimizer):
    """Resilient propagation: a step size per parameter, driven by the signs of its gradients.

    ```python
    # w_{t+1,i} = w_{t,i} - a_{t,i} * sign[(grad f_t)_i]
    # grow a_i when (grad f_t)_i * (grad f_{t-1})_i > 0, shrink it when < 0
    product = gradient * previous_gradient
    step = clip(step * where(product > 0, eta_plus, where(product < 0, eta_minus, 1)), min_step, max_step)
    gradient = where(product < 0, 0, gradient)    # iRprop-: skip this parameter once after a sign flip
    w = w - sign(gradient) * step
    previous_gradient = gradient
    ```

    This is the algorithm of ``torch.optim.Rprop``: after a sign change the parameter does not move
    and its stored gradient becomes zero, so the next step neither grows nor shrinks its step size.

    The learning rate is only the initial step size: from the first update on, each step size adapts
    on its own. A schedule, a callable or a change after the first update (``ReduceLROnPlateau``)
    could not be honoured, so they are refused with a ``ValueError`` rather than silently ignored.
    Sparse gradients (``tf.IndexedSlices``, JAX ``BCOO``) are made dense: rows without a gradient
    have gradient 0, so they neither move nor change their step size.

    Args:
        learning_rate: the initial step size of every parameter, a float > 0. Defaults to ``0.01``.
        eta_plus: growth factor of a step, > 1. Defaults to ``1.2``.
        eta_minus: shrink factor of a step, in ``(0, 1)``. Defaults to ``0.5``.
        min_step: smallest step size, > 0. Defaults to ``1e-6``.
        max_step: largest step size, >= ``min_step``. Defaults to ``50.0``.
        **kwargs: the base optimiser's keyword arguments.
    """

    def __init__(self, learning_rate=0.01, eta_plus=1.2, eta_minus=0.5, min_step=1e-6, max_step=50.0, name=None,
                 **kwargs):
        _refuse_varying_rate(learning_rate)
        check_learning_rate(learning_rate)
        if not eta_plus > 1:
            raise ValueError(f"eta_plus must be > 1. Received: eta_plus={eta_plus!r}")
        if not 0 < eta_minus < 1:
            raise ValueError(f"eta_minus must be in (0, 1). Received: eta_minus={eta_minus!r}")
        if not min_step > 0:
            raise ValueError(f"min_step must be > 0. Received: min_step={min_step!r}")
        if not max_step >= min_step:
            raise ValueError(f"max_step must be >= min_step. Received: max_step={max_step!r}, min_step={min_step!r}")
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.eta_plus = eta_plus
        self.eta_minus = eta_minus
        self.min_step = min_step
        self.max_step = max_step

    @property
    def learning_rate(self):
        return self._get_current_learning_rate()

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        _refuse_varying_rate(learning_rate)
        if hasattr(self, "_learning_rate") and int(ops.convert_to_numpy(self.iterations)) > 0:
            current = float(ops.convert_to_numpy(self._learning_rate))
            if float(learning_rate) != current:
                raise ValueError(f"Rprop's learning_rate is the initial step size and the steps have adapted since "
                                 f"(learning_rate={current!r}); a new one would be ignored. "
                                 f"Received: learning_rate={learning_rate!r}")
        super(Rprop, type(self)).learning_rate.fset(self, learning_rate)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.previous_gradients, self.step_sizes = self.add_optimizer_variables(
            variables, ["previous_gradient", "step_size"])

    def update_step(self, gradient, variable, learning_rate):
        gradient = ops.cast(dense_gradient(gradient, variable), variable.dtype)
        index = self._get_variable_index(variable)
        previous, step = self.previous_gradients[index], self.step_sizes[index]
        # Every step size starts at the learning rate on the first update. (Set here rather than in
        # build(): on TensorFlow, fit() builds the optimiser while tracing, where an assign in build()
        # does not persist. Broadcasting also lets a column of rates drive a batch of runs.)
        initial = ops.broadcast_to(ops.cast(learning_rate, variable.dtype), ops.shape(variable))
        step = ops.where(ops.equal(self.iterations, 0), initial, ops.convert_to_tensor(step))
        product = ops.multiply(gradient, previous)
        factor = ops.where(ops.greater(product, 0), self.eta_plus, ops.where(ops.less(product, 0), self.eta_minus, 1.0))
        new_step = ops.clip(ops.multiply(step, ops.cast(factor, variable.dtype)), self.min_step, self.max_step)
        gradient = ops.where(ops.less(product, 0), ops.zeros_like(gradient), gradient)
        self.assign(self.step_sizes[index], new_step)
        self.assign(previous, gradient)
        self.assign_sub(variable, ops.multiply(ops.sign(gradient), new_step))

    def get_config(self):
        return {**super().get_config(), "eta_plus": self.eta_plus, "eta_minus": self.eta_minus,
                "min_step": self.min_step, "max_step": self.max_step}


def dense_gradient(gradient, variable):
    """``gradient`` as a dense tensor of ``variable``'s shape: the sign products need every entry, and the
    rows a sparse gradient leaves out are zeros.

    ``tf.IndexedSlices`` (embeddings on TensorFlow) are scattered into the variable's static shape:
    ``tf.convert_to_tensor`` fails on them when ``dense_shape`` is a Python tuple. Other sparse
    tensors (``tf.SparseTensor``, JAX ``BCOO``) are densified by Keras.
    """
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if isinstance(gradient, tf.IndexedSlices):
            return ops.scatter(ops.expand_dims(gradient.indices, -1), gradient.values, variable.shape)
    return ops.convert_to_tensor(gradient, sparse=False)


def _refuse_varying_rate(learning_rate) -> None:
    if isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule) or callable(learning_rate):
        raise ValueError(f"Rprop's learning_rate is the initial step size of every weight (each step size then "
                         f"adapts on its own), so a schedule or a callable cannot be honoured: pass a float. "
                         f"Received: learning_rate={learning_rate!r}")
