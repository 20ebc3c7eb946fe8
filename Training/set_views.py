#!/usr/bin/env python3
"""Names a model file's default test-time views (`test_views` in its metadata), which fertui and
evaluate.py then use unless `--views` says otherwise.

    python Training/set_views.py --data ../shared/fer2013/val --model resnet18 --views shifts

The rule (issue 17): a view set beyond the mirror becomes a model's default only if it gains at
least --min-gain points (0.3) of accuracy on val, calibrated as fertui runs it. This measures the
file with the mirror alone and with the set, prints both, and writes the set only when the rule
holds (`--views mirror` removes the key). That the live pipeline keeps its frame rate with the set
is checked separately: `fertui bench --pipeline --model NAME --views SET --faces 5 --size 1280x720`.
Every tensor byte of the file is checked unchanged.
"""
import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import evaluate  # noqa: E402
from fertrain import data, export, metrics, views  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="class-folder dataset to measure on (val)")
    ap.add_argument("--model", required=True, help="shipped model name or .safetensors path")
    ap.add_argument("--views", required=True, choices=sorted(views.SETS))
    ap.add_argument("--min-gain", type=float, default=0.3, help="points of accuracy the set must gain")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    path = evaluate.model_path(args.model)
    meta = export.read_metadata(path)
    classes = meta["classes"].split(",")
    images, labels = data.load_folder(args.data, classes)
    acc = {}
    for name in ("mirror", args.views):
        acc[name] = metrics.report(labels, evaluate.ensemble_probs([path], images, view_set=name), classes)["accuracy"]
    gain = (acc[args.views] - acc["mirror"]) * 100
    print(f"{path.name}: mirror {acc['mirror']:.4f}, {args.views} {acc[args.views]:.4f} ({gain:+.2f} points)")
    before = export.tensor_bytes(path)
    if args.views == "mirror":
        export.update_metadata(path, {}, remove=["test_views"])
        print(f"removed test_views from {path}")
    elif gain < args.min_gain:
        print(f"not written: {args.views} gains {gain:+.2f} points, below the {args.min_gain:g} the rule asks; "
              f"the file keeps test_views {meta.get('test_views', '(none: the mirror)')}")
        return 1
    else:
        export.update_metadata(path, {"test_views": args.views})
        print(f"wrote test_views {args.views} into {path}")
    if export.tensor_bytes(path) != before:
        raise SystemExit(f"{path}: tensor bytes changed while writing the metadata; restore it from git")
    return 0


if __name__ == "__main__":
    sys.exit(main())
