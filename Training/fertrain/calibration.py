"""Confidence that means what it says: calibration maps (temperature; temperature and per-class
bias; per-class scale and bias) fitted on the engine's own output (softmax of each view's mapped
logits, then the views' probabilities averaged), expected calibration error, reliability bins, an
"uncertain" threshold, and per-class log-probability biases for the decision.
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


# The calibration maps fertui can apply to each view's logits z before its softmax, simplest first:
# "temperature" z / T; "bias" z / T + b (a per-class bias, bias-corrected temperature scaling,
# Alexandari et al. 2020); "vector" z / T * s + b (per-class scale and bias, Guo et al. 2017).
MAPS = ("temperature", "bias", "vector")


def apply_map(z, temperature=1.0, bias=None, scale=None):
    """One view's logits through the calibration map: z / T, times `scale`, plus `bias` (per class)."""
    z = np.asarray(z, dtype=np.float64) / temperature
    if scale is not None:
        z = z * np.asarray(scale, dtype=np.float64)
    if bias is not None:
        z = z + np.asarray(bias, dtype=np.float64)
    return z


def calibrated(view_logits, temperature=1.0, bias=None, scale=None):
    """What fertui computes with a calibration map: each view's mapped logits, softmax, averaged."""
    return np.mean([softmax(apply_map(z, temperature, bias, scale)) for z in view_logits], axis=0)


def _map_nll(theta, view_logits, labels, k, l2):
    """NLL (+ l2 * |b|^2) of `calibrated` and its gradient in theta = (log T, log s[k], q[k]),
    with b = q - mean(q) (softmax ignores a shared shift, so the bias is kept centred)."""
    t = np.exp(theta[0])
    s = np.exp(theta[1:1 + k])
    b = theta[1 + k:] - theta[1 + k:].mean()
    n, nv = len(labels), len(view_logits)
    rows = np.arange(n)
    scaled = [np.asarray(z, dtype=np.float64) * s / t for z in view_logits]  # (n, k) each, before the bias
    probs = [softmax(a + b) for a in scaled]
    p_true = np.clip(np.mean([p[rows, labels] for p in probs], axis=0), 1e-12, None)
    loss = -np.mean(np.log(p_true)) + l2 * np.sum(b * b)
    g_t, g_s, g_b = 0.0, np.zeros(k), np.zeros(k)
    for a, p in zip(scaled, probs):
        # d loss / d (mapped logits) of this view: -(P_y / (V p_y n)) (onehot(y) - P)
        g = p * (p[rows, labels] / (nv * p_true * n))[:, None]
        g[rows, labels] -= p[rows, labels] / (nv * p_true * n)
        g_b += g.sum(0)
        g_s += (g * a).sum(0)
        g_t -= float((g * a).sum())
    g_b = g_b + 2 * l2 * b
    return loss, np.r_[g_t, g_s, g_b - g_b.mean()]


def fit_map(view_logits, labels, kind="bias", l2=0.0):
    """The calibration map of `kind` (see MAPS) minimising the NLL of `calibrated` on `labels`,
    plus l2 * |bias|^2 when `l2` > 0. Returns {"temperature": T, "bias": b or None, "scale": s or
    None}: the bias is centred (sums to 0); for "vector" the scale is normalised to a geometric
    mean of 1, its overall size carried by T."""
    from scipy.optimize import minimize
    if kind not in MAPS:
        raise ValueError(f"unknown calibration map {kind!r}: use one of {', '.join(MAPS)}")
    labels = np.asarray(labels)
    t0 = fit_temperature(view_logits, labels)
    if kind == "temperature":
        return {"temperature": t0, "bias": None, "scale": None}
    k = view_logits[0].shape[1]
    free = np.r_[kind == "bias", np.full(k, kind == "vector"), np.ones(k, dtype=bool)]
    start = np.r_[np.log(t0), np.zeros(2 * k)]

    def f(x):
        theta = start.copy()
        theta[free] = x
        loss, grad = _map_nll(theta, view_logits, labels, k, l2)
        return loss, grad[free]

    res = minimize(f, start[free], jac=True, method="L-BFGS-B", options={"maxiter": 1000, "gtol": 1e-9})
    theta = start.copy()
    theta[free] = res.x
    bias = theta[1 + k:] - theta[1 + k:].mean()
    if kind == "bias":
        return {"temperature": float(np.exp(theta[0])), "bias": bias, "scale": None}
    log_s = theta[1:1 + k] - theta[0]  # s / T
    return {"temperature": float(np.exp(-log_s.mean())), "bias": bias, "scale": np.exp(log_s - log_s.mean())}


def apply_fitted(view_logits, fitted):
    """`calibrated` with a map from `fit_map`."""
    return calibrated(view_logits, fitted["temperature"], fitted["bias"], fitted["scale"])


def map_from_metadata(meta):
    """The calibration map a weights file carries (`temperature`, `class_scale`, `class_bias` in its
    metadata; T = 1 and no scale or bias when absent), as fit_map returns one."""
    def per_class(key):
        if key not in meta:
            return None
        v = np.array([float(x) for x in meta[key].split(",")])
        k = len(meta["classes"].split(",")) if "classes" in meta else len(v)
        if len(v) != k or not np.all(np.isfinite(v)):
            raise ValueError(f"__metadata__ {key} '{meta[key]}': expected {k} finite comma-separated numbers")
        return v
    return {"temperature": float(meta.get("temperature", 1.0)), "bias": per_class("class_bias"),
            "scale": per_class("class_scale")}


def map_to_metadata(fitted, decimals=4):
    """fit_map's result as the metadata fertui reads, each number rounded to `decimals` places, and the
    keys the map does not use (to be removed from the file): ({key: text}, [absent keys])."""
    out = {"temperature": f"{fitted['temperature']:.{decimals}f}"}
    for key, name in (("class_scale", "scale"), ("class_bias", "bias")):
        if fitted[name] is not None:
            out[key] = ",".join(f"{v:.{decimals}f}" for v in fitted[name])
    return out, [k for k in ("class_scale", "class_bias") if k not in out]


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


def threshold_interval(probs, labels, draws=200, seed=0, level=0.5):
    """The 10th and 90th percentiles of `uncertain_threshold` over bootstrap resamples of the
    faces: how far the crossing moves with the sample alone."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    t = []
    for _ in range(draws):
        i = rng.integers(0, len(labels), len(labels))
        t.append(uncertain_threshold(probs[i], labels[i], level))
    return tuple(float(v) for v in np.percentile(t, [10, 90]))


def half_splits(n, seeds):
    """(fit, held-out) index pairs for the held-out figures: for each seed, a random split of
    range(n) in halves, used both ways (the first half fitted, then the second)."""
    for seed in seeds:
        a, b = np.array_split(np.random.default_rng(seed).permutation(n), 2)
        yield a, b
        yield b, a


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
