#!/usr/bin/env python3
"""Where OpenCV's Haar cascade puts its box on FER-2013 faces, the crop geometry that turns a
cascade box back into FER's framing, and a model's accuracy through that detection path.

    python Training/measure_crop.py --data ../shared/fer2013/val [--limit-per-class 200]

Each 48x48 face is enlarged (bicubic) to --face px and set into a canvas twice its side, filled
either by replicating the face's border or by blurred noise of the face's mean and spread. The
cascade (scaleFactor 1.1, minSize 0.3 of the face; by default OpenCV's default frontal cascade
with minNeighbors 5, as the first runs in docs/recognition; fertui's own is `--cascade alt2
--min-neighbors 3`) runs on the canvas; the box overlapping the face most (IoU >= 0.3) counts as
found. Its corner and side, as fractions of the face's side, give the geometry; the median over
both canvases is the derived crop. Accuracy (the model, mirror-averaged as fertui does) is then
compared on the found faces: the original 48x48 face, the exact face region cut from the canvas,
the crop from the cascade box with the derived geometry, and the crop fertui takes today (box
plus margin). With --ensemble the models' probabilities averaged are scored as well; --views
sees every crop through fertui's test-time views (the mirror by default).
"""
import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fertrain import crop, data, export, views  # noqa: E402
from fertrain import calibration as cal  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CASCADES = "/usr/share/opencv4/haarcascades"


