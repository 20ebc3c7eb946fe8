#!/usr/bin/env python3
"""Carry a training run under way from one machine to the next through git.

A run folder (`runs/...`, never committed) holds `last.pt`: the model, Adam's moments, the
schedule, the log. For a run longer than one session on a machine that does not survive the
session, `pack` keeps what the next session needs in two small files that can be committed:

    python3 Training/carry.py pack --config Training/configs/cpu-resnet18-long.yaml \\
        runs/cpu-resnet18-long Training/carry/cpu-resnet18-long
    python3 Training/carry.py unpack Training/carry/cpu-resnet18-long runs/cpu-resnet18-long
    python3 Training/train.py --config Training/configs/cpu-resnet18-long.yaml   # resumes

- `NAME.safetensors`: the weights after the last finished epoch, fp16, with the engine's
  metadata (so `fertui eval --model FILE` and `evaluate.py --model FILE` read it);
- `NAME.json`: the epoch reached, the planned length, the schedule's state, the optimiser's
  parameter groups (their current learning rates) and the log.

Adam's moments are left out (they would triple the file): the resumed run starts them afresh,
which makes its first steps move each weight by about the learning rate, the size of an ordinary
Adam step. The best epoch's weights are not carried either; after `unpack` the best so far is the
carried epoch (a long one-cycle run peaks at its end).
"""
import argparse
import json
import os
import sys
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train  # noqa: E402
from fertrain import export  # noqa: E402

FORMAT = "fertui-carry-1"


def write_json(path, obj):
    """Write a document atomically (temporary file, then rename)."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def load_checkpoint(path):
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except FileNotFoundError:
        raise SystemExit(f"{path}: no checkpoint there; name a run folder that train.py has written")
    except Exception as e:  # a truncated or foreign file: torch raises several kinds
        raise SystemExit(f"{path}: not a readable train.py checkpoint ({e}); train again or name another run")


def pack(config_path, run_dir, stem):
    """runs/X/last.pt -> stem.safetensors + stem.json; `config_path` is the run's recipe."""
    run_dir, stem = Path(run_dir), Path(stem)
    cfg = train.load_config(config_path)
    ck = load_checkpoint(run_dir / "last.pt")
    for key in ("model", "optimizer", "schedule", "epoch", "epochs", "history"):
        if key not in ck:
            raise SystemExit(f"{run_dir / 'last.pt'}: has no `{key}`; it is not a train.py checkpoint")
    arch = cfg["model"]["arch"]
    if not any(k.startswith("layer4.") for k in ck["model"]) or \
            ck["model"]["fc.weight"].shape[1] != (2048 if arch == "resnet50" else 512):
        raise SystemExit(f"{run_dir / 'last.pt'}: its weights are not a {arch}, the model {config_path} "
                         f"names; give the run's own recipe")
    history = ck["history"]
    mcfg, dcfg = cfg["model"], cfg["data"]
    meta = export.metadata(
        arch, int(mcfg["input_size"]), dcfg["classes"], dcfg["mean"], dcfg["std"],
        recipe=cfg.get("name", Path(config_path).stem) + ": " + cfg.get("description", ""),
        epochs=str(ck["epoch"]), val_accuracy=f"{history[-1]['val_acc']:.4f}" if history else "0",
        tta_flip="true" if cfg.get("eval", {}).get("tta_flip") else "false",
        trained_on=history[-1].get("device", "") if history else "", carry=FORMAT)
    stem.parent.mkdir(parents=True, exist_ok=True)
    export.export_state(ck["model"], stem.with_suffix(".safetensors"), meta)
    write_json(stem.with_suffix(".json"), {
        "format": FORMAT, "config": str(config_path), "epoch": ck["epoch"], "epochs": ck["epochs"],
        "schedule": ck["schedule"], "param_groups": ck["optimizer"]["param_groups"],
        "history": history})
    print(f"packed {run_dir} after epoch {ck['epoch']} of {ck['epochs']} into "
          f"{stem.with_suffix('.safetensors')} and {stem.with_suffix('.json')}")


def unpack(stem, run_dir, force=False):
    """stem.safetensors + stem.json -> run_dir/last.pt (and best.pt, log.jsonl) for train.py."""
    stem, run_dir = Path(stem), Path(run_dir)
    if (run_dir / "last.pt").exists() and not force:
        raise SystemExit(f"{run_dir / 'last.pt'} exists: a run is already there; move it away or give "
                         f"--force to replace it with the carried state")
    try:
        state = json.loads(stem.with_suffix(".json").read_text())
    except FileNotFoundError:
        raise SystemExit(f"{stem.with_suffix('.json')}: not found; give the stem `carry.py pack` wrote")
    except json.JSONDecodeError as e:
        raise SystemExit(f"{stem.with_suffix('.json')}: not valid JSON ({e}); restore it from git")
    if state.get("format") != FORMAT:
        raise SystemExit(f"{stem.with_suffix('.json')}: not a carry file (format {state.get('format')!r}, "
                         f"expected {FORMAT!r})")
    try:
        weights = load_file(str(stem.with_suffix(".safetensors")))
    except (FileNotFoundError, SafetensorError, OSError) as e:
        raise SystemExit(f"{stem.with_suffix('.safetensors')}: cannot read the carried weights ({e}); "
                         f"restore it from git")
    model = {k: (v.float() if v.is_floating_point() else v) for k, v in weights.items()}
    history = state["history"]
    epoch = state["epoch"]
    best = {"epoch": epoch, "val_acc": history[-1]["val_acc"]} if history else None
    ck = {"model": model, "optimizer": {"state": {}, "param_groups": state["param_groups"]},
          "schedule": state["schedule"], "epoch": epoch, "epochs": state["epochs"],
          "history": history, "best": best}
    run_dir.mkdir(parents=True, exist_ok=True)
    tmp = run_dir / "last.tmp"
    torch.save(ck, tmp)
    os.replace(tmp, run_dir / "last.pt")
    torch.save(model, run_dir / "best.pt")
    with open(run_dir / "log.jsonl", "w") as f:
        for row in history:
            f.write(json.dumps(row) + "\n")
    print(f"unpacked {stem} into {run_dir}: epoch {epoch} of {state['epochs']}; "
          f"train.py resumes from it (Adam's moments start afresh)")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pack", help="a run folder's last.pt -> STEM.safetensors + STEM.json")
    p.add_argument("--config", required=True, help="the run's recipe, for the weights' metadata")
    p.add_argument("run_dir")
    p.add_argument("stem", help="path without suffix, e.g. Training/carry/cpu-resnet18-long")
    u = sub.add_parser("unpack", help="STEM.safetensors + STEM.json -> a run folder train.py resumes")
    u.add_argument("stem")
    u.add_argument("run_dir")
    u.add_argument("--force", action="store_true", help="replace a last.pt already in the run folder")
    args = ap.parse_args(argv)
    if args.cmd == "pack":
        pack(args.config, args.run_dir, args.stem)
    else:
        unpack(args.stem, args.run_dir, args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
