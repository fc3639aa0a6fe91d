"""keras-repro: the classic claims of deep learning, reproduced with Keras 3.

Importing the package registers every custom Keras object (activations, layers, optimisers,
losses, metrics and model blocks) under ``package="keras_repro"``, so a ``.keras`` file saved by a
reproduction loads in any program with ``keras.saving.load_model(path, safe_mode=True)`` after
``import keras_repro``.
"""
from keras_repro._env import import_keras_quietly as _import_keras_quietly

_import_keras_quietly()

from keras_repro import activations, layers, losses, models, optimizers  # noqa: E402,F401  (registration)

__version__ = "0.1.0"
