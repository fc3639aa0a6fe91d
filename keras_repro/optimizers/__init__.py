"""Optimisers written from the notes' formulas as ``keras.optimizers.Optimizer`` subclasses.

Each implements its formula literally; where a formula coincides with or differs from a Keras
built-in, its docstring derives the relation (tested in ``tests/test_optimizers.py``):

- :class:`Momentum` (4.3): heavy ball fed a one-step-old gradient; stable only for ``aλ < 1 − b``.
- :class:`Nesterov` (4.4): ``keras.optimizers.SGD(learning_rate=a, momentum=b)`` exactly.
- :class:`EMA` (4.5): ``keras.optimizers.SGD(learning_rate=a·(1 − b), momentum=b)`` exactly.
- :class:`Rprop` (4.6): iRprop−, the algorithm of ``torch.optim.Rprop``.
- :class:`RMSprop` (4.7): ``keras.optimizers.RMSprop`` (plain) exactly.
- :class:`Adam` (4.8): ``keras.optimizers.Adam`` with ``bias_correction=True``; the notes' formula without.

Plain, stochastic and minibatch gradient descent are one update (``keras.optimizers.SGD``) run with
different batch sizes; they are configurations of the training loop, not classes.

:func:`make_optimizer` builds the optimiser a config names (``"adam"`` or the papers' ``"sgd"``).
"""
from keras_repro.optimizers.adam import Adam
from keras_repro.optimizers.by_name import OPTIMIZER_NAMES, make_optimizer
from keras_repro.optimizers.ema import EMA
from keras_repro.optimizers.momentum import Momentum, Nesterov
from keras_repro.optimizers.rmsprop import RMSprop
from keras_repro.optimizers.rprop import Rprop

__all__ = ["Adam", "EMA", "Momentum", "Nesterov", "OPTIMIZER_NAMES", "RMSprop", "Rprop", "make_optimizer"]


import keras_repro as _package  # noqa: E402

_package._register()  # every registering module, if Keras's first import came from this one
