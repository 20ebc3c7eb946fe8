"""Test-time views of 48x48 faces (the mirror, small shifts, a small zoom) and the models' raw
logits for each, cached on disk so that calibration, ensembles and view studies share one pass.

A view is a name: "id", "flip", "shift:DX,DY" (pixels, border replicated), "zoom:P" (P pixels
cut from every edge, the rest resized back to 48), and any of these + "+flip" (mirrored after).
"""
import hashlib
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

MIRROR = ("id", "flip")
SHIFTS = ("shift:2,0", "shift:-2,0", "shift:0,2", "shift:0,-2")
ZOOM = ("zoom:2",)
# fertui's --views sets: the views besides the face itself and its mirror.
SETS = {"mirror": (), "shifts": SHIFTS, "zoom": ZOOM, "all": SHIFTS + ZOOM}


def names(view_set="mirror", mirror=True):
    """The views a face is seen through for fertui's `--views view_set`, each extra one mirrored
    too when mirror-averaging."""
    out = []
    for v in ("id",) + SETS[view_set]:
        out.append(v)
        if mirror:
            out.append("flip" if v == "id" else v + "+flip")
    return out


def apply_view(x, view):
    """float (B, 1, H, W) -> the same shape seen through `view`."""
    flip = view.endswith("+flip") or view == "flip"
    base = view[:-5] if view.endswith("+flip") else view
    if base.startswith("shift:"):
        dx, dy = (int(v) for v in base[6:].split(","))
        p = max(abs(dx), abs(dy))
        h, w = x.shape[-2:]
        padded = F.pad(x, (p, p, p, p), mode="replicate")
        # Content moves by (dx, dy): output pixel (y, x) shows input (y - dy, x - dx).
        x = padded[..., p - dy:p - dy + h, p - dx:p - dx + w]
    elif base.startswith("zoom:"):
        p = int(base[5:])
        h, w = x.shape[-2:]
        x = F.interpolate(x[..., p:h - p, p:w - p], size=(h, w), mode="bilinear", align_corners=False)
    elif base not in ("id", "flip"):
        raise ValueError(f"unknown view {view!r}: use id, flip, shift:DX,DY, zoom:P, or any of them +flip")
    return x.flip(-1) if flip else x


@torch.no_grad()
def logits(model, images, meta, view, batch=256):
    """(N, classes) float64 logits of uint8 (N, 48, 48) `images` seen through `view`, prepared
    exactly as the trainer and the engine do (bilinear to the input size, [0,1], mean/std)."""
    return forward(model, images.float().div(255).unsqueeze(1), meta, view, batch)


@torch.no_grad()
def forward(model, faces, meta, view="id", batch=256):
    """(N, classes) float64 logits of float (N, 1, 48, 48) faces in [0, 1] through `view`."""
    from train import normalise
    size = int(meta["input_size"])
    mean = [float(v) for v in meta["mean"].split(",")]
    std = [float(v) for v in meta["std"].split(",")]
    model.eval()
    out = []
    for i in range(0, len(faces), batch):
        x = apply_view(faces[i:i + batch], view)
        if x.shape[-1] != size:
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
        out.append(model(normalise(x, mean, std)).double())
    return torch.cat(out).numpy()


def _file_digest(path):
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def cached_logits(model_path, images, meta, views, model=None, cache=True):
    """{view: logits} for `views`, reusing logits saved for this exact model file and image set."""
    key = hashlib.sha1(np.ascontiguousarray(images).tobytes()).hexdigest()[:16]
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "fertui" / "logits"
    digest = _file_digest(model_path)
    out = {}
    for view in views:
        f = base / f"{digest}-{key}-{view.replace(':', '_').replace(',', '_')}.npy"
        if cache and f.exists():
            out[view] = np.load(f)
            continue
        if model is None:
            from . import export
            model, _ = export.load(model_path)
        out[view] = logits(model, torch.from_numpy(images), meta, view)
        if cache:
            f.parent.mkdir(parents=True, exist_ok=True)
            tmp = f.with_suffix(".tmp.npy")
            np.save(tmp, out[view])
            os.replace(tmp, f)
    return out
