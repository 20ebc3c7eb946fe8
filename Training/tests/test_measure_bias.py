"""measure_bias.py: biases fitted on one half of the faces, scored on the other."""
import numpy as np

import measure_bias as mb


def test_a_bias_fitted_on_one_half_lifts_an_under_called_class_on_the_other():
    # Class 1 is always under-called by the same margin: its true faces score 0.4 below class 0.
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 400)
    lp = np.where(labels[:, None] == 0, [[0.0, -1.0]], [[0.0, -0.4]]) + rng.normal(0, 0.05, (400, 2))
    rows = mb.held_out(lp, labels, {1: 0.9}, repeats=2, classes=["a", "b"])
    assert len(rows) == 4
    for r in rows:
        assert r["before"]["b"] == 0.0 and r["after"]["b"] > 0.9
        assert r["after"]["accuracy"] > r["before"]["accuracy"]
    s = mb.summarise(rows, {"b": 0.9})
    assert s["folds"] == 4 and s["folds_meeting_floors"] == 4 and s["folds_keeping_accuracy"] == 4
    assert s["mean_change"]["b"] > 0.9
