"""Our metrics against scikit-learn's on random predictions (ties, an absent class included)."""
import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support, roc_auc_score

from fertrain import CLASSES, metrics


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_report_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    n, k = 500, len(CLASSES)
    y = rng.integers(0, k, n)
    probs = rng.dirichlet(np.ones(k), n)
    probs[y == 3, 3] += 0.5  # some signal
    probs = np.round(probs / probs.sum(1, keepdims=True), 2)  # ties
    rep = metrics.report(y, probs, CLASSES)
    pred = probs.argmax(1)
    p, r, f, s = precision_recall_fscore_support(y, pred, average="weighted", zero_division=0)
    assert rep["weighted"]["precision"] == pytest.approx(p, abs=1e-12)
    assert rep["weighted"]["recall"] == pytest.approx(r, abs=1e-12)
    assert rep["weighted"]["f1"] == pytest.approx(f, abs=1e-12)
    assert rep["accuracy"] == pytest.approx((pred == y).mean())
    aucs = [roc_auc_score(y == c, probs[:, c]) for c in range(k)]
    for c, name in enumerate(CLASSES):
        assert rep["per_class"][name]["auc"] == pytest.approx(aucs[c], abs=1e-12)
    assert rep["macro_auc"] == pytest.approx(np.mean(aucs), abs=1e-12)
    assert rep["confusion"] == confusion_matrix(y, pred, labels=range(k)).tolist()
    top = probs.max(1)
    bins = np.minimum((top * 15).astype(int), 14)
    gaps = [abs(np.mean(pred[bins == b] == y[bins == b]) - top[bins == b].mean()) * np.mean(bins == b)
            for b in range(15) if np.any(bins == b)]
    assert rep["ece"] == pytest.approx(sum(gaps), abs=1e-12)


def test_class_never_predicted_has_zero_precision():
    y = np.array([0, 1, 1, 2])
    probs = np.eye(7)[[0, 0, 0, 2]]
    rep = metrics.report(y, probs, CLASSES)
    assert rep["per_class"]["disgust"]["precision"] == 0 and rep["per_class"]["disgust"]["recall"] == 0
    assert rep["per_class"]["disgust"]["support"] == 2
