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
    return cache_dir() / f"{Path(root).name}-{h.hexdigest()[:16]}.npz"


def first_per_class(labels, limit_per_class):
    """Indices of the first `limit_per_class` items of each label, in order (all when None)."""
    if not limit_per_class:
        return list(range(len(labels)))
    kept, count = [], {}
    for i, label in enumerate(labels):
        if count.get(label, 0) < limit_per_class:
            kept.append(i)
            count[label] = count.get(label, 0) + 1
    return kept


def decode(file, size=48):
    """One image file (a path or a binary file object) as (size, size) uint8 grayscale."""
    with Image.open(file) as im:
        im = im.convert("L")
        if im.size != (size, size):
            im = im.resize((size, size), Image.BILINEAR)
        return np.asarray(im)


def cache_dir():
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "fertui"


def read_cache(path):
    with np.load(path) as z:
        return z["images"], z["labels"]


def write_cache(path, images, labels):
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(tmp, images=images, labels=labels)
    os.replace(tmp, path)


def load_folder(root, classes, size=48, limit_per_class=None, cache=True):
    """All images of a class-folder dataset as (N, size, size) uint8 grayscale and (N,) int64."""
    items = list_images(root, classes)
    items = [items[i] for i in first_per_class([label for _, label in items], limit_per_class)]
    cache_file = _cache_path(root, items, size) if cache else None
    if cache_file and cache_file.exists():
        return read_cache(cache_file)
    images = np.empty((len(items), size, size), dtype=np.uint8)
    for i, (path, _) in enumerate(items):
        images[i] = decode(path, size)
    labels = np.array([label for _, label in items], dtype=np.int64)
    if cache_file:
        write_cache(cache_file, images, labels)
    return images, labels
