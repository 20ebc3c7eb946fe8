"""Class-folder image datasets (the Kaggle FER-2013 layout) loaded once into uint8 tensors.

Decoding 28k JPEGs takes a while on two cores, so the decoded array is cached next to the
user's cache directory, keyed by the folder's path, file count and size.
"""
import hashlib
import os
from pathlib import Path

import numpy as np
from PIL import Image

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".pgm"}


def list_images(root, classes):
    """(path, label) pairs in class order, then file-name order; unknown folders are an error."""
    root = Path(root)
    if not root.is_dir():
        raise SystemExit(f"data folder {root} does not exist: pass a class-folder dataset "
                         f"(one sub-folder per class: {', '.join(classes)})")
    found = sorted(p.name for p in root.iterdir() if p.is_dir())
    unknown = [name for name in found if name not in classes]
    if unknown:
        raise SystemExit(f"{root}: folders {unknown} are not among the classes {classes}")
    items = []
    for label, name in enumerate(classes):
        folder = root / name
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in IMAGE_SUFFIXES:
                items.append((path, label))
    if not items:
        raise SystemExit(f"{root}: no images found in its class folders")
    return items


def _cache_path(root, items, size):
    h = hashlib.sha1()
    h.update(str(Path(root).resolve()).encode())
    h.update(str(size).encode())
    for path, label in items:
        h.update(f"{path.name}:{label}:{path.stat().st_size}".encode())
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "fertui"
    return base / f"{Path(root).name}-{h.hexdigest()[:16]}.npz"


def load_folder(root, classes, size=48, limit_per_class=None, cache=True):
    """All images of a class-folder dataset as (N, size, size) uint8 grayscale and (N,) int64."""
    items = list_images(root, classes)
    if limit_per_class:
        kept, count = [], {}
        for path, label in items:
            if count.get(label, 0) < limit_per_class:
                kept.append((path, label))
                count[label] = count.get(label, 0) + 1
        items = kept
    cache_file = _cache_path(root, items, size) if cache else None
    if cache_file and cache_file.exists():
        with np.load(cache_file) as z:
            return z["images"], z["labels"]
    images = np.empty((len(items), size, size), dtype=np.uint8)
    for i, (path, _) in enumerate(items):
        with Image.open(path) as im:
            im = im.convert("L")
            if im.size != (size, size):
                im = im.resize((size, size), Image.BILINEAR)
            images[i] = np.asarray(im)
    labels = np.array([label for _, label in items], dtype=np.int64)
    if cache_file:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(".tmp.npz")
        np.savez(tmp, images=images, labels=labels)
        os.replace(tmp, cache_file)
    return images, labels