def canvas(face, side, variant, rng):
    """The face enlarged to `side` px in the middle of a square canvas 2 sides wide, and the
    face's top-left corner in it."""
    up = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)
    pad = int(round(side * 0.5))
    if variant == "replicate":
        return cv2.copyMakeBorder(up, pad, pad, pad, pad, cv2.BORDER_REPLICATE), pad
    if variant == "noise":
        n = side + 2 * pad
        # Smooth noise: coarse random values (one per 1/8 face side) enlarged bicubically.
        bg = rng.normal(0, 1, (max(2, n * 8 // side),) * 2).astype(np.float32)
        bg = cv2.resize(bg, (n, n), interpolation=cv2.INTER_CUBIC)
        bg = (bg - bg.mean()) / max(bg.std(), 1e-6) * max(face.std(), 10.0) + face.mean()
        out = np.clip(bg, 0, 255).astype(np.uint8)
        out[pad:pad + side, pad:pad + side] = up
        return out, pad
    raise ValueError(f"unknown canvas variant {variant!r} (replicate, noise)")


def iou(a, b):
    ax, ay, aw = a
    bx, by, bw = b
    ix = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0.0, min(ay + aw, by + bw) - max(ay, by))
    inter = ix * iy
    return inter / (aw * aw + bw * bw - inter)


def cascade_path(name):
    """A cascade XML path, or a short name of opencv-data's frontal cascades (default, alt, alt2)."""
    return name if name.endswith(".xml") else f"{CASCADES}/haarcascade_frontalface_{name}.xml"


def detect(cascade, img, face_box, min_size, min_neighbors=5):
    """The cascade's box (x, y, side) that overlaps `face_box` most, or None below IoU 0.3."""
    found = cascade.detectMultiScale(img, scaleFactor=1.1, minNeighbors=min_neighbors,
                                     minSize=(min_size, min_size))
    best, best_iou = None, 0.3
    for x, y, w, h in (found if len(found) else []):
        v = iou((float(x), float(y), float(w)), face_box)
        if v >= best_iou:
            best, best_iou = (float(x), float(y), float(w)), v
    return best


def cut(img, box):
    """Square float crop (x, y, side) of a uint8 image -> float (48, 48) in [0, 1] by
    antialiased bilinear, as fertui's Preprocessor (clipped to the image like its cropBox)."""
    x0, y0, x1, y1 = crop.integer_crop(box, img.shape[1], img.shape[0])
    t = torch.from_numpy(img[y0:y1, x0:x1].astype(np.float32) / 255)[None, None]
    return F.interpolate(t, size=(48, 48), mode="bilinear", antialias=True, align_corners=False)[0]


def fertui_today(box, margin):
    """fertui's Preprocessor.cropBox: the box grown by `margin` of its side on every edge."""
    x, y, side = box
    d = round(side * margin)
    return (x - d, y - d, side + 2 * d)


SIDE_SWEEP = (0.9, 1.1, 1.2)


def probabilities(model, meta, faces, calibrated=False, view_set="mirror"):
    """The class probabilities of `faces` averaged over fertui's `--views view_set` (the mirror by
    default); through the file's calibration map (as fertui computes it) when `calibrated`, else
    plain softmax."""
    z = [views.forward(model, faces, meta, v) for v in views.names(view_set)]
    return cal.apply_fitted(z, cal.map_from_metadata(meta)) if calibrated else cal.view_average(z)


def hit_rate(probs, labels):
    return float(np.mean(probs.argmax(1) == labels))


def scores(models, inputs, labels, calibrated, ensemble, view_set="mirror"):
    """Accuracy per model (and, with `ensemble`, of the models' probabilities averaged with equal
    weights, as fertui's `--model ensemble`) on each named input batch."""
    out = {name: {} for name in models}
    if ensemble:
        out["ensemble"] = {}
    for key, faces in inputs.items():
        probs = {name: probabilities(model, meta, faces, calibrated, view_set)
                 for name, (model, meta) in models.items()}
        for name, p in probs.items():
            out[name][key] = hit_rate(p, labels)
        if ensemble:
            out["ensemble"][key] = hit_rate(np.mean(list(probs.values()), axis=0), labels)
    return out


def model_path(name):
    """A shipped model's name (resnet18) or a .safetensors path (a candidate from a training run)."""
    if name.endswith(".safetensors"):
        return Path(name)
    return REPO / "Assets" / "models" / f"{name}.safetensors"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", nargs="+", default=["resnet18"],
                    help="shipped model names or .safetensors paths; the cascade runs once for all")
    ap.add_argument("--ensemble", action="store_true",
                    help="also score the models' probabilities averaged (give the three for fertui's ensemble)")
    ap.add_argument("--calibrated", action="store_true",
                    help="score through each file's calibration map, as fertui does (default: plain softmax)")
    ap.add_argument("--cascade", default="default",
                    help="default, alt, alt2 (fertui's) or an XML path (default: default, as the logged runs)")
    ap.add_argument("--min-neighbors", type=int, default=5, help="the cascade's minNeighbors (fertui: 3)")
    ap.add_argument("--face", type=int, default=192, help="side the 48 px face is enlarged to")
    ap.add_argument("--limit-per-class", type=int, default=None)
    ap.add_argument("--fertui-margin", type=float, default=0.022, help="Preprocessor.ferMargin today")
    ap.add_argument("--views", choices=sorted(views.SETS), default="mirror",
                    help="test-time views every crop is seen through, as fertui's --views (default: the "
                         "mirror for every file, not its test_views, so runs stay comparable)")
    ap.add_argument("--no-sweep", action="store_true", help="skip the crops of wider and tighter sides")
    ap.add_argument("--json", help="also write the results to this JSON file")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(1)
    models = {name: export.load(model_path(name)) for name in args.model}
    classes = next(iter(models.values()))[1]["classes"].split(",")
    images, labels = data.load_folder(args.data, classes, limit_per_class=args.limit_per_class)
    path = cascade_path(args.cascade)
    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        raise SystemExit(f"cascade {path} did not load: check the path, or apt-get install opencv-data")
    side, min_size = args.face, int(round(0.3 * args.face))
    rng = np.random.default_rng(0)
    t0 = time.time()
    runs = {}
    for variant in ("replicate", "noise"):
        boxes, canvases = [], []
        for img in images:
            c, pad = canvas(img, side, variant, rng)
            boxes.append(detect(cascade, c, (float(pad), float(pad), float(side)), min_size, args.min_neighbors))
            canvases.append((c, pad))
        runs[variant] = (boxes, canvases)
        print(f"{variant}: cascade on {len(images)} canvases in {time.time() - t0:.0f}s", flush=True)
    # Geometry: every found box relative to its face.
    geo = {}
    result = {"images": int(len(images)), "face_px": side, "data": str(args.data),
              "cascade": Path(path).name, "min_neighbors": args.min_neighbors,
              "calibrated": args.calibrated, "views": args.views}
    for variant, (boxes, canvases) in runs.items():
        rel = np.array([crop.relative_box(b, pad, pad, side) for b, (_, pad) in zip(boxes, canvases) if b])
        geo[variant] = rel
        result[variant] = {"detection_rate": float(len(rel) / len(images)),
                           **{k: crop.summary(rel[:, i]) for i, k in enumerate(("x_off", "y_off", "scale"))}}
    pooled = np.concatenate([geo["replicate"], geo["noise"]])
    derived = tuple(float(np.median(pooled[:, i])) for i in range(3))
    result["derived"] = {"x_off": derived[0], "y_off": derived[1], "scale": derived[2],
                         "centre_form": dict(zip(("side_factor", "dx", "dy"), crop.as_centre_form(derived)))}
    # Accuracy on the found faces, per canvas variant and model.
    direct = torch.from_numpy(images.astype(np.float32) / 255)[:, None]
    side_factor, dx, dy = crop.as_centre_form(derived)
    for variant, (boxes, canvases) in runs.items():
        idx = [i for i, b in enumerate(boxes) if b]
        y = labels[idx]
        inputs = {
            "direct_48": direct[idx],
            "exact_region_from_canvas":
                torch.stack([cut(canvases[i][0], (canvases[i][1], canvases[i][1], side)) for i in idx]),
            "cascade_derived_geometry":
                torch.stack([cut(canvases[i][0], crop.crop_from_box(boxes[i], derived)) for i in idx]),
            f"cascade_fertui_margin_{args.fertui_margin:g}":
                torch.stack([cut(canvases[i][0], fertui_today(boxes[i], args.fertui_margin)) for i in idx]),
        }
        # The derived centre with a wider or tighter side: does a looser crop absorb the box's jitter?
        sweep = {}
        for f in () if args.no_sweep else SIDE_SWEEP:
            g = crop.from_centre_form(f * side_factor, dx, dy)
            sweep[f"{f * side_factor:.3f}"] = torch.stack([cut(canvases[i][0], crop.crop_from_box(boxes[i], g))
                                                           for i in idx])
        plain = scores(models, inputs, y, args.calibrated, args.ensemble, args.views)
        swept = scores(models, sweep, y, args.calibrated, args.ensemble, args.views)
        per_model = {name: {"accuracy": plain[name], "accuracy_by_side_factor": swept[name]} for name in plain}
        if len(per_model) == 1:
            result[variant].update(per_model[args.model[0]])
        else:
            result[variant]["models"] = per_model
        print(variant, json.dumps(result[variant]), flush=True)
    print("derived", json.dumps(result["derived"]))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
