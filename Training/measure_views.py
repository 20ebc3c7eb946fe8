#!/usr/bin/env python3
"""Ensembles, test-time views and per-class biases of the shipped models, measured on val from
cached logits (Training/fertrain/views.py computes and caches what is missing).

    python Training/measure_views.py --data ../shared/fer2013/val [--views-for resnet18] [--json out.json]

Everything here is fitted and measured on the same data (val) unless a line says "two-fold":
there the fit is on one random half and the figure on the other, both ways, averaged.
"""
import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fertrain import data, export, metrics, views  # noqa: E402
from fertrain import calibration as cal  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
MODELS = ("resnet18", "resnet34", "resnet50")
VIEW_SETS = {  # name: (description, views); every extra view is also taken mirrored
    "mirror": ("mirror (fertui today)", list(views.MIRROR)),
    "shifts": ("mirror + 4 shifts", list(views.MIRROR) + [v + s for v in views.SHIFTS for s in ("", "+flip")]),
    "zoom": ("mirror + zoom", list(views.MIRROR) + [v + s for v in views.ZOOM for s in ("", "+flip")]),
    "all": ("mirror + 4 shifts + zoom", list(views.MIRROR) + [v + s for v in views.SHIFTS + views.ZOOM
                                                              for s in ("", "+flip")]),
}


def summary(labels, probs, classes):
    rep = metrics.report(labels, probs, classes)
    return {"accuracy": rep["accuracy"], **{f"weighted_{k}": v for k, v in rep["weighted"].items()},
            "macro_auc": rep["macro_auc"], "recall": {c: rep["per_class"][c]["recall"] for c in classes}}


def simplex(step):
    n = int(round(1 / step))
    for i, j in itertools.product(range(n + 1), repeat=2):
        if i + j <= n:
            yield np.array([i, j, n - i - j]) / n


def best_weights(member_probs, labels, idx, step=0.05):
    best, arg = -1.0, None
    for w in simplex(step):
        acc = np.mean(sum(wi * p[idx] for wi, p in zip(w, member_probs)).argmax(1) == labels[idx])
        if acc > best + 1e-12:
            best, arg = acc, w
    return arg


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--views-for", nargs="*", default=list(MODELS),
                    help="models whose extra views to measure (each costs 10 passes over the data)")
    ap.add_argument("--view-sets", nargs="+", choices=list(VIEW_SETS), default=list(VIEW_SETS),
                    help="which view sets to measure (shifts and all cost 8 and 10 extra passes)")
    ap.add_argument("--json", help="also write the results to this JSON file")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    paths = {m: REPO / "Assets" / "models" / f"{m}.safetensors" for m in MODELS}
    meta = export.read_metadata(paths["resnet18"])
    classes = meta["classes"].split(",")
    images, labels = data.load_folder(args.data, classes)
    k = len(classes)
    out = {"data": args.data, "images": int(len(labels))}

    # Temperatures on the mirror pair, as calibrate.py fits them.
    logits, temps, probs = {}, {}, {}
    for m, p in paths.items():
        logits[m] = views.cached_logits(p, images, export.read_metadata(p), list(views.MIRROR))
        temps[m] = cal.fit_temperature([logits[m][v] for v in views.MIRROR], labels)
        probs[m] = cal.view_average([logits[m][v] for v in views.MIRROR], temps[m])
    out["temperatures"] = temps
    out["single"] = {m: summary(labels, probs[m], classes) for m in MODELS}

    # Ensembles of the three.
    members = [probs[m] for m in MODELS]
    ens = {"prob average, calibrated (equal)": sum(members) / 3,
           "prob average, uncalibrated (equal)": sum(cal.view_average([logits[m][v] for v in views.MIRROR])
                                                     for m in MODELS) / 3,
           "logit average / T (equal)": cal.softmax(sum(sum(logits[m][v] for v in views.MIRROR) / 2 / temps[m]
                                                        for m in MODELS) / 3)}
    w = best_weights(members, labels, np.arange(len(labels)))
    ens[f"prob average, weights {np.round(w, 2).tolist()} (tuned on val)"] = sum(wi * p for wi, p in zip(w, members))
    out["ensemble"] = {name: {**summary(labels, p, classes), "ece": cal.ece(p, labels)} for name, p in ens.items()}
    cross = []
    for a, b in cal.half_splits(len(labels), [0]):
        wa = best_weights(members, labels, a)
        eq = np.mean((sum(members) / 3)[b].argmax(1) == labels[b])
        tuned = np.mean(sum(wi * p[b] for wi, p in zip(wa, members)).argmax(1) == labels[b])
        cross.append({"weights": wa.tolist(), "held_out_equal": float(eq), "held_out_tuned": float(tuned)})
    out["ensemble_weights_twofold"] = cross
    t_ens = cal.fit_temperature([np.log(np.clip(ens["prob average, calibrated (equal)"], 1e-12, None))], labels)
    out["ensemble_extra_temperature"] = t_ens

    # Test-time views beyond the mirror.
    out["views"] = {}
    for m in args.views_for:
        p = paths[m]
        chosen = [VIEW_SETS[k] for k in args.view_sets]
        allv = sorted({v for _, vs in chosen for v in vs})
        z = views.cached_logits(p, images, export.read_metadata(p), allv)
        row = {}
        for name, vs in chosen:
            pr = cal.view_average([z[v] for v in vs], temps[m])
            row[name] = {"forwards_per_face": len(vs), "accuracy": float(np.mean(pr.argmax(1) == labels)),
                         "ece": cal.ece(pr, labels)}
        out["views"][m] = row

    # Per-class biases on the log-probabilities, for the best single model and the equal ensemble.
    floors = {classes.index("fear"): 0.50, classes.index("angry"): 0.62}
    out["class_bias"] = {}
    for name, pr in (("resnet18", probs["resnet18"]), ("ensemble", ens["prob average, calibrated (equal)"])):
        lp = np.log(np.clip(pr, 1e-12, None))
        b = cal.fit_class_bias(lp, labels, floors)
        before, after = lp.argmax(1), (lp + b).argmax(1)
        folds = []
        for ia, ib in cal.half_splits(len(labels), [0]):
            ba = cal.fit_class_bias(lp[ia], labels[ia], floors)
            pa, pb = lp[ib].argmax(1), (lp[ib] + ba).argmax(1)
            folds.append({"acc_before": float(np.mean(pa == labels[ib])), "acc_after": float(np.mean(pb == labels[ib])),
                          "recall_before": dict(zip(classes, cal.recalls(pa, labels[ib], k).tolist())),
                          "recall_after": dict(zip(classes, cal.recalls(pb, labels[ib], k).tolist()))})
        out["class_bias"][name] = {
            "bias": dict(zip(classes, b.tolist())),
            "acc_before": float(np.mean(before == labels)), "acc_after": float(np.mean(after == labels)),
            "recall_before": dict(zip(classes, cal.recalls(before, labels, k).tolist())),
            "recall_after": dict(zip(classes, cal.recalls(after, labels, k).tolist())),
            "twofold": folds}
    print(json.dumps(out, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
