"""Run by tests/test_processes.py: one process of a JAX job (or a single-process reference run).

Trains LeNet-5 on 1408 digits (44 full batches of 32) for 2 epochs without shuffling, through the
suite's Runtime, and prints ``RESULT {json}``: the loss curve, the weights, how the input batch was
placed inside the compiled train step, and the distribution facts. Without shuffling, the job's global
batch j (process i feeds examples i, i + K, ... of the array) holds the same examples as batch j of a
single-process run, so both trainings take the same steps up to the order of float sums.
Usage: python tests/processes_probe.py single | python tests/processes_probe.py K I HOST:PORT
"""
import json
import sys

from keras_repro import _env

_env.select_backend("jax")
keras = _env.import_keras_quietly()
if sys.argv[1] != "single":
    from keras_repro.suite import processes

    processes.join(sys.argv[3], int(sys.argv[1]), int(sys.argv[2]))

import jax  # noqa: E402
import numpy as np  # noqa: E402

from keras_repro.data import load_arrays  # noqa: E402
from keras_repro.models import lenet5  # noqa: E402
from keras_repro.suite.runner import set_global_seed  # noqa: E402
from keras_repro.suite.runtime import Runtime  # noqa: E402

seen = []


class Probe(keras.layers.Layer):
    """Identity that reports how its input batch is placed (at trace time)."""

    def call(self, x):
        jax.debug.inspect_array_sharding(
            x, callback=lambda s: seen.append({"devices": len(s.device_set),
                                               "shard_batch": int(s.shard_shape(tuple(x.shape))[0]),
                                               "batch": int(x.shape[0])}))
        return x


data = load_arrays("digits", image_size=32, channels=1)
x = (data.x_train.astype("float32") / 255.0)[:1408]
y = data.y_train[:1408]
runtime = Runtime(log=lambda m: None)
runtime.start()
set_global_seed(0)
with runtime.scope():
    model = keras.Sequential([keras.Input((32, 32, 1)), Probe(), lenet5(input_shape=(32, 32, 1), classes=10)])
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
history = runtime.fit(model, x, y, epochs=2, batch_size=32, shuffle=False, progress=False)
weights = [np.asarray(w, dtype="float64").tolist() for w in model.get_weights()]
print("RESULT " + json.dumps({"loss": [float(v) for v in history.history["loss"]], "weights": weights,
                              "batch": seen, "facts": runtime.facts, "process": jax.process_index()}), flush=True)
runtime.close()
