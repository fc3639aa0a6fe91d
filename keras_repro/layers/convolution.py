"""A grouped 2-D convolution that is fast on CPUs."""
from __future__ import annotations

import keras
import numpy as np
from keras import ops

IMPLEMENTATIONS = ("auto", "grouped", "block_diagonal")


@keras.saving.register_keras_serializable(package="keras_repro")
class GroupedConv2D(keras.layers.Conv2D):
    """``keras.layers.Conv2D`` with ``groups`` > 1, computed as one dense convolution where that is faster.

    The kernel is the grouped one, ``(kh, kw, in_channels / groups, filters)``, as in ``Conv2D``, so the
    weights are interchangeable with ``Conv2D(groups=...)`` and the parameter count is the grouped one.
    ``implementation``:

    - ``"grouped"``: ``Conv2D``'s own grouped convolution (what GPUs run well);
    - ``"block_diagonal"``: the kernel tiled into a block-diagonal ``(kh, kw, in_channels, filters)`` kernel
      (zeros between the groups) and one ordinary convolution. ``groups`` × the multiply-adds, but on CPUs
      XLA's grouped convolution (which both TensorFlow and JAX use there) is far slower: 32 groups of a
      128-channel 3×3 convolution trained 55-70× faster this way on a 2-core CPU (``docs/performance.md``).
      The zeros add exact zeros, so the outputs equal the grouped ones up to float rounding, and the
      gradient reaches only the grouped kernel.
    - ``"auto"`` (default): ``"block_diagonal"`` when no GPU or TPU is visible to the backend, else ``"grouped"``;
      decided when the layer is built, so a saved model picks again where it is loaded.
    """

    def __init__(self, *args, implementation: str = "auto", **kwargs):
        super().__init__(*args, **kwargs)
        if implementation not in IMPLEMENTATIONS:
            raise ValueError(f"`implementation` must be one of {IMPLEMENTATIONS}. Received: "
                             f"implementation={implementation!r}")
        self.implementation = implementation
        self._block_mask = None

    def build(self, input_shape):
        super().build(input_shape)
        resolved = self.implementation
        if resolved == "auto":
            from keras_repro import _env

            resolved = "grouped" if _env.accelerator_present() else "block_diagonal"
        if self.groups > 1 and resolved == "block_diagonal":
            channels = input_shape[-1] if self.data_format == "channels_last" else input_shape[1]
            per_in, per_out = channels // self.groups, self.filters // self.groups
            self._block_mask = (np.arange(channels)[:, None] // per_in
                                == np.arange(self.filters)[None, :] // per_out).astype("float32")

    def convolution_op(self, inputs, kernel):
        if self._block_mask is None:
            return super().convolution_op(inputs, kernel)
        dense = ops.tile(kernel, [1, 1, self.groups, 1]) * ops.convert_to_tensor(self._block_mask, dtype=kernel.dtype)
        return ops.conv(inputs, dense, strides=self.strides, padding=self.padding,
                        dilation_rate=self.dilation_rate, data_format=self.data_format)

    def get_config(self):
        return {**super().get_config(), "implementation": self.implementation}
