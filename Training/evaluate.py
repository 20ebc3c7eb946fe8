#!/usr/bin/env python3
"""The paper's evaluation of an exported model on a class-folder dataset.

    python Training/evaluate.py --data ../shared/fer2013/val --model Assets/models/resnet18.safetensors

Prints accuracy, weighted precision/recall/F1, per-class figures with one-vs-rest AUC, the mean
AUC, the expected calibration error (15 bins) and the confusion matrix; `--json` prints the same object as `fertui eval --json`. Images are
taken as pre-cropped faces (FER-2013), grayscale, resized to 48x48 then to the model's input size,
exactly as fertui's preprocessing. The mirror average is used when the model's metadata says
`tta_flip: true`, as fertui does, unless --no-tta; the test-time views beyond it are the set the
file names (`test_views`, written by set_views.py) unless --views, and the mirror alone for an
ensemble's members.

    python Training/evaluate.py --data ../shared/fer2013/val --ensemble resnet18 resnet34 resnet50
    python Training/evaluate.py --data ../shared/fer2013/val --model ensemble

Probabilities are calibrated as fertui calibrates them: each view's logits through the map the
file's metadata carries (z / T * class_scale + class_bias; T = 1 and no scale or bias when absent),
softmax, then the face's and its mirror's averaged. An ensemble averages its members' calibrated
probabilities (--weights; --temperatures overrides each member's T) or, with --combine logit, the
members' and views' mapped logits before one softmax.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fertrain import data, export, metrics, views  # noqa: E402
from fertrain import calibration as cal  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SHIPPED = ("resnet18", "resnet34", "resnet50")


def format_report(rep, classes):
    lines = [f"images {rep['images']}  accuracy {rep['accuracy']:.4f}  "
             f"weighted precision {rep['weighted']['precision']:.4f} recall {rep['weighted']['recall']:.4f} "
             f"F1 {rep['weighted']['f1']:.4f}  mean AUC {rep['macro_auc']:.4f}  ECE {rep['ece']:.4f}",
             f"{'class':<10}{'precision':>10}{'recall':>10}{'f1':>10}{'auc':>10}{'support':>10}"]
    for c in classes:
        r = rep["per_class"][c]
        lines.append(f"{c:<10}{r['precision']:>10.4f}{r['recall']:>10.4f}{r['f1']:>10.4f}"
                     f"{r['auc']:>10.4f}{r['support']:>10d}")
    lines.append("confusion (rows true, columns predicted): " + " ".join(c[:3] for c in classes))
    for c, row in zip(classes, rep["confusion"]):
        lines.append(f"{c:<10}" + "".join(f"{v:>6d}" for v in row))
    return "\n".join(lines)


def model_path(name):
    """A shipped model's name (resnet18) or a .safetensors path -> an existing path."""
    p = Path(name)
    if p.suffix != ".safetensors":
        p = REPO / "Assets" / "models" / f"{name}.safetensors"
    if not p.exists():
        raise SystemExit(f"model {name} not found as {p}: train one (make train) or pass a .safetensors path")
    return p


def view_set_of(meta, view_set=None):
    """The views fertui sees a model through: `view_set` when given (`--views`), else the set its
    file names (`test_views`), else the mirror alone."""
    return view_set or meta.get("test_views", "mirror")


