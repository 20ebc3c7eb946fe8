#!/usr/bin/env python3
"""The paper's evaluation of an exported model on a class-folder dataset.

    python Training/evaluate.py --data ../shared/fer2013/val --model Assets/models/resnet18.safetensors

Prints accuracy, weighted precision/recall/F1, per-class figures with one-vs-rest AUC, the mean
AUC and the confusion matrix; `--json` prints the same object as `fertui eval --json`. Images are
taken as pre-cropped faces (FER-2013), grayscale, resized to 48x48 then to the model's input size,
exactly as fertui's preprocessing. The mirror average is used when the model's metadata says
`tta_flip: true`, as fertui does, unless --no-tta.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fertrain import data, export, metrics  # noqa: E402
from train import predict  # noqa: E402


def format_report(rep, classes):
    lines = [f"images {rep['images']}  accuracy {rep['accuracy']:.4f}  "
             f"weighted precision {rep['weighted']['precision']:.4f} recall {rep['weighted']['recall']:.4f} "
             f"F1 {rep['weighted']['f1']:.4f}  mean AUC {rep['macro_auc']:.4f}",
             f"{'class':<10}{'precision':>10}{'recall':>10}{'f1':>10}{'auc':>10}{'support':>10}"]
    for c in classes:
        r = rep["per_class"][c]
        lines.append(f"{c:<10}{r['precision']:>10.4f}{r['recall']:>10.4f}{r['f1']:>10.4f}"
                     f"{r['auc']:>10.4f}{r['support']:>10d}")
    lines.append("confusion (rows true, columns predicted): " + " ".join(c[:3] for c in classes))
    for c, row in zip(classes, rep["confusion"]):
        lines.append(f"{c:<10}" + "".join(f"{v:>6d}" for v in row))
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="class-folder dataset (one folder per class)")
    ap.add_argument("--model", required=True, help="exported .safetensors file")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--no-tta", action="store_true", help="ignore the model's tta_flip metadata")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if not Path(args.model).exists():
        raise SystemExit(f"model {args.model} not found: train one (make train) or pass a .safetensors path")
    model, meta = export.load(args.model)
    classes = meta["classes"].split(",")
    size = int(meta["input_size"])
    mean = [float(v) for v in meta["mean"].split(",")]
    std = [float(v) for v in meta["std"].split(",")]
    t0 = time.time()
    images, labels = data.load_folder(args.data, classes)
    probs = predict(model, torch.from_numpy(images), size, mean, std,
                    tta_flip=meta.get("tta_flip") == "true" and not args.no_tta)
    rep = {"model": meta["arch"], **metrics.report(labels, probs, classes)}
    if args.json:
        print(json.dumps(rep))
    else:
        print(f"{args.model} ({meta['arch']}, input {size}) on {args.data} in {time.time() - t0:.1f}s")
        print(format_report(rep, classes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
