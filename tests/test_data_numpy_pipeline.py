"""make_datasets without TensorFlow: NumPy batches for in-memory sources (JAX-only GPU machines)."""
import numpy as np
import pytest

from keras_repro.data import DataUnavailable, make_datasets
from keras_repro.data.numpy_pipeline import inception_window, square_window

from conftest import assert_ok, run_python
from test_data_folder import write_tricky_folder


def test_windows_stay_inside_the_image():
    rng = np.random.default_rng(0)
    for _ in range(200):
        h, w = rng.integers(5, 60, size=2)
        for y, x, ch, cw in (square_window(h, w, 0.875, rng), inception_window(h, w, rng)):
            assert 0 <= y and 0 <= x and y + ch <= h and x + cw <= w and ch > 0 and cw > 0
    assert square_window(10, 20, 0.5) == (2, 7, 5, 5)  # centred: offsets (10 − 5) // 2 and (20 − 5) // 2


def test_numpy_batches_shapes_normalisation_and_repeatability():
    train, evaluation, info = make_datasets("digits", image_size=16, batch_size=32, seed=3, engine="numpy")
    x, y = train[0]
    assert x.shape == (32, 16, 16, 1) and x.dtype == np.float32 and y.dtype == np.int64
    assert len(train) == info.steps_per_epoch and info.train_count + info.eval_count == 1797
    again, _, _ = make_datasets("digits", image_size=16, batch_size=32, seed=3, engine="numpy")
    np.testing.assert_array_equal(again[0][0], x)  # same seed, same batch
    train.on_epoch_end()
    assert not np.array_equal(train[0][0], x)  # a new epoch: new order and new crops
    whole = np.concatenate([evaluation[i][0] for i in range(len(evaluation))])
    assert len(whole) == info.eval_count and abs(float(whole.mean())) < 0.2  # roughly centred by train stats


def test_numpy_evaluation_matches_the_tf_pipeline():
    _, np_eval, np_info = make_datasets("digits", image_size=24, batch_size=64, seed=1, engine="numpy")
    _, tf_eval, tf_info = make_datasets("digits", image_size=24, batch_size=64, seed=1, engine="tf")
    assert np_info.mean == pytest.approx(tf_info.mean) and np_info.std == pytest.approx(tf_info.std)
    tf_x, tf_y = next(iter(tf_eval.as_numpy_iterator()))
    np_x, np_y = np_eval[0]
    np.testing.assert_array_equal(np_y, tf_y)
    np.testing.assert_allclose(np_x, tf_x, atol=1e-4)  # same centre crop, same bilinear resize


def test_streamed_tfds_sources_need_tensorflow_and_folders_do_not():
    with pytest.raises(DataUnavailable, match="needs TensorFlow"):
        make_datasets("tfds:cifar10", image_size=16, engine="numpy")
    with pytest.raises(DataUnavailable, match="does not exist"):  # a folder is read by Pillow: only its absence fails
        make_datasets("folder:/nowhere", image_size=16, engine="numpy")
    with pytest.raises(ValueError, match="engine='torch'"):
        make_datasets("digits", engine="torch")


def test_training_without_tensorflow_on_jax(tmp_path):
    code = """
        import sys
        sys.modules["tensorflow"] = None  # a JAX-only machine: importing TensorFlow fails
        import keras
        from keras_repro.data import make_datasets
        from keras_repro.models import lenet5
        train, evaluation, info = make_datasets("digits", image_size=32, batch_size=64, seed=0, max_examples=256)
        model = lenet5(input_shape=(32, 32, 1), classes=info.num_classes)
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(train, epochs=1, verbose=0)
        print("ok", keras.backend.backend(), type(train).__name__, len(model.evaluate(evaluation, verbose=0)))
        files, _, folder = make_datasets("folder:" + sys.argv[1], image_size=32, batch_size=8, channels=1)
        model.fit(files, epochs=1, verbose=0)
        print("ok", type(files).__name__, sorted(p.rsplit("/", 1)[-1] for p in folder.unreadable))
    """
    folder = write_tricky_folder(tmp_path)
    out = assert_ok(run_python(code.replace("sys.argv[1]", repr(str(folder))), backend="jax", timeout=300))
    assert out.strip().splitlines()[-2:] == ["ok jax ArrayBatches 2",
                                            "ok FileBatches ['empty.jpg', 'text.jpg', 'truncated.jpg']"]


def test_tricky_folder_gives_the_same_files_on_both_engines(tmp_path):
    root = write_tricky_folder(tmp_path)
    _, np_eval, np_info = make_datasets(f"folder:{root}", image_size=24, batch_size=64, seed=1, engine="numpy")
    _, tf_eval, tf_info = make_datasets(f"folder:{root}", image_size=24, batch_size=64, seed=1, engine="tf")
    assert np_info.unreadable == tf_info.unreadable and np_info.train_count == tf_info.train_count
    assert np_info.mean == pytest.approx(tf_info.mean, abs=0.02)  # same files; Pillow's and libjpeg's pixels differ a little
    np_x, np_y = np_eval[0]
    tf_x, tf_y = next(iter(tf_eval.as_numpy_iterator()))
    np.testing.assert_array_equal(np_y, tf_y)
    assert np.median(np.abs(np_x - tf_x)) < 0.1
