"""tensorflow-datasets sources: mocked data for the pipeline, real tfds for the offline failure."""
from __future__ import annotations

import time

import numpy as np
import pytest
import tensorflow_datasets as tfds
from click.testing import CliRunner

from keras_repro.data import DataUnavailable, load_arrays, make_datasets
from keras_repro.data import tfds_source
from keras_repro.data.commands import data


@pytest.fixture
def mocked_tfds(monkeypatch):
    """tfds generates random examples; "downloading" is a no-op, so pretend the network answers."""
    monkeypatch.setattr(tfds_source, "network_available", lambda *a, **k: True)
    with tfds.testing.mock_data(num_examples=24):
        yield


def test_small_tfds_set_is_held_in_memory(mocked_tfds):
    train_ds, eval_ds, info = make_datasets("tfds:mnist", image_size=32, batch_size=8, seed=0)
    assert info.name == "tfds:mnist" and info.num_classes == 10 and info.channels == 1
    assert (info.train_count, info.eval_count) == (24, 24) and info.cached == {"train": False, "eval": False}
    x, y = next(iter(train_ds))
    assert x.shape == (8, 32, 32, 1) and y.dtype == "int64"
    assert sum(len(y) for _, y in eval_ds) == 24


def test_tfds_arrays(mocked_tfds):
    arr = load_arrays("tfds:mnist", image_size=20, channels=3)
    assert arr.x_train.shape == (24, 20, 20, 3) and arr.x_test.dtype == np.uint8 and arr.num_classes == 10
    with pytest.raises(DataUnavailable, match="make_datasets"):
        load_arrays("tfds:imagenette")  # varied image sizes: streamed, not held in memory


@pytest.mark.parametrize("augment", ["alexnet", "inception"])
def test_large_tfds_set_streams_encoded_images(mocked_tfds, augment):
    train_ds, eval_ds, info = make_datasets("tfds:imagenette", image_size=24, batch_size=10, seed=0,
                                            augment=augment, max_examples=20)
    assert info.num_classes == 10 and info.channels == 3 and info.train_count == 20
    batches = [x.numpy() for x, _ in train_ds]
    assert [len(b) for b in batches] == [10, 10] and batches[0].shape[1:] == (24, 24, 3)
    assert np.isfinite(np.concatenate(batches)).all()
    assert next(iter(eval_ds))[0].shape == (10, 24, 24, 3)


def test_unknown_tfds_name():
    with pytest.raises(DataUnavailable, match="no dataset 'no_such_set'"):
        make_datasets("tfds:no_such_set")


def _assert_names_alternatives(message: str) -> None:
    assert "'mnist' is not prepared" in message and "digits, faces, shapes" in message
    assert "--data-dir" in message and "\n" not in message


def test_offline_without_prepared_data_fails_fast(tmp_path):
    """The realistic case on this machine: no network, nothing prepared. tfds alone retries for minutes."""
    if tfds_source.network_available():
        pytest.skip("the network answers here; the offline path is covered by the tests below")
    start = time.monotonic()
    with pytest.raises(DataUnavailable) as caught:
        make_datasets("tfds:mnist", data_dir=tmp_path)
    assert time.monotonic() - start < 20
    _assert_names_alternatives(str(caught.value))
    assert "no network" in str(caught.value)


def test_offline_switch_never_tries(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_REPRO_OFFLINE", "1")
    start = time.monotonic()
    with pytest.raises(DataUnavailable, match="no network"):
        load_arrays("tfds:mnist", data_dir=tmp_path)
    assert time.monotonic() - start < 10


def test_failed_download_becomes_one_clear_error(tmp_path, monkeypatch):
    def refuse(self, *args, **kwargs):
        raise ConnectionError("Connection refused by storage.googleapis.com\nmore lines of detail")

    monkeypatch.setattr(tfds_source, "network_available", lambda *a, **k: True)
    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", refuse)
    with pytest.raises(DataUnavailable) as caught:
        make_datasets("tfds:mnist", data_dir=tmp_path)
    _assert_names_alternatives(str(caught.value))
    assert "Connection refused by storage.googleapis.com" in str(caught.value)


def test_imagenet_error_says_where_the_tars_go(tmp_path, monkeypatch):
    monkeypatch.setattr(tfds_source, "network_available", lambda *a, **k: False)
    with pytest.raises(DataUnavailable, match="downloads/manual"):
        make_datasets("tfds:imagenet2012", data_dir=tmp_path)


def test_inspect_offline_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_REPRO_OFFLINE", "1")
    result = CliRunner().invoke(data, ["inspect", "tfds:mnist", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1 and result.output.count("\n") == 1
    assert result.output.startswith("Error: tfds dataset 'mnist' is not prepared")


def test_inspect_tfds(mocked_tfds):
    result = CliRunner().invoke(data, ["inspect", "tfds:mnist"])
    assert result.exit_code == 0, result.output
    assert "classes: 10" in result.output and "train: 24 images" in result.output and "28×28×1" in result.output
