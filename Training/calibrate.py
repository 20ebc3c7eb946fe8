#!/usr/bin/env python3
"""Fit a softmax temperature per model on a class-folder dataset (val), on exactly what fertui
computes: softmax(logits / T) of the face and of its mirror, the two probabilities averaged.

    python Training/calibrate.py --data ../shared/fer2013/val [--models resnet18 ...] [--write]

Prints T, NLL, accuracy and expected calibration error (15 bins) before and after, a two-fold
check (T fitted on one half, ECE on the other), and the "uncertain" threshold: the top probability
below which a face is more often wrong than right. Saves reliability diagrams (before and after)
to Assets/models/figures/reliability-<model>.png. --write stores T as the metadata key
`temperature` in each .safetensors file, every tensor byte unchanged.
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fertrain import data, export, views  # noqa: E402
from fertrain import calibration as cal  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
BINS = 15


def resolve_model(name):
    p = Path(name)
    if p.suffix != ".safetensors":
        p = REPO / "Assets" / "models" / f"{name}.safetensors"
    if not p.exists():
        raise SystemExit(f"model {name} not found as {p}: pass resnet18/34/50 or a .safetensors path")
    return p


def mirror_views(meta):
    return list(views.MIRROR) if meta.get("tta_flip") == "true" else ["id"]


def calibrate_one(path, images, labels, split_seed=0):
    meta = export.read_metadata(path)
    vl = views.cached_logits(path, images, meta, mirror_views(meta))
    z = [vl[v] for v in mirror_views(meta)]
    t = cal.fit_temperature(z, labels)
    before, after = cal.view_average(z, 1.0), cal.view_average(z, t)
    # Two-fold check: T from one half, ECE on the other (both ways), to see it is not overfitted.
    rng = np.random.default_rng(split_seed)
    halves = np.array_split(rng.permutation(len(labels)), 2)
    cross = []
    for a, b in (halves, halves[::-1]):
        ta = cal.fit_temperature([zz[a] for zz in z], labels[a])
        cross.append((ta, cal.ece(cal.view_average([zz[b] for zz in z], ta), labels[b], BINS),
                      cal.ece(cal.view_average([zz[b] for zz in z], 1.0), labels[b], BINS)))
    tb, bias = cal.fit_temperature_and_bias(z, labels)
    with_bias = np.mean([cal.softmax(zz / tb + bias) for zz in z], axis=0)
    thr = cal.uncertain_threshold(after, labels)
    conf, correct = after.max(1), after.argmax(1) == labels
    low = conf < thr
    return {
        "model": path.stem, "temperature": t, "views": mirror_views(meta),
        "nll_before": cal.nll(before, labels), "nll_after": cal.nll(after, labels),
        "ece_before": cal.ece(before, labels, BINS), "ece_after": cal.ece(after, labels, BINS),
        "acc_before": float(np.mean(before.argmax(1) == labels)), "acc_after": float(np.mean(correct)),
        "twofold": [{"t": c[0], "ece_held_out": c[1], "ece_held_out_uncalibrated": c[2]} for c in cross],
        "t_with_bias": tb, "class_bias": [float(v) for v in bias],
        "ece_t_with_bias": cal.ece(with_bias, labels, BINS),
        "acc_t_with_bias": float(np.mean(with_bias.argmax(1) == labels)),
        "uncertain_threshold": thr, "share_below": float(low.mean()),
        "acc_below": float(correct[low].mean()) if low.any() else None,
        "acc_above": float(correct[~low].mean()) if (~low).any() else None,
        "_before": before, "_after": after,
    }


def reliability_figure(res, labels, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.2), sharey=True)
    edges = np.linspace(0, 1, BINS + 1)
    for ax, key, title in ((axes[0], "_before", "before (T = 1)"),
                           (axes[1], "_after", f"after (T = {res['temperature']:.3f})")):
        count, conf, acc = cal.reliability(res[key], labels, BINS)
        keep = count > 0
        ax.bar(edges[:-1][keep], acc[keep], width=1 / BINS, align="edge", edgecolor="black",
               color="#4c72b0", label="accuracy")
        ax.bar(edges[:-1][keep], np.abs(conf - acc)[keep], bottom=np.minimum(conf, acc)[keep], width=1 / BINS,
               align="edge", color="#dd8452", alpha=0.6, hatch="//", label="gap to mean confidence")
        ax.plot([0, 1], [0, 1], "k--", lw=1)
        ece = res["ece_before"] if key == "_before" else res["ece_after"]
        ax.set_title(f"{res['model']} {title}\nECE {ece:.4f} (15 bins)")
        ax.set_xlabel("top probability (mirror-averaged)")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
    axes[0].set_ylabel("accuracy on val")
    axes[0].legend(loc="upper left")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="class-folder dataset to fit on (val)")
    ap.add_argument("--models", nargs="+", default=["resnet18", "resnet34", "resnet50"],
                    help="shipped model names or .safetensors paths")
    ap.add_argument("--figures", default=str(REPO / "Assets" / "models" / "figures"))
    ap.add_argument("--write", action="store_true", help="store `temperature` in each model file's metadata")
    ap.add_argument("--json", help="also write the results to this JSON file")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    paths = [resolve_model(m) for m in args.models]
    classes = export.read_metadata(paths[0])["classes"].split(",")
    images, labels = data.load_folder(args.data, classes)
    results = []
    print(f"{'model':<10}{'T':>8}{'NLL before':>12}{'after':>8}{'ECE before':>12}{'after':>8}"
          f"{'acc before':>12}{'after':>8}{'uncertain <':>13}{'share':>7}{'acc below':>11}{'above':>7}")
    for p in paths:
        r = calibrate_one(p, images, labels)
        reliability_figure(r, labels, Path(args.figures) / f"reliability-{r['model']}.png")
        print(f"{r['model']:<10}{r['temperature']:>8.4f}{r['nll_before']:>12.4f}{r['nll_after']:>8.4f}"
              f"{r['ece_before']:>12.4f}{r['ece_after']:>8.4f}{r['acc_before']:>12.4f}{r['acc_after']:>8.4f}"
              f"{r['uncertain_threshold']:>13.3f}{r['share_below']:>7.3f}{r['acc_below']:>11.3f}{r['acc_above']:>7.3f}")
        for i, c in enumerate(r["twofold"]):
            print(f"    two-fold {i}: T {c['t']:.4f}, held-out ECE {c['ece_held_out']:.4f} "
                  f"(uncalibrated {c['ece_held_out_uncalibrated']:.4f})")
        print(f"    T + class bias (not written): T {r['t_with_bias']:.4f}, bias "
              f"{' '.join(f'{v:+.3f}' for v in r['class_bias'])}, ECE {r['ece_t_with_bias']:.4f}, "
              f"accuracy {r['acc_t_with_bias']:.4f}")
        results.append({k: v for k, v in r.items() if not k.startswith("_")})
        if args.write:
            with open(p, "rb") as f:
                f.seek(0)
                n = int.from_bytes(f.read(8), "little")
                f.seek(8 + n)
                body = f.read()
            export.update_metadata(p, {"temperature": f"{r['temperature']:.4f}"})
            with open(p, "rb") as f:
                n2 = int.from_bytes(f.read(8), "little")
                f.seek(8 + n2)
                if f.read() != body:
                    raise SystemExit(f"{p}: tensor bytes changed while writing the temperature; restore it from git")
            print(f"    wrote temperature {r['temperature']:.4f} into {p}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
