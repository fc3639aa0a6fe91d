"""The CNN builders train under ``mixed_bfloat16`` on JAX (issue 13): computation in bfloat16, variables and
outputs in float32, finite losses, weights that move. The TensorFlow bf16 smoke shards of test_scale run
vgg_progressive, googlenet_inception and resnext_cardinality whole; on JAX those dry runs take minutes
(XLA's CPU bfloat16 convolutions), so here their models, at CPU size, take a few steps each on JAX,
in a fresh interpreter with ``KERAS_BACKEND=jax`` and the suite's Runtime setting the policy."""
from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import run_python
from test_backends import installed

PROBE = r'''
import json
import numpy as np
import keras
from keras_repro.models import googlenet, grow_vgg, resnext, vgg, vgg_backbone
from keras_repro.models.googlenet import AUX_LOSS_WEIGHT
from keras_repro.suite.runtime import Runtime

runtime = Runtime(log=lambda message: None, verbosity=0, precision="mixed_bfloat16")
runtime.start()
rng = np.random.default_rng(0)
report = {}


def train(name, model, x, y, loss="sparse_categorical_crossentropy", loss_weights=None):
    import time
    start = time.monotonic()
    model.compile(keras.optimizers.SGD(0.01, momentum=0.9), loss=loss, loss_weights=loss_weights)
    before = [np.array(w) for w in model.trainable_weights]
    losses = [float(np.ravel(model.train_on_batch(x, y))[0]) for _ in range(2)]
    convs = [l for l in model._flatten_layers(include_self=False) if isinstance(l, keras.layers.Conv2D)]
    report[name] = {
        "losses": losses,
        "moved": sum(not np.allclose(a, np.array(b)) for a, b in zip(before, model.trainable_weights)),
        "weights": len(before),
        "variable_dtypes": sorted({w.dtype for w in model.weights}),
        "conv_compute": sorted({l.compute_dtype for l in convs}),
        "grouped": sorted({l.groups for l in convs}),
        "outputs": sorted({str(t.dtype) for t in keras.tree.flatten(model(x[:1]))}),
        "seconds": round(time.monotonic() - start, 1),
    }


x32 = rng.normal(size=(4, 32, 32, 3)).astype("float32")
y = rng.integers(0, 10, size=(4,))
net = vgg(11, input_shape=(32, 32, 3), classes=10, width_multiplier=1 / 16, fc_units=32)
train("vgg11", net, x32, y)
deeper = grow_vgg(net, 13)
train("vgg13 grown", deeper, x32, y)
train("vgg backbone", vgg_backbone(deeper, 2, head_units=16), x32, y % 2)
train("resnext26", resnext(26, cardinality=4, base_width=2, input_shape=(32, 32, 3), classes=10,
                           width_multiplier=1 / 8), x32, y)
x160 = rng.normal(size=(2, 160, 160, 3)).astype("float32")
net = googlenet(input_shape=(160, 160, 3), classes=10, width_multiplier=1 / 16, aux_classifiers=True)
train("googlenet aux", net, x160, (y[:2],) * len(net.outputs), loss=["sparse_categorical_crossentropy"] * len(net.outputs),
      loss_weights=[1.0] + [AUX_LOSS_WEIGHT] * (len(net.outputs) - 1))
runtime.close()
print("REPORT" + json.dumps(report))
'''


@pytest.mark.skipif(not installed("jax"), reason="jax is not installed")
def test_cnn_models_train_in_mixed_bfloat16_on_jax():
    proc = run_python(PROBE, backend="jax", timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.split("REPORT", 1)[1])
    assert set(report) == {"vgg11", "vgg13 grown", "vgg backbone", "resnext26", "googlenet aux"}
    for name, facts in report.items():
        assert all(np.isfinite(facts["losses"])), (name, facts)
        assert facts["variable_dtypes"] == ["float32"], (name, facts)
        assert facts["conv_compute"] == ["bfloat16"], (name, facts)
        assert facts["outputs"] == ["float32"], (name, facts)
        # the weights took the steps (at these widths a one-filter branch may start dead, in float32 too:
        # googlenet's 5×5 reduce layers have 1 filter at 1/16)
        assert facts["weights"] > 0 and facts["moved"] >= 0.9 * facts["weights"], (name, facts)
    assert max(report["resnext26"]["grouped"]) == 4  # the grouped convolutions ran in bfloat16 too

