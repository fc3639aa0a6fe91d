"""Dropout as the notes write it, and DropConnect.

The notes (section 6): *train time: each neuron stays in the network with probability p; test time:
all neurons are present, but their outgoing weights are multiplied by p.* :class:`ClassicDropout`
implements exactly that. ``keras.layers.Dropout`` is the "inverted" form of the same idea: it scales
the kept units by ``1 / (1 - rate)`` during training and does nothing at inference. Both keep the
expected training output equal to the inference output; they differ by the factor ``p`` that the
next layer's weights absorb (``W_classic = W_inverted / p``).

:class:`DropConnect` (Wan et al., 2013) drops random *weights* of a dense layer instead of its
inputs or outputs, with the same classic convention for inference.
"""
from __future__ import annotations

import numbers

import keras
from keras import ops


def _check_keep_prob(keep_prob) -> float:
    if isinstance(keep_prob, bool) or not isinstance(keep_prob, numbers.Real) or not 0 < keep_prob <= 1:
        raise ValueError(f"`keep_prob` must be a number in (0, 1], the probability that a unit is kept. "
                         f"Received: keep_prob={keep_prob!r}")
    return float(keep_prob)


@keras.saving.register_keras_serializable(package="keras_repro")
class ClassicDropout(keras.layers.Layer):
    """Dropout with the notes' convention: keep with probability ``keep_prob``, scale at inference.

    Training: ``y = x * m`` with ``m ~ Bernoulli(keep_prob)`` independently per element; kept units
    are *not* rescaled. Inference: ``y = keep_prob * x`` (every unit present, its contribution to
    the next layer multiplied by ``keep_prob``). So ``E[y_train] = y_inference`` exactly, as with
    ``keras.layers.Dropout(rate=1 - keep_prob)``, whose outputs are these divided by ``keep_prob``.

    Args:
        keep_prob: probability in (0, 1] that a unit is kept (the notes' ``p``; Keras's
            ``rate`` is ``1 - keep_prob``).
        seed: integer seed of the layer's ``SeedGenerator`` (masks differ from step to step but
            the sequence is reproducible).
    """

    def __init__(self, keep_prob, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.keep_prob = _check_keep_prob(keep_prob)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True
        self._build_at_init()

    def call(self, inputs, training=False):
        if not training:
            return inputs * ops.cast(self.keep_prob, inputs.dtype)
        if self.keep_prob == 1.0:
            return inputs
        keep = keras.random.uniform(ops.shape(inputs), seed=self.seed_generator) < self.keep_prob
        return ops.where(keep, inputs, ops.zeros_like(inputs))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "keep_prob": self.keep_prob, "seed": self.seed}


@keras.saving.register_keras_serializable(package="keras_repro")
class DropConnect(keras.layers.Layer):
    """A dense layer whose *weights* are dropped at random during training (Wan et al., 2013).

    Training: ``y = activation(x @ (W * M) + b)`` where ``M ~ Bernoulli(keep_prob)`` has the shape of
    ``W`` and is drawn afresh for every example of the batch (the paper's per-example masks; memory
    ``batch × inputs × units``). The bias is not dropped.

    Inference (the classic convention, as :class:`ClassicDropout`): ``y = activation(x @ (keep_prob *
    W) + b)``. ``keep_prob * W`` is the expectation of ``W * M``, so the inference *pre-activation*
    equals the expectation of the training pre-activation exactly; after a non-linear activation it
    is the usual mean-field approximation (the paper's Gaussian moment-matching sampling is not
    implemented).

    Args:
        units: number of output units.
        keep_prob: probability in (0, 1] that a weight is kept.
        activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer: as for
            ``keras.layers.Dense``.
        seed: integer seed of the layer's ``SeedGenerator``.
    """

    def __init__(self, units, keep_prob=0.5, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, numbers.Integral) or units < 1:
            raise ValueError(f"`units` must be a positive integer. Received: units={units!r}")
        self.units = int(units)
        self.keep_prob = _check_keep_prob(keep_prob)
        self.activation = keras.activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        if len(input_shape) != 2 or input_shape[-1] is None:
            raise ValueError(f"DropConnect expects inputs of shape (batch, features) with known features. "
                             f"Received: input_shape={input_shape}")
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer)
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer=self.bias_initializer) \
            if self.use_bias else None

    def call(self, inputs, training=False):
        if training and self.keep_prob < 1.0:
            kernel_shape = ops.shape(self.kernel)
            mask_shape = (ops.shape(inputs)[0], kernel_shape[0], kernel_shape[1])
            keep = keras.random.uniform(mask_shape, seed=self.seed_generator) < self.keep_prob
            masked = ops.where(keep, self.kernel[None], ops.zeros_like(self.kernel[None]))
            outputs = ops.einsum("bi,bij->bj", inputs, ops.cast(masked, inputs.dtype))
        else:
            outputs = ops.matmul(inputs, self.kernel * ops.cast(self.keep_prob, self.kernel.dtype))
        if self.bias is not None:
            outputs = outputs + self.bias
        return self.activation(outputs)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "keep_prob": self.keep_prob,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
            "seed": self.seed,
        }
