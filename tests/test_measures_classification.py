"""keras_repro.measures.classification: inference-mode scores and steps to a target accuracy."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import small_classifier

from keras_repro.data import digits_split
from keras_repro.measures.classification import StepsToTarget, classification_scores
from keras_repro.measures.gap import RepeatedArrays


def test_classification_scores():
    p = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    loss, accuracy = classification_scores(p, np.array([0, 1, 1]))
    assert loss == pytest.approx(-np.mean(np.log([0.9, 0.8, 0.4])))
    assert accuracy == pytest.approx(2 / 3)


def test_steps_to_target_stops_at_the_first_evaluation_that_reaches_it():
    split = digits_split(per_class=20, n_val=200, seed=0)
    data = RepeatedArrays(split.x_train, split.y_train, 20, repeats=5, seed=0)
    reached = StepsToTarget(split.x_val, split.y_val, target=0.5, every=5)
    small_classifier().fit(data, epochs=10, verbose=0, callbacks=[reached])
    assert reached.steps is not None and reached.steps % 5 == 0
    assert reached.curve[-1] == (reached.steps, pytest.approx(reached.curve[-1][1]))
    assert reached.curve[-1][1] >= 0.5 and all(a < 0.5 for _, a in reached.curve[:-1])
    never = StepsToTarget(split.x_val, split.y_val, target=1.0, every=10)
    small_classifier().fit(data, epochs=1, verbose=0, callbacks=[never])
    assert never.steps is None and len(never.curve) == len(data) // 10
