"""keras_repro.activations: the notes' step activation."""
from __future__ import annotations

import keras

from keras_repro.activations import heaviside


def test_heaviside_is_the_notes_step():
    out = keras.ops.convert_to_numpy(heaviside(keras.ops.convert_to_tensor([-1.0, 0.0, 1e-7, 3.0])))
    assert out.tolist() == [0.0, 0.0, 1.0, 1.0]
