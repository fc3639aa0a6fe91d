"""keras_repro.measures.gap: the digits split, repeated passes per epoch and the overfitting gap."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import no_progress_fit, small_classifier

from keras_repro.data import digits_split
from keras_repro.measures.gap import RepeatedArrays, fit_tracking_gap


def test_repeated_arrays_covers_every_example_repeats_times_and_transforms_batches():
    x, y = np.arange(10, dtype="float32")[:, None], np.arange(10)
    data = RepeatedArrays(x, y, batch_size=4, repeats=3, seed=0, transform=lambda b, rng: b + 100)
    assert len(data) == 8
    batches = [data[i] for i in range(len(data))]
    seen = np.concatenate([b[1] for b in batches])
    assert np.bincount(seen).tolist() == [3] * 10
    assert all(np.array_equal(bx[:, 0] - 100, by) for bx, by in batches)


def test_fit_tracking_gap_records_inference_mode_gaps_every_epoch():
    split = digits_split(per_class=5, n_val=100, seed=0)
    rows = fit_tracking_gap(no_progress_fit, small_classifier(), split, epochs=3, repeats=2, batch_size=16, seed=0)
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    last = rows[-1]
    assert last["loss_gap"] == pytest.approx(last["val_loss"] - last["train_loss"])
    assert last["acc_gap"] == pytest.approx(last["train_acc"] - last["val_acc"])
    assert rows[-1]["train_loss"] < rows[0]["train_loss"]
