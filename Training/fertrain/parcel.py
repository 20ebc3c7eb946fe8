"""Files sent back from a lent machine whose command returns at most a few files of a limited
size each (the device tool: 8 files, 16 MiB each, 64 MiB together): each file compressed (zlib),
cut into chunks, and the chunks dealt into numbered batches, one batch per command; a manifest
with every SHA-256 lets the receiving side put each file back together and check it bit for bit.

    batch 1: what the first command returns beside its own files (summary, logs)
    batch k: manifest.json + chunks, returned by the k-th command
"""
import hashlib
import json
import os
import shutil
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

MIB = 1 << 20
MANIFEST = "manifest.json"


@dataclass
class Limits:
    """What one command may return: files, bytes per file, bytes together. `margin` bytes of the
    total are kept for the manifest and, in the first batch, beside the command's own files."""
    files: int = 8
    file_bytes: int = 16 * MIB
    total_bytes: int = 64 * MIB
    chunk_bytes: int = 15 * MIB
    margin: int = 2 * MIB


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def _compress(data):
    packed = zlib.compress(data, 6)
    return ("zlib", packed) if len(packed) < len(data) else ("none", data)


def deal(files, outbox, limits, first_files=0, first_bytes=0, round_id=""):
    """Compress and chunk `files` (a list of (name, path), most wanted first) into
    outbox/batch-<k>/, and write the manifest into every batch. Batch 1 leaves room for
    `first_files` files of `first_bytes` bytes that its command returns besides. A file's chunks
    keep its order, so the most wanted files come back first. Returns the manifest."""
    if limits.chunk_bytes > limits.file_bytes:
        raise ValueError(f"chunk of {limits.chunk_bytes} bytes is over the file limit {limits.file_bytes}")
    outbox = Path(outbox)
    shutil.rmtree(outbox, ignore_errors=True)
    with ThreadPoolExecutor(max(1, min(len(files), os.cpu_count() or 1))) as pool:
        raws = [Path(path).read_bytes() for _, path in files]
        packed = list(pool.map(_compress, raws))
    manifest = {"round": round_id, "files": [], "batches": 0}
    batch, used_files, used_bytes = 1, first_files + 1, first_bytes + limits.margin  # + the manifest
    for (name, _), raw, (codec, data) in zip(files, raws, packed):
        entry = {"name": name, "bytes": len(raw), "sha256": sha256(raw), "codec": codec, "chunks": []}
        for i, start in enumerate(range(0, len(data), limits.chunk_bytes)):
            piece = data[start:start + limits.chunk_bytes]
            if used_files + 1 > limits.files or used_bytes + len(piece) > limits.total_bytes:
                batch, used_files, used_bytes = batch + 1, 1, limits.margin
            folder = outbox / f"batch-{batch}"
            folder.mkdir(parents=True, exist_ok=True)
            chunk_name = f"{name}.{codec}.{i:03d}"
            (folder / chunk_name).write_bytes(piece)
            used_files, used_bytes = used_files + 1, used_bytes + len(piece)
            entry["chunks"].append({"file": chunk_name, "bytes": len(piece), "sha256": sha256(piece),
                                    "batch": batch})
        manifest["files"].append(entry)
    manifest["batches"] = batch if manifest["files"] else 1
    text = json.dumps(manifest, indent=1)
    for k in range(1, manifest["batches"] + 1):
        folder = outbox / f"batch-{k}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / MANIFEST).write_text(text)
    return manifest


def send(outbox, batch, out):
    """Copy batch `batch` of the outbox into `out`: the names of the files copied ([] if none)."""
    folder = Path(outbox) / f"batch-{batch}"
    if not folder.is_dir():
        return []
    Path(out).mkdir(parents=True, exist_ok=True)
    sent = []
    for f in sorted(folder.iterdir()):
        shutil.copyfile(f, Path(out) / f.name)
        sent.append(f.name)
    return sent


def find_manifest(folders):
    """The manifest among the returned folders; all copies must be of the same round."""
    found = [json.loads((Path(d) / MANIFEST).read_text()) for d in folders if (Path(d) / MANIFEST).exists()]
    if not found:
        raise SystemExit(f"no {MANIFEST} in {', '.join(map(str, folders))}: pass the folders the device "
                         f"tool put the round's files in (its files_at)")
    rounds = {m["round"] for m in found}
    if len(rounds) > 1:
        raise SystemExit(f"the folders hold manifests of different rounds ({', '.join(sorted(rounds))}); "
                         f"pass one round's folders")
    return found[0]


def reassemble(folders, dest):
    """Put the manifest's files back together from chunks found in `folders` and write them to
    `dest`, each checked against its SHA-256. Returns ({name: path} of the files rebuilt,
    {name: [batches still missing]})."""
    manifest = find_manifest(folders)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    rebuilt, missing = {}, {}
    for entry in manifest["files"]:
        pieces, lacking = [], set()
        for chunk in entry["chunks"]:
            where = [Path(d) / chunk["file"] for d in folders if (Path(d) / chunk["file"]).exists()]
            if not where:
                lacking.add(chunk["batch"])
                continue
            data = where[0].read_bytes()
            if len(data) != chunk["bytes"] or sha256(data) != chunk["sha256"]:
                raise SystemExit(f"{where[0]}: {len(data)} bytes that do not match the manifest's "
                                 f"{chunk['bytes']} bytes and SHA-256; fetch batch {chunk['batch']} again")
            pieces.append(data)
        if lacking:
            missing[entry["name"]] = sorted(lacking)
            continue
        data = b"".join(pieces)
        raw = zlib.decompress(data) if entry["codec"] == "zlib" else data
        if len(raw) != entry["bytes"] or sha256(raw) != entry["sha256"]:
            raise SystemExit(f"{entry['name']}: reassembled {len(raw)} bytes whose SHA-256 is not the "
                             f"manifest's; fetch its batches again")
        path = dest / entry["name"]
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(raw)
        os.replace(tmp, path)
        rebuilt[entry["name"]] = path
    return rebuilt, missing
