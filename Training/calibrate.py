#!/usr/bin/env python3
"""Fit a calibration map per model on a class-folder dataset (val), on exactly what fertui
computes: each view's logits z through the map, softmax, the face's and its mirror's probabilities
averaged. The maps (fertrain.calibration.MAPS), simplest first: `temperature` z / T; `bias`
z / T + b; `vector` z / T * s + b (per-class scale s and bias b), each fitted by NLL.

    python Training/calibrate.py --data ../shared/fer2013/val [--models resnet18 ...] [--map vector] [--write]

Prints, for the chosen map, NLL, accuracy and expected calibration error (15 bins) before and
after, and the "uncertain" threshold: the top probability below which a face is more often wrong
than right. Then every map side by side: on val, and held out (fitted on one random half of val,
measured on the other, both ways; the first split, and the mean over --splits splits). Saves
reliability diagrams (before and after) to Assets/models/figures/reliability-<model>.png.
--write stores the map in each .safetensors file's metadata (`temperature`, and `class_scale`,
`class_bias` when the map has them; 4 decimals, and the figures above are those of the rounded
map), every tensor byte unchanged.
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


def scores(probs, labels):
    return {"ece": cal.ece(probs, labels, BINS), "accuracy": float(np.mean(probs.argmax(1) == labels)),
            "nll": cal.nll(probs, labels)}


def rounded(fitted):
    """The map as the metadata stores it (4 decimals), so the figures are the shipped file's."""
    return cal.map_from_metadata(cal.map_to_metadata(fitted)[0])


def held_out(z, labels, kind, l2, splits):
    """Fit on one random half, score on the other, both ways, for `splits` seeded splits."""
    out = []
    for a, b in cal.half_splits(len(labels), range(splits)):
        fitted = cal.fit_map([zz[a] for zz in z], labels[a], kind, l2)
        out.append(scores(cal.apply_fitted([zz[b] for zz in z], fitted), labels[b]))
    return out


def calibrate_one(path, images, labels, kind="vector", l2=0.0, splits=10, shared=0.50):
    meta = export.read_metadata(path)
    vl = views.cached_logits(path, images, meta, mirror_views(meta))
    z = [vl[v] for v in mirror_views(meta)]
    before = cal.view_average(z, 1.0)
    fitted = rounded(cal.fit_map(z, labels, kind, l2))
    after = cal.apply_fitted(z, fitted)
    comparison = []
    for k in cal.MAPS:
        on_val = scores(cal.apply_fitted(z, cal.fit_map(z, labels, k, l2)), labels)
        held = held_out(z, labels, k, l2, splits)
        comparison.append({
            "map": k, "val": on_val, "held_out_first_split": [h["ece"] for h in held[:2]],
            "held_out_mean": {m: float(np.mean([h[m] for h in held])) for m in ("ece", "accuracy", "nll")}})
    # The first split's halves uncalibrated, in the order held_out measures them.
    uncal_halves = [cal.ece(before[h], labels[h], BINS) for _, h in cal.half_splits(len(labels), [0])]
    thr = cal.uncertain_threshold(after, labels)
    conf, correct = after.max(1), after.argmax(1) == labels
    low = conf < thr
    at = conf < shared  # fertui's threshold (FaceReading.uncertainBelow)
    return {
        "model": path.stem, "map": kind, "l2": l2, "views": mirror_views(meta),
        "metadata": cal.map_to_metadata(fitted)[0],
        "temperature": fitted["temperature"],
        "class_scale": None if fitted["scale"] is None else [float(v) for v in fitted["scale"]],
        "class_bias": None if fitted["bias"] is None else [float(v) for v in fitted["bias"]],
        "before": scores(before, labels), "after": scores(after, labels),
        "held_out_uncalibrated_first_split": uncal_halves, "maps": comparison, "splits": splits,
        "uncertain_threshold": thr, "share_below": float(low.mean()),
        "acc_below": float(correct[low].mean()) if low.any() else None,
        "acc_above": float(correct[~low].mean()) if (~low).any() else None,
        "threshold_interval": cal.threshold_interval(after, labels),
        "shared_threshold": {"threshold": shared, "share_below": float(at.mean()),
                             "acc_below": float(correct[at].mean()) if at.any() else None,
                             "acc_above": float(correct[~at].mean()) if (~at).any() else None},
        "_before": before, "_after": after,
    }


def describe(res):
    parts = [f"T {res['temperature']:.3f}"]
    if res["class_scale"] is not None:
        parts.append("class scale")
    if res["class_bias"] is not None:
        parts.append("class bias")
    return " + ".join(parts)