def ensemble_probs(paths, images, temperatures=None, weights=None, combine="prob", tta=True, view_set="mirror"):
    """Averaged calibrated probabilities of several models (see the module's docstring), each
    member seen through fertui's `--views view_set` as one model is (the mirror alone by default,
    as fertui's ensemble, whatever set a member's file names)."""
    metas = [export.read_metadata(p) for p in paths]
    maps = [cal.map_from_metadata(m) for m in metas]
    if temperatures is None:
        temperatures = [m["temperature"] for m in maps]
    weights = [1.0] * len(paths) if weights is None else weights
    if not (len(temperatures) == len(weights) == len(paths)):
        raise SystemExit(f"{len(paths)} models need as many temperatures and weights, "
                         f"got {len(temperatures)} and {len(weights)}")
    w = [x / sum(weights) for x in weights]
    member_views = []
    for p, meta, m, t in zip(paths, metas, maps, temperatures):
        names = views.names(view_set, tta and meta.get("tta_flip") == "true")
        z = views.cached_logits(p, images, meta, names)
        member_views.append([cal.apply_map(z[v], t, m["bias"], m["scale"]) for v in names])
    if combine == "logit":
        return cal.softmax(sum(wi * sum(zs) / len(zs) for wi, zs in zip(w, member_views)))
    if combine != "prob":
        raise SystemExit(f"--combine {combine!r}: use prob or logit")
    return sum(wi * cal.view_average(zs) for wi, zs in zip(w, member_views))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="class-folder dataset (one folder per class)")
    who = ap.add_mutually_exclusive_group(required=True)
    who.add_argument("--model", help="exported .safetensors file, or `ensemble` (the three shipped models)")
    who.add_argument("--ensemble", nargs="+", metavar="MODEL", help="models (names or files) to average")
    ap.add_argument("--temperatures", nargs="+", type=float, help="ensemble: one T per model (default: metadata)")
    ap.add_argument("--weights", nargs="+", type=float, help="ensemble: one weight per model (default: equal)")
    ap.add_argument("--combine", choices=("prob", "logit"), default="prob",
                    help="ensemble: average probabilities (as fertui) or logits")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--no-tta", action="store_true", help="ignore the model's tta_flip metadata")
    ap.add_argument("--views", choices=sorted(views.SETS), default=None,
                    help="test-time views besides the mirror, as fertui's --views (for every member of an "
                         "ensemble); default: the set the file names (test_views), else the mirror; the mirror "
                         "for an ensemble")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.model == "ensemble":
        args.ensemble = list(SHIPPED)
    if args.ensemble:
        paths = [model_path(m) for m in args.ensemble]
        classes = export.read_metadata(paths[0])["classes"].split(",")
        for p in paths[1:]:
            if export.read_metadata(p)["classes"].split(",") != classes:
                raise SystemExit(f"{p} has other classes than {paths[0]}: an ensemble needs the same classes")
        t0 = time.time()
        images, labels = data.load_folder(args.data, classes)
        # As fertui's ensemble: the mirror alone for every member unless --views says otherwise.
        probs = ensemble_probs(paths, images, args.temperatures, args.weights, args.combine, not args.no_tta,
                               args.views or "mirror")
        rep = {"model": "ensemble:" + "+".join(p.stem for p in paths), **metrics.report(labels, probs, classes)}
        if args.json:
            print(json.dumps(rep))
        else:
            temps = args.temperatures or [export.read_metadata(p).get("temperature", "1 (none in metadata)")
                                          for p in paths]
            print(f"ensemble {', '.join(map(str, paths))} on {args.data} in {time.time() - t0:.1f}s\n"
                  f"combine {args.combine}, temperatures {temps}, weights {args.weights or 'equal'}, "
                  f"views {args.views or 'mirror'}")
            print(format_report(rep, classes))
        return 0
    if not Path(args.model).exists():
        raise SystemExit(f"model {args.model} not found: train one (make train) or pass a .safetensors path")
    model, meta = export.load(args.model)
    classes = meta["classes"].split(",")
    size = int(meta["input_size"])
    t0 = time.time()
    images, labels = data.load_folder(args.data, classes)
    names = views.names(view_set_of(meta, args.views), meta.get("tta_flip") == "true" and not args.no_tta)
    z = [views.logits(model, torch.from_numpy(images), meta, v) for v in names]
    probs = cal.apply_fitted(z, cal.map_from_metadata(meta))
    rep = {"model": meta["arch"], **metrics.report(labels, probs, classes)}
    if args.json:
        print(json.dumps(rep))
    else:
        print(f"{args.model} ({meta['arch']}, input {size}) on {args.data} in {time.time() - t0:.1f}s")
        print(format_report(rep, classes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
