"""Run by tests/test_scale.py in a fresh process (devices prepared before Keras is imported).

Trains LeNet-5 on 1408 digits (44 full batches of 32) once on one device and once data-parallel over
``N`` devices, same seed and global batch, and prints JSON: both loss curves, the largest weight
difference, and how the batch and the variables were placed inside the compiled train step.
Usage: python tests/scale_probe.py BACKEND N [PRECISION]
"""
import json
import sys

from keras_repro import _env

backend, n = sys.argv[1], int(sys.argv[2])
precision = sys.argv[3] if len(sys.argv) > 3 else "float32"
epochs = int(sys.argv[4]) if len(sys.argv) > 4 else 2
_env.select_backend(backend)
_env.prepare_devices(backend, n)
keras = _env.import_keras_quietly()
if backend == "tensorflow":
    _env.split_tensorflow_cpu(n)

import numpy as np  # noqa: E402

from keras_repro.data import load_arrays  # noqa: E402
from keras_repro.models import lenet5  # noqa: E402
from keras_repro.suite.runner import set_global_seed  # noqa: E402
from keras_repro.suite.runtime import Runtime  # noqa: E402

seen = []  # placements of the input batch observed while the train step was traced/compiled


class Probe(keras.layers.Layer):
    """Identity that reports how its input batch is placed (at trace time)."""

    def call(self, x):
        if backend == "jax":
            import jax

            jax.debug.inspect_array_sharding(
                x, callback=lambda s: seen.append({"devices": len(s.device_set),
                                                   "shard_batch": int(s.shard_shape(tuple(x.shape))[0]),
                                                   "batch": int(x.shape[0])}))
        else:
            import tensorflow as tf

            ctx = tf.distribute.get_replica_context()
            seen.append({"devices": ctx.num_replicas_in_sync if ctx is not None else 1,
                         "shard_batch": int(x.shape[0]) if x.shape[0] is not None else -1})
        return x


data = load_arrays("digits", image_size=32, channels=1)
x = (data.x_train.astype("float32") / 255.0)[:1408]
y = data.y_train[:1408]


def train(devices):
    seen.clear()
    runtime = Runtime(log=lambda m: None, devices=devices, precision=precision)
    runtime.start()
    set_global_seed(0)
    try:
        with runtime.scope():
            model = keras.Sequential([keras.Input((32, 32, 1)), Probe(), lenet5(input_shape=(32, 32, 1), classes=10)])
            model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
        history = runtime.fit(model, x, y, epochs=epochs, batch_size=32, progress=False)
        weights = [np.asarray(w, dtype="float64") for w in model.get_weights()]
        variable = model.trainable_variables[0]
        if backend == "jax":
            sharding = variable.value.sharding
            placement = {"devices": len(sharding.device_set), "replicated": bool(sharding.is_fully_replicated)}
        else:
            inner = getattr(variable, "value", variable)
            placement = {"devices": len(getattr(inner, "values", [inner])), "kind": type(inner).__name__}
        inner_layers = getattr(model.layers[-1], "layers", [])
        convs = [layer for layer in inner_layers if isinstance(layer, keras.layers.Conv2D)]
        compute = str(convs[0].compute_dtype) if convs else ""
        head = str(inner_layers[-1].compute_dtype) if inner_layers else ""
        return {"loss": [float(v) for v in history.history["loss"]], "weights": weights, "variable": placement,
                "batch": list(seen), "facts": runtime.facts, "variable_dtype": str(variable.dtype),
                "last_compute_dtype": compute, "head_compute_dtype": head, "optimizer": type(model.optimizer).__name__}
    finally:
        runtime.close()


one = train(1)
many = train(n)
diff = max(float(np.max(np.abs(a - b))) for a, b in zip(one["weights"], many["weights"]))
for r in (one, many):
    del r["weights"]
print("RESULT " + json.dumps({"one": one, "many": many, "max_weight_diff": diff}, default=str))
