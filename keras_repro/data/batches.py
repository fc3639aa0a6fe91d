"""What reproductions do with the datasets ``make_datasets`` returns, on either engine.

``make_datasets`` gives ``tf.data`` pipelines where TensorFlow is installed and NumPy
``keras.utils.PyDataset`` batches where it is not (a JAX- or PyTorch-only GPU machine). Code that
reads batches itself goes through these helpers, never through engine-specific methods
(``.take``, ``.as_numpy_iterator``, ``.map``, ``.repeat``), so it runs on both::

    x, y = first_batch(train_ds)
    for x, y in iterate_batches(eval_ds): ...
    parity = relabel(train_ds, lambda y: y % 2)
    model.fit(repeat(train_ds), steps_per_epoch=3 * len_batches(train_ds), ...)
"""
from __future__ import annotations

from typing import Callable, Iterator

import numpy as np


def is_tf_dataset(ds) -> bool:
    return type(ds).__module__.startswith("tensorflow")


def iterate_batches(ds, limit: int | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """One pass over ``ds`` as NumPy ``(x, y)`` batches (at most ``limit`` of them)."""
    if is_tf_dataset(ds):
        source = ds.as_numpy_iterator()
    else:
        source = (ds[i] for i in range(_length(ds)))
    for count, (x, y) in enumerate(source):
        if limit is not None and count >= limit:
            return
        yield np.asarray(x), np.asarray(y)
    if not is_tf_dataset(ds) and hasattr(ds, "on_epoch_end"):
        ds.on_epoch_end()  # a full pass is an epoch, as in model.fit


def first_batch(ds) -> tuple[np.ndarray, np.ndarray]:
    """The first ``(x, y)`` batch of one pass (the pass is not consumed further)."""
    if is_tf_dataset(ds):
        return next(iter(ds.take(1).as_numpy_iterator()))
    x, y = ds[0]
    return np.asarray(x), np.asarray(y)


def len_batches(ds) -> int:
    """Batches in one pass."""
    if is_tf_dataset(ds):
        n = int(ds.cardinality())
        if n < 0:
            raise ValueError("the dataset's number of batches is unknown or infinite")
        return n
    return _length(ds)


def relabel(ds, fn: Callable):
    """``ds`` with labels ``fn(y)`` (``fn`` must work on tensors and on NumPy arrays, e.g. ``y % 2``)."""
    if is_tf_dataset(ds):
        return ds.map(lambda x, y: (x, fn(y)))
    return _Relabelled(ds, fn)


def repeat(ds):
    """``ds`` passed over again and again (give ``model.fit`` a ``steps_per_epoch``)."""
    if is_tf_dataset(ds):
        return ds.repeat()
    return _Repeated(ds)


def _length(ds) -> int:
    n = getattr(ds, "num_batches", None)
    return int(n) if n is not None else len(ds)


def _py_dataset():
    import keras

    return keras.utils.PyDataset


def _Relabelled(inner, fn):  # noqa: N802  (a class factory: importing this module must not import Keras)
    class Relabelled(_py_dataset()):
        def __init__(self):
            super().__init__()

        def __len__(self):
            return _length(inner)

        def __getitem__(self, index):
            x, y = inner[index]
            return x, fn(np.asarray(y))

        def on_epoch_end(self):
            if hasattr(inner, "on_epoch_end"):
                inner.on_epoch_end()

    return Relabelled()


def _Repeated(inner):  # noqa: N802
    class Repeated(_py_dataset()):
        """Infinite: batch ``i`` is batch ``i mod n`` of pass ``i // n``; each new pass ends the inner epoch."""

        def __init__(self):
            super().__init__()
            self._pass = 0

        @property
        def num_batches(self):
            return None

        def __getitem__(self, index):
            n = _length(inner)
            pass_, i = divmod(index, n)
            while self._pass < pass_:  # batches are asked for in order (one worker, no multiprocessing)
                if hasattr(inner, "on_epoch_end"):
                    inner.on_epoch_end()
                self._pass += 1
            return inner[i]

    return Repeated()


def endless_batches(x: np.ndarray, y: np.ndarray, batch_size: int, *, seed: int):
    """An endless stream of ``(x, y)`` batches for ``fit(..., steps_per_epoch=steps)``.

    ``batch_size == len(x)``: every batch is the whole data set. Smaller: the examples are reshuffled
    on every pass (seeded) and cut into batches, dropping the remainder. A ``tf.data`` pipeline where
    TensorFlow imports (the reference runs' batch order), else a NumPy ``PyDataset``.
    """
    n = len(x)
    if not 1 <= batch_size <= n:
        raise ValueError(f"batch_size must be in [1, {n}]. Received: batch_size={batch_size}")
    try:
        import tensorflow as tf
    except ImportError:
        return _ShuffledBatches(np.asarray(x), np.asarray(y), batch_size, seed)
    if batch_size == n:
        return tf.data.Dataset.from_tensors((x, y)).repeat()
    data = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(n, seed=seed, reshuffle_each_iteration=True)
    return data.repeat().batch(batch_size, drop_remainder=True)


def _ShuffledBatches(x, y, batch_size, seed):  # noqa: N802
    class ShuffledBatches(_py_dataset()):
        """Pass ``p`` is ``default_rng([seed, p]).permutation(n)`` cut into whole batches."""

        def __init__(self):
            super().__init__()
            self._per_pass = len(x) // batch_size
            self._order_pass, self._order = -1, None

        @property
        def num_batches(self):
            return None

        def __getitem__(self, index):
            pass_, i = divmod(index, self._per_pass)
            if len(x) == batch_size:
                return x, y
            if pass_ != self._order_pass:
                self._order_pass, self._order = pass_, np.random.default_rng([seed, pass_]).permutation(len(x))
            chosen = self._order[i * batch_size:(i + 1) * batch_size]
            return x[chosen], y[chosen]

    return ShuffledBatches()