def reliability_figure(res, labels, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.2), sharey=True)
    edges = np.linspace(0, 1, BINS + 1)
    for ax, key, title in ((axes[0], "_before", "before (T = 1)"),
                           (axes[1], "_after", f"after ({describe(res)})")):
        count, conf, acc = cal.reliability(res[key], labels, BINS)
        keep = count > 0
        ax.bar(edges[:-1][keep], acc[keep], width=1 / BINS, align="edge", edgecolor="black",
               color="#4c72b0", label="accuracy")
        ax.bar(edges[:-1][keep], np.abs(conf - acc)[keep], bottom=np.minimum(conf, acc)[keep], width=1 / BINS,
               align="edge", color="#dd8452", alpha=0.6, hatch="//", label="gap to mean confidence")
        ax.plot([0, 1], [0, 1], "k--", lw=1)
        ece = res["before" if key == "_before" else "after"]["ece"]
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


def write_map(path, res):
    """Stores the map in the file's metadata and checks every tensor byte is unchanged."""
    before = export.tensor_bytes(path)
    updates, absent = cal.map_to_metadata({"temperature": res["temperature"], "bias": res["class_bias"],
                                            "scale": res["class_scale"]})
    export.update_metadata(path, updates, remove=absent)
    if export.tensor_bytes(path) != before:
        raise SystemExit(f"{path}: tensor bytes changed while writing the calibration; restore it from git")
    print(f"    wrote {', '.join(updates)} into {path}" + (f", removed {', '.join(absent)}" if absent else ""))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="class-folder dataset to fit on (val)")
    ap.add_argument("--models", nargs="+", default=["resnet18", "resnet34", "resnet50"],
                    help="shipped model names or .safetensors paths")
    ap.add_argument("--map", choices=cal.MAPS, default="vector", help="the map to fit, report and write")
    ap.add_argument("--l2", type=float, default=0.0, help="weight of an L2 penalty on the class bias")
    ap.add_argument("--splits", type=int, default=10, help="random half-splits for the held-out figures")
    ap.add_argument("--uncertain", type=float, default=0.50,
                    help="fertui's uncertain threshold, to report the share and accuracy either side of it")
    ap.add_argument("--figures", default=str(REPO / "Assets" / "models" / "figures"))
    ap.add_argument("--write", action="store_true", help="store the map in each model file's metadata")
    ap.add_argument("--json", help="also write the results to this JSON file")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    paths = [resolve_model(m) for m in args.models]
    classes = export.read_metadata(paths[0])["classes"].split(",")
    images, labels = data.load_folder(args.data, classes)
    results = []
    print(f"map: {args.map}" + (f", L2 {args.l2:g} on the bias" if args.l2 else "") + f"; ECE in {BINS} bins")
    print(f"{'model':<10}{'NLL before':>12}{'after':>8}{'ECE before':>12}{'after':>8}"
          f"{'acc before':>12}{'after':>8}{'uncertain <':>13}{'share':>7}{'acc below':>11}{'above':>7}")
    for p in paths:
        r = calibrate_one(p, images, labels, args.map, args.l2, args.splits, args.uncertain)
        reliability_figure(r, labels, Path(args.figures) / f"reliability-{r['model']}.png")
        b, a = r["before"], r["after"]
        print(f"{r['model']:<10}{b['nll']:>12.4f}{a['nll']:>8.4f}{b['ece']:>12.4f}{a['ece']:>8.4f}"
              f"{b['accuracy']:>12.4f}{a['accuracy']:>8.4f}"
              f"{r['uncertain_threshold']:>13.3f}{r['share_below']:>7.3f}{r['acc_below']:>11.3f}{r['acc_above']:>7.3f}")
        for key, value in r["metadata"].items():
            print(f"    {key} {value}")
        lo, hi = r["threshold_interval"]
        sh = r["shared_threshold"]
        print(f"    uncertain threshold {r['uncertain_threshold']:.3f} (bootstrap 10-90%: {lo:.3f}-{hi:.3f}); "
              f"at {sh['threshold']:.2f}: share below {sh['share_below']:.3f}, accuracy below {sh['acc_below']:.3f}, "
              f"at or above {sh['acc_above']:.3f}")
        print(f"    {'map':<12}{'val ECE':>9}{'acc':>8}{'NLL':>8}   held out: {'first split':>15}"
              f"{f'mean of {2 * args.splits}':>12}{'acc':>8}{'NLL':>8}")
        for c in r["maps"]:
            v, h = c["val"], c["held_out_mean"]
            first = ", ".join(f"{e:.4f}" for e in c["held_out_first_split"])
            print(f"    {c['map']:<12}{v['ece']:>9.4f}{v['accuracy']:>8.4f}{v['nll']:>8.4f}   {'':>10}{first:>15}"
                  f"{h['ece']:>12.4f}{h['accuracy']:>8.4f}{h['nll']:>8.4f}")
        print("    uncalibrated, first split's halves: "
              + ", ".join(f"{e:.4f}" for e in r["held_out_uncalibrated_first_split"]))
        results.append({k: v for k, v in r.items() if not k.startswith("_")})
        if args.write:
            write_map(p, r)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
