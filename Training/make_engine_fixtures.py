"""Parity fixtures for the Swift engine (Tests/EngineTests/Fixtures): PyTorch logits for torchvision
ResNet18/34/50 whose weights and inputs come from the deterministic generator that
Sources/Engine/SeededWeights.swift implements identically, so only expected outputs are committed.

    python3 Training/make_engine_fixtures.py [--out Tests/EngineTests/Fixtures] [--models Assets/models]

Re-runnable; writes engine_parity.json (with FIXTURE_VERSION) and python_written.safetensors.
When Assets/models/resnet{18,34,50}.safetensors exist it also records their logits on a seeded
batch with each file's SHA-256, so the Swift tests check the shipped models too and fail when a
file changed after its logits were recorded."""
import argparse
import hashlib
import json
from pathlib import Path

import numpy as np
import torch
import torchvision

FIXTURE_VERSION = 2
SEED = 7
CLASSES = 7
GOLDEN = 0x9E3779B97F4A7C15
MASK = (1 << 64) - 1
ARCHS = ("resnet18", "resnet34", "resnet50")
ROOT = Path(__file__).resolve().parent.parent


def fnv1a64(s):
    h = 0xCBF29CE484222325
    for b in s.encode():
        h ^= b
        h = (h * 0x100000001B3) & MASK
    return h


def uniform(name, count, lo, hi, seed):
    """Mirror of SeededWeights.uniform: splitmix64 of (fnv1a64(name) ^ seed*golden) + (i+1)*golden."""
    key = np.uint64(fnv1a64(name) ^ ((seed * GOLDEN) & MASK))
    i = np.arange(1, count + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = key + i * np.uint64(GOLDEN)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(40)).astype(np.float64) * (1.0 / 8388608.0) - 1.0
    t = (u + 1.0) * 0.5
    return (lo + (hi - lo) * t).astype(np.float32)


def value_range(name, shape):
    """Mirror of SeededWeights.range(for:shape:)."""
    if name.endswith("running_mean"):
        return -0.1, 0.1
    if name.endswith("running_var"):
        return 0.5, 1.5
    is_bn = name.startswith("bn") or ".bn" in name or "downsample.1" in name
    if is_bn and name.endswith(".weight"):
        return 0.3, 0.8
    if name.endswith(".bias"):
        return -0.1, 0.1
    fan_in = int(np.prod(shape[1:]))
    if len(shape) == 2:
        b = 1.0 / np.sqrt(fan_in)
        return -b, b
    b = np.sqrt(6.0 / fan_in)
    return -b, b


def seeded_model(arch, seed=SEED, classes=CLASSES):
    model = getattr(torchvision.models, arch)(weights=None, num_classes=classes)
    state = model.state_dict()
    for name, tensor in state.items():
        if not tensor.is_floating_point():
            continue  # num_batches_tracked
        lo, hi = value_range(name, list(tensor.shape))
        values = uniform(name, tensor.numel(), lo, hi, seed)
        state[name] = torch.from_numpy(values).reshape(tensor.shape)
    model.load_state_dict(state)
    return model.eval()


def seeded_input(batch, side, seed=SEED):
    """Mirror of SeededWeights.input: NCHW in [-2, 2); a smaller batch is a prefix of a larger one."""
    return torch.from_numpy(uniform(f"input.{side}", batch * 3 * side * side, -2.0, 2.0, seed)).reshape(batch, 3, side, side)


def logits(model, x):
    with torch.inference_mode():
        return model(x).reshape(-1).tolist()


def file_sha256(path):
    """SHA-256 of a whole file: identifies, by content, the file the fixture was made for."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def shipped_cases(models_dir):
    from safetensors import safe_open
    from safetensors.torch import load_file
    cases = []
    for arch in ARCHS:
        path = Path(models_dir) / f"{arch}.safetensors"
        if not path.exists():
            print(f"  {path} absent: no shipped-model fixture for {arch}")
            continue
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        state = {k: (v.float() if v.is_floating_point() else v) for k, v in load_file(str(path)).items()}
        classes = state["fc.weight"].shape[0]
        model = getattr(torchvision.models, meta.get("arch", arch))(weights=None, num_classes=classes)
        model.load_state_dict(state)
        model.eval()
        side = int(meta.get("input_size", "224"))
        x = seeded_input(3, side)
        cases.append({"file": path.name, "sha256": file_sha256(path),
                      "arch": meta.get("arch", arch), "size": side, "batch": 3, "logits": logits(model, x)})
        print(f"  shipped {path.name}: input {side}, logits recorded")
    return cases


def python_written_file(out):
    """A small file written by the safetensors library itself, with every dtype the reader handles."""
    from safetensors.torch import save_file
    tensors = {
        "a.f32": torch.tensor([[1.5, -2.25, 3.0], [0.0, 1e-3, -7.0]], dtype=torch.float32),
        "b.f16": torch.tensor([0.5, -1.0, 65504.0, 6e-5], dtype=torch.float16),
        "c.bf16": torch.tensor([1.0, -3.5, 0.15625], dtype=torch.bfloat16),
        "bn.num_batches_tracked": torch.tensor(12, dtype=torch.int64),
    }
    meta = {"arch": "resnet18", "input_size": "48", "note": "written by make_engine_fixtures.py"}
    save_file(tensors, str(out / "python_written.safetensors"), metadata=meta)
    return {
        "metadata": meta,
        "tensors": {k: {"shape": list(v.shape), "values": v.float().reshape(-1).tolist(),
                        "dtype": str(v.dtype).replace("torch.", "")} for k, v in tensors.items()},
    }


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=str(ROOT / "Tests/EngineTests/Fixtures"))
    p.add_argument("--models", default=str(ROOT / "Assets/models"))
    p.add_argument("--threads", type=int, default=1, help="torch threads (the machine is shared)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    fixture = {"version": FIXTURE_VERSION, "seed": SEED, "classes": CLASSES,
               "note": "made by Training/make_engine_fixtures.py; weights and inputs from SeededWeights",
               "generator_checks": [], "cases": [], "fp16_cases": [], "shipped": []}
    for arch in ARCHS:
        model = seeded_model(arch)
        state = model.state_dict()
        for name in ("conv1.weight", "bn1.running_var", "layer4.1.bn2.weight", "fc.weight", "fc.bias"):
            v = state[name].reshape(-1)
            fixture["generator_checks"].append({"arch": arch, "name": name, "first": v[:4].tolist(),
                                                "sum": float(v.double().sum())})
        for side in (48, 224):
            y = logits(model, seeded_input(3, side))
            for batch in (1, 3):
                fixture["cases"].append({"arch": arch, "size": side, "batch": batch,
                                         "logits": y[:batch * CLASSES]})
            print(f"  {arch} {side}: first logits {np.round(y[:CLASSES], 3).tolist()}")
    # The same resnet18 with every float rounded to fp16, as an fp16 file stores it.
    model = seeded_model("resnet18")
    model.load_state_dict({k: (v.half().float() if v.is_floating_point() else v) for k, v in model.state_dict().items()})
    fixture["fp16_cases"].append({"arch": "resnet18", "size": 48, "batch": 2,
                                  "logits": logits(model, seeded_input(2, 48))})
    fixture["python_written"] = python_written_file(out)
    fixture["shipped"] = shipped_cases(args.models)

    path = out / "engine_parity.json"
    path.write_text(json.dumps(fixture, indent=1) + "\n")
    print(f"wrote {path} (version {FIXTURE_VERSION})")


if __name__ == "__main__":
    main()
