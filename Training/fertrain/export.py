"""Write a trained model as the engine's weights file: safetensors, torchvision state_dict keys,
fp16 floats, model facts in `__metadata__` (all values strings)."""
import json
import os
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file


def metadata(arch, input_size, classes, mean, std, **extra):
    meta = {
        "arch": arch,
        "input_size": str(input_size),
        "classes": ",".join(classes),
        "mean": ",".join(f"{v:g}" for v in mean),
        "std": ",".join(f"{v:g}" for v in std),
        "grayscale": "true",
    }
    for k, v in extra.items():
        meta[k] = v if isinstance(v, str) else json.dumps(v)
    return meta


def export(model, path, meta, dtype=torch.float16):
    """Save a model's weights atomically (temporary file, then rename); see `export_state`."""
    export_state(model.state_dict(), path, meta, dtype)


def export_state(state_dict, path, meta, dtype=torch.float16):
    """Save a state dict atomically. Float tensors become `dtype`; integer buffers (BatchNorm's
    num_batches_tracked) keep their type so load_state_dict accepts the file."""
    state = {}
    for k, v in state_dict.items():
        v = v.detach().cpu()
        state[k] = (v.to(dtype) if v.is_floating_point() else v).contiguous()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    save_file(state, str(tmp), metadata=meta)
    os.replace(tmp, path)


def read_metadata(path):
    with safe_open(str(path), framework="pt") as f:
        return f.metadata() or {}


def load(path):
    """A torchvision model and its metadata from an exported file (floats back to fp32)."""
    from . import models
    from safetensors.torch import load_file
    meta = read_metadata(path)
    classes = meta["classes"].split(",")
    model = models.build(meta["arch"], len(classes))
    state = {k: (v.float() if v.is_floating_point() else v) for k, v in load_file(str(path)).items()}
    model.load_state_dict(state)
    model.eval()
    return model, meta


def tensor_bytes(path):
    """Everything after a safetensors file's header: the tensors, which a metadata edit must
    leave as they are."""
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        f.seek(8 + n)
        return f.read()


def update_metadata(path, updates, remove=()):
    """Set `updates` (str -> str) in a safetensors file's `__metadata__` and drop the keys in
    `remove`, leaving every tensor byte as it is: only the JSON header is rewritten (offsets are
    relative to the data, which follows the header unchanged). Written to a temporary file, then
    renamed over `path`."""
    import struct
    path = Path(path)
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        body = f.read()
    meta = dict(header.get("__metadata__") or {})
    meta.update({k: str(v) for k, v in updates.items()})
    for k in remove:
        meta.pop(k, None)
    header["__metadata__"] = meta
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # the format pads the header to 8 bytes with spaces
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        f.write(body)
    os.replace(tmp, path)
