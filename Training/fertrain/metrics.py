"""The paper's evaluation: accuracy, weighted precision/recall/F1 (as sklearn's
classification_report), per-class figures, one-vs-rest AUC and its mean, confusion matrix; and the
expected calibration error (15 bins), as `fertui eval` reports it.
Plain numpy so it can be checked against sklearn in the tests."""
import numpy as np

from .calibration import ece

ECE_BINS = 15


def confusion(y_true, y_pred, k):
    m = np.zeros((k, k), dtype=np.int64)
    np.add.at(m, (y_true, y_pred), 1)
    return m


def auc_ovr(scores, positive):
    """Area under the ROC curve for one class vs the rest, ties counted half (Mann-Whitney)."""
    pos, neg = int(positive.sum()), int((~positive).sum())
    if pos == 0 or neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    s = scores[order]
    ranks = np.empty(len(s), dtype=np.float64)
    i = 0
    while i < len(s):  # average ranks over ties
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[i:j + 1] = (i + j) / 2 + 1
        i = j + 1
    r = np.empty_like(ranks)
    r[order] = ranks
    return float((r[positive].sum() - pos * (pos + 1) / 2) / (pos * neg))


def report(y_true, probs, classes):
    """Everything the paper reports, as a JSON-ready dict (same shape as `fertui eval --json`)."""
    y_true = np.asarray(y_true)
    probs = np.asarray(probs, dtype=np.float64)
    k = len(classes)
    y_pred = probs.argmax(1)
    cm = confusion(y_true, y_pred, k)
    support = cm.sum(1)
    predicted = cm.sum(0)
    tp = np.diag(cm)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / np.maximum(predicted, 1), 0.0)
        recall = np.where(support > 0, tp / np.maximum(support, 1), 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    aucs = [auc_ovr(probs[:, c], y_true == c) for c in range(k)]
    w = support / max(support.sum(), 1)
    per_class = {name: {"precision": float(precision[c]), "recall": float(recall[c]),
                        "f1": float(f1[c]), "support": int(support[c]),
                        "auc": None if np.isnan(aucs[c]) else aucs[c]}
                 for c, name in enumerate(classes)}
    return {
        "images": int(len(y_true)),
        "accuracy": float((y_pred == y_true).mean()) if len(y_true) else 0.0,
        "weighted": {"precision": float((precision * w).sum()), "recall": float((recall * w).sum()),
                     "f1": float((f1 * w).sum())},
        "macro_auc": float(np.nanmean(aucs)),
        "ece": ece(probs, y_true, ECE_BINS),
        "per_class": per_class,
        "confusion": cm.tolist(),
    }
