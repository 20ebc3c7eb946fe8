"""Confidence that means what it says: temperature scaling fitted on the engine's own output
(softmax of each view's logits / T, then the views' probabilities averaged), expected calibration
error, reliability bins, an "uncertain" threshold, and per-class log-probability biases.
Plain numpy/scipy on arrays of logits so the tests can check them on synthetic data."""
import numpy as np
from scipy.optimize import minimize_scalar


def softmax(z):
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def view_average(view_logits, temperature=1.0):
    """What fertui computes: each view's logits divided by T, softmax, probabilities averaged."""
    return np.mean([softmax(np.asarray(z, dtype=np.float64) / temperature) for z in view_logits], axis=0)


def nll(probs, labels):
    return float(-np.mean(np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-12, None))))


def fit_temperature(view_logits, labels, lo=0.05, hi=20.0):
    """The T minimising the NLL of `view_average(view_logits, T)`: a coarse grid over log T, then
    a bounded scalar search around the best grid point (the NLL is smooth and one-humped in T)."""
    labels = np.asarray(labels)
    f = lambda log_t: nll(view_average(view_logits, np.exp(log_t)), labels)  # noqa: E731
    grid = np.linspace(np.log(lo), np.log(hi), 61)
    i = int(np.argmin([f(g) for g in grid]))
    a, b = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    res = minimize_scalar(f, bounds=(a, b), method="bounded", options={"xatol": 1e-6})
    return float(np.exp(res.x))


def fit_temperature_and_bias(view_logits, labels):
    """T and per-class biases b (b[0] = 0) minimising the NLL of the views' averaged
    softmax(logits / T + b): temperature scaling with a bias correction (Alexandari et al., 2020)."""
    from scipy.optimize import minimize
    labels = np.asarray(labels)
    k = view_logits[0].shape[1]

    def f(q):
        b = np.r_[0.0, q[1:]]
        return nll(np.mean([softmax(z / np.exp(q[0]) + b) for z in view_logits], axis=0), labels)

    res = minimize(f, np.zeros(k), method="L-BFGS-B")
    return float(np.exp(res.x[0])), np.r_[0.0, res.x[1:]]


def reliability(probs, labels, bins=15):
    """Per equal-width bin of the top probability: (count, mean confidence, accuracy); empty bins
    have count 0 and NaN means."""
    conf = probs.max(1)
    correct = probs.argmax(1) == np.asarray(labels)
    idx = np.minimum((conf * bins).astype(int), bins - 1)
    count = np.bincount(idx, minlength=bins)
    with np.errstate(invalid="ignore"):
        mean_conf = np.bincount(idx, conf, bins) / count
        acc = np.bincount(idx, correct.astype(float), bins) / count
    return count, mean_conf, acc


def ece(probs, labels, bins=15):
    """Expected calibration error: |accuracy - confidence| per bin, weighted by the bin's share."""
    count, mean_conf, acc = reliability(probs, labels, bins)
    keep = count > 0
    return float(np.sum(count[keep] / count.sum() * np.abs(acc[keep] - mean_conf[keep])))


def uncertain_threshold(probs, labels, level=0.5):
    """The top-probability value below which a face is more often wrong than right: the lowest
    confidence at which the isotonic (monotone) fit of correctness on confidence reaches `level`."""
    from sklearn.isotonic import IsotonicRegression
    conf = probs.max(1)
    correct = (probs.argmax(1) == np.asarray(labels)).astype(float)
    order = np.argsort(conf)
    fit = IsotonicRegression(increasing=True, out_of_bounds="clip").fit(conf[order], correct[order])
    above = conf[order][fit.predict(conf[order]) >= level]
    return float(above.min()) if len(above) else 1.0


def recalls(pred, labels, k):
    return np.array([np.mean(pred[labels == c] == c) if np.any(labels == c) else 0.0 for c in range(k)])


def fit_class_bias(log_probs, labels, floors, steps=np.linspace(-1.0, 1.0, 41), rounds=4):
    """Per-class biases b added to the log-probabilities (argmax of log p + b), found by
    coordinate search: maximise accuracy minus 2x any shortfall below the recall `floors`
    ({class index: minimum recall}). Class biases are relative; b[0] moves like any other."""
    labels = np.asarray(labels)
    k = log_probs.shape[1]

    def score(b):
        pred = (log_probs + b).argmax(1)
        r = recalls(pred, labels, k)
        short = sum(max(0.0, v - r[c]) for c, v in floors.items())
        return float(np.mean(pred == labels)) - 2.0 * short

    b = np.zeros(k)
    best = score(b)
    for _ in range(rounds):
        moved = False
        for c in range(k):
            for s in steps:
                trial = b.copy()
                trial[c] = s
                v = score(trial)
                if v > best + 1e-12:
                    best, b, moved = v, trial, True
        if not moved:
            break
    return b
