#!/usr/bin/env python3
"""Can per-class decision biases meet the recall floors (fear >= 0.50, angry >= 0.62) without
costing accuracy on faces the fit has not seen? Repeated two-fold on val, through the shipped
files' calibration as fertui computes it.

    python Training/measure_bias.py --data ../shared/fer2013/val [--repeats 10] [--json out.json]

For each model (and the three-model ensemble) the biases b added to the log of the calibrated
probabilities (prediction = argmax(log p + b)) are fitted on one random half of val by
calibration.fit_class_bias and scored on the other half, both ways, for --repeats random splits.
Printed per model: the held-out change in accuracy and in the floors' recalls (mean over the
folds), how many folds meet both floors, and how many keep their accuracy.
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import evaluate  # noqa: E402
from fertrain import data, export  # noqa: E402
from fertrain import calibration as cal  # noqa: E402

FLOORS = {"fear": 0.50, "angry": 0.62}


def held_out(log_probs, labels, floors, repeats, classes):
    """Per fold: accuracy and the floors' recalls (by class name) on the held-out half before and
    after the biases fitted on the other half; `floors` is {class index: minimum recall}."""
    k = log_probs.shape[1]
    rows = []
    for fit, test in cal.half_splits(len(labels), range(repeats)):
        b = cal.fit_class_bias(log_probs[fit], labels[fit], floors)
        row = {}
        for when, bias in (("before", 0.0), ("after", b)):
            pred = (log_probs[test] + bias).argmax(1)
            r = cal.recalls(pred, labels[test], k)
            row[when] = {"accuracy": float(np.mean(pred == labels[test])),
                         **{classes[c]: float(r[c]) for c in floors}}
        rows.append(row)
    return rows


def summarise(rows, floors):
    """Mean change and mean after the biases over the folds, and the folds that meet every floor
    ({class name: minimum recall}) or keep their accuracy."""
    change = {key: float(np.mean([r["after"][key] - r["before"][key] for r in rows]))
              for key in rows[0]["after"]}
    return {"folds": len(rows), "mean_change": change,
            "after_mean": {key: float(np.mean([r["after"][key] for r in rows])) for key in rows[0]["after"]},
            "folds_meeting_floors": int(sum(all(r["after"][c] >= v for c, v in floors.items()) for r in rows)),
            "folds_keeping_accuracy": int(sum(r["after"]["accuracy"] >= r["before"]["accuracy"] for r in rows))}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", nargs="+", default=[*evaluate.SHIPPED, "ensemble"],
                    help="shipped names, .safetensors paths, or ensemble (the three shipped files)")
    ap.add_argument("--repeats", type=int, default=10, help="random splits (each scored both ways)")
    ap.add_argument("--json", help="also write the results to this JSON file")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    classes = export.read_metadata(evaluate.model_path("resnet18"))["classes"].split(",")
    images, labels = data.load_folder(args.data, classes)
    floors = {classes.index(c): v for c, v in FLOORS.items()}
    out = {"data": args.data, "images": int(len(labels)), "repeats": args.repeats, "floors": FLOORS, "models": {}}
    for name in args.model:
        if name == "ensemble":
            paths = [evaluate.model_path(m) for m in evaluate.SHIPPED]
            probs = evaluate.ensemble_probs(paths, images)
        else:
            path = evaluate.model_path(name)
            probs = evaluate.ensemble_probs([path], images,
                                            view_set=evaluate.view_set_of(export.read_metadata(path)))
        lp = np.log(np.clip(probs, 1e-12, None))
        s = summarise(held_out(lp, labels, floors, args.repeats, classes), FLOORS)
        out["models"][name] = s
        ch, af = s["mean_change"], s["after_mean"]
        print(f"{name}: held out, accuracy {ch['accuracy'] * 100:+.2f} pts to {af['accuracy']:.4f}, "
              f"fear {ch['fear']:+.3f} to {af['fear']:.3f}, angry {ch['angry']:+.3f} to {af['angry']:.3f}; "
              f"both floors met in {s['folds_meeting_floors']}/{s['folds']} folds, "
              f"accuracy kept in {s['folds_keeping_accuracy']}/{s['folds']}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
