"""A class-folder dataset (FER-2013's train and val) packed into one file that can travel to a
lent GPU machine, and read back as the same uint8 arrays `data.load_folder` gives.

The image files' own bytes are kept (FER-2013's JPEGs: lossless, and smaller than any lossless
coding of the decoded pixels we measured), concatenated and bz2-compressed in blocks that decode
in parallel. Layout:

    b"FERPACK1"  u64 little-endian header length  header (JSON)  body
    header: {"format": 1, "codec": "bz2", "size": 48, "classes": [...],
             "splits": {name: {"count": N, "pixels_sha256": hex, "index": [offset, length],
                               "blocks": [[offset, length, first image, image count], ...]}}}
    index (compressed): labels uint8[N], file lengths uint32[N] (little-endian), file names
                        joined by "\\n"; blocks (compressed): the files' bytes, one after another.
Offsets count from the body's start. `pixels_sha256` is of the decoded (N, size, size) array on
the packing machine: a loader elsewhere reports whether its decoder gave the same pixels.
"""
import bz2
import hashlib
import io
import json
import os
import struct
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from . import data

MAGIC = b"FERPACK1"
FORMAT = 1
BLOCK_IMAGES = 2048  # ~3 MB of JPEG per block: 15 blocks for FER-2013's train split


def _split_payload(root, classes, size):
    """(index bytes, blocks of file bytes with their image ranges, decoded pixels) of one split."""
    items = data.list_images(root, classes)
    files = [path.read_bytes() for path, _ in items]
    labels = np.array([label for _, label in items], dtype=np.uint8)
    lengths = np.array([len(f) for f in files], dtype="<u4")
    names = "\n".join(f"{path.parent.name}/{path.name}" for path, _ in items).encode()
    index = labels.tobytes() + lengths.tobytes() + names
    blocks = [(b"".join(files[i:i + BLOCK_IMAGES]), i, len(files[i:i + BLOCK_IMAGES]))
              for i in range(0, len(files), BLOCK_IMAGES)]
    pixels = np.stack([data.decode(io.BytesIO(f), size) for f in files])
    return index, blocks, pixels


def write(out, splits, classes, size=48, workers=None):
    """Pack class-folder datasets, `splits` a mapping name -> folder, into the file `out`
    (written to a temporary name, then renamed). Returns the header."""
    header = {"format": FORMAT, "codec": "bz2", "size": size, "classes": list(classes), "splits": {}}
    body = []
    offset = 0

    def put(chunk):
        nonlocal offset
        body.append(chunk)
        start, offset = offset, offset + len(chunk)
        return start

    with ThreadPoolExecutor(workers or os.cpu_count()) as pool:
        for name, root in splits.items():
            index, blocks, pixels = _split_payload(root, classes, size)
            packed = list(pool.map(lambda b: bz2.compress(b[0], 9), blocks))
            entry = {"count": len(pixels), "pixels_sha256": hashlib.sha256(pixels.tobytes()).hexdigest()}
            z = bz2.compress(index, 9)
            entry["index"] = [put(z), len(z)]
            entry["blocks"] = [[put(z), len(z), first, count] for z, (_, first, count) in zip(packed, blocks)]
            header["splits"][name] = entry
    raw = json.dumps(header, separators=(",", ":")).encode()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(MAGIC + struct.pack("<Q", len(raw)) + raw)
        for chunk in body:
            f.write(chunk)
    os.replace(tmp, out)
    return header


def read_header(path):
    """(header, header bytes, where the body starts) of a pack file."""
    with open(path, "rb") as f:
        magic = f.read(8)
        if magic != MAGIC:
            raise SystemExit(f"{path} is not a fertui data pack (it starts {magic!r}, not {MAGIC!r}); "
                             f"make one with `python3 Training/gpu_round.py prepare`")
        (n,) = struct.unpack("<Q", f.read(8))
        raw = f.read(n)
    header = json.loads(raw)
    if header.get("format") != FORMAT or header.get("codec") != "bz2":
        raise SystemExit(f"{path}: pack format {header.get('format')} / {header.get('codec')} is not "
                         f"{FORMAT} / bz2; pack it again with this checkout")
    return header, raw, 16 + n


def _read(f, body, entry):
    f.seek(body + entry[0])
    return bz2.decompress(f.read(entry[1]))


def load(path, split, classes, limit_per_class=None, workers=None, cache=True):
    """One split of a pack as (N, size, size) uint8 and (N,) int64, in `data.load_folder`'s order,
    and whether the decoded pixels equal the packing machine's. Decoded arrays that equal them are
    cached beside load_folder's, keyed by the pack's header."""
    path = Path(path)
    header, raw, body = read_header(path)
    if header["classes"] != list(classes):
        raise SystemExit(f"{path} holds classes {header['classes']}, the config {list(classes)}; "
                         f"pack the data again for these classes")
    if split not in header["splits"]:
        raise SystemExit(f"{path} has no split {split!r} (it has {', '.join(header['splits'])})")
    entry, size = header["splits"][split], header["size"]
    key = hashlib.sha256(raw).hexdigest()[:16]
    cache_file = data.cache_dir() / f"pack-{split}-{key}.npz"
    if cache and cache_file.exists():
        images, labels = data.read_cache(cache_file)
        same = True
    else:
        with open(path, "rb") as f:
            index = _read(f, body, entry["index"])
            blocks = [(_read(f, body, b), b[2], b[3]) for b in entry["blocks"]]
        n = entry["count"]
        labels = np.frombuffer(index[:n], dtype=np.uint8).astype(np.int64)
        lengths = np.frombuffer(index[n:5 * n], dtype="<u4").astype(np.int64)
        images = np.empty((n, size, size), dtype=np.uint8)

        def decode_block(block):
            payload, first, count = block
            ends = np.cumsum(lengths[first:first + count])
            if ends[-1] != len(payload):
                raise SystemExit(f"{path}: block at image {first} holds {len(payload)} bytes, its index "
                                 f"{ends[-1]}; the pack is damaged, pack it again")
            starts = ends - lengths[first:first + count]
            for i, (a, b) in enumerate(zip(starts, ends)):
                images[first + i] = data.decode(io.BytesIO(payload[a:b]), size)

        with ThreadPoolExecutor(workers or os.cpu_count()) as pool:
            list(pool.map(decode_block, blocks))
        same = hashlib.sha256(images.tobytes()).hexdigest() == entry["pixels_sha256"]
        if cache and same:
            data.write_cache(cache_file, images, labels)
    keep = data.first_per_class(labels.tolist(), limit_per_class)
    if len(keep) < len(labels):
        images, labels = images[keep], labels[keep]
    return images, labels, same


def names(path, split):
    """The packed files' names ("class/file.jpg"), in the pack's order."""
    header, _, body = read_header(path)
    entry = header["splits"][split]
    n = entry["count"]
    with open(path, "rb") as f:
        return _read(f, body, entry["index"])[5 * n:].decode().split("\n")
