"""keras_repro.losses: the localisation and summed per-pixel BCE losses, IoU, and their saving."""
from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from conftest import assert_ok, run_python
from keras_repro.losses import LocalizationLoss, SummedPixelBCE, box_iou, decode_localization

LOG2 = math.log(2.0)


def loss_value(loss, y_true, y_pred) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(loss.call(np.asarray(y_true, "float32"),
                                                           np.asarray(y_pred, "float32"))))


def test_localization_loss_by_hand():
    present = [1.0, 0.5, 0.5, 0.2, 0.4]
    absent = [0.0, 0.9, 0.1, 0.3, 0.3]
    exact = [0.0, 0.0, 0.0, math.log(0.2), math.log(0.4)]
    values = loss_value(LocalizationLoss(), [present, absent], [exact, exact])
    # BCE(1/2, 1) + 2 × BCE(1/2, 1/2) for the present object; only BCE(1/2, 0) for the absent one
    np.testing.assert_allclose(values, [3 * LOG2, LOG2], rtol=1e-5)
    plain = loss_value(LocalizationLoss("plain"), [present], [[0.0, 0.0, 0.0, 0.2, 0.4]])
    np.testing.assert_allclose(plain, [3 * LOG2], rtol=1e-5)


def test_log_box_loss_costs_equal_relative_errors_equally():
    small, large = [1.0, 0.5, 0.5, 0.05, 0.05], [1.0, 0.5, 0.5, 0.8, 0.8]
    pred = lambda w: [10.0, 0.0, 0.0, math.log(1.1 * w), math.log(1.1 * w)]  # noqa: E731
    log_loss = loss_value(LocalizationLoss(), [small, large], [pred(0.05), pred(0.8)])
    assert log_loss[0] == pytest.approx(log_loss[1], rel=1e-6)
    plain_pred = lambda w: [10.0, 0.0, 0.0, 1.1 * w, 1.1 * w]  # noqa: E731
    plain = loss_value(LocalizationLoss("plain"), [small, large], [plain_pred(0.05), plain_pred(0.8)])
    assert plain[1] > plain[0] + 0.01  # the same 10% error costs more on the large box


def test_decode_and_iou():
    decoded = decode_localization(np.array([[0.0, 0.0, 0.0, math.log(0.5), 0.0]]))
    assert decoded["p"][0] == pytest.approx(0.5) and decoded["w"][0] == pytest.approx(0.5)
    a = np.array([[0.5, 0.5, 0.2, 0.2], [0.5, 0.5, 0.2, 0.2], [0.5, 0.5, 0.2, 0.2]])
    b = np.array([[0.5, 0.5, 0.2, 0.2], [0.9, 0.9, 0.1, 0.1], [0.6, 0.5, 0.2, 0.2]])
    np.testing.assert_allclose(box_iou(a, b), [1.0, 0.0, 1 / 3])


def test_summed_pixel_bce_sums_keras_bce_over_pixels():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 5, 4, 1)).astype("float32")
    masks = (rng.random((2, 5, 4, 1)) > 0.5).astype("float32")
    ours = loss_value(SummedPixelBCE(), masks, logits)
    per_pixel = keras.ops.convert_to_numpy(keras.losses.binary_crossentropy(masks, logits, from_logits=True))
    np.testing.assert_allclose(ours, per_pixel.reshape(2, -1).sum(1), rtol=1e-5)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="box_loss must be one of"):
        LocalizationLoss("sqrt")
    with pytest.raises(ValueError, match="min_side must be > 0"):
        LocalizationLoss(min_side=0)


def test_losses_round_trip_in_compiled_keras_files(tmp_path):
    code = f"""
        import keras, numpy as np
        import keras_repro
        from keras_repro.losses import LocalizationLoss, SummedPixelBCE
        for loss, out in ((LocalizationLoss("plain", min_side=0.01), 5), (SummedPixelBCE(), 1)):
            inputs = keras.Input((6,))
            model = keras.Model(inputs, keras.layers.Dense(out)(inputs))
            model.compile("sgd", loss)
            path = r"{tmp_path}/m.keras"
            model.save(path)
            loaded = keras.saving.load_model(path, safe_mode=True)
            assert type(loaded.loss) is type(loss), loaded.loss
            assert loaded.loss.get_config() == loss.get_config()
        print("ok")
    """
    assert assert_ok(run_python(code, timeout=120)).strip().endswith("ok")


def test_box_iou_counts_a_box_with_a_negative_side_as_empty():
    # the plain-sides model can predict w < 0: such a box covers nothing, so its IoU is 0 whatever it overlaps
    a, b = np.array([[0.5, 0.5, -0.2, 0.2]]), np.array([[0.5, 0.5, 0.4, 0.4]])
    assert box_iou(a, b).tolist() == [0.0] and box_iou(b, a).tolist() == [0.0]


def test_box_iou_is_not_keras_compute_iou():
    # keras.utils.bounding_boxes.compute_iou: pairwise table, float32, union + epsilon; ours is row by row,
    # float64 and exact, which matters for the small boxes of the shapes data
    a = np.array([[0.5, 0.5, 0.01, 0.01], [0.2, 0.3, 0.2, 0.1]])
    b = np.array([[0.5, 0.5, 0.01, 0.01], [0.25, 0.3, 0.2, 0.1]])
    table = keras.ops.convert_to_numpy(keras.utils.bounding_boxes.compute_iou(a, b, "center_xywh"))
    assert table.shape == (2, 2)
    assert box_iou(a, b)[0] == pytest.approx(1.0, abs=1e-12) and table[0, 0] < 0.9991  # identical 1 %-wide boxes
    np.testing.assert_allclose(np.diag(table), box_iou(a, b), rtol=1e-3)
