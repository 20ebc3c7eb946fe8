"""torchvision ResNet18/34/50 with a 7-way fc, and the paper's transfer set-up (freeze all but
the named layers, per-layer learning rates)."""
from pathlib import Path

import torch
import torchvision

ARCHS = {"resnet18": torchvision.models.resnet18,
         "resnet34": torchvision.models.resnet34,
         "resnet50": torchvision.models.resnet50}


def build(arch, num_classes, pretrained=None):
    """A torchvision ResNet; `pretrained` is a path to ImageNet weights (.pth or .safetensors),
    loaded before the fc is replaced, or to a model with a `num_classes`-way fc already (a
    fertui export, to train on from it), loaded as it is. None trains from scratch."""
    if arch not in ARCHS:
        raise SystemExit(f"unknown model type {arch!r}: use one of {', '.join(ARCHS)}")
    model = ARCHS[arch](weights=None)
    if pretrained:
        path = Path(pretrained)
        if not path.exists():
            raise SystemExit(f"ImageNet weights {path} not found: download torchvision's "
                             f"{arch} weights and set `pretrained:` in the config to their path")
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file
            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
        state = {k: (v.float() if v.is_floating_point() else v) for k, v in state.items()}
        if state.get("fc.weight") is not None and state["fc.weight"].shape[0] == num_classes:
            model.fc = torch.nn.Linear(model.fc.in_features, num_classes)
        model.load_state_dict(state)
    if model.fc.out_features != num_classes:
        model.fc = torch.nn.Linear(model.fc.in_features, num_classes)
    return model


def param_groups(model, train_cfg):
    """Adam parameter groups from `unfreeze` (list of top-level module names, or "all") and
    `lr` (a number, or a mapping module name -> lr with an optional `default`)."""
    unfreeze = train_cfg.get("unfreeze", "all")
    lr = train_cfg["lr"]
    names = [n for n, _ in model.named_children()]
    if unfreeze == "all":
        unfreeze = names
    for n in unfreeze:
        if n not in names:
            raise SystemExit(f"unfreeze: {n!r} is not a layer of the model ({', '.join(names)})")
    groups = []
    for name, module in model.named_children():
        params = list(module.parameters())
        if not params:
            continue
        trainable = name in unfreeze
        for p in params:
            p.requires_grad_(trainable)
        if trainable:
            rate = lr.get(name, lr.get("default")) if isinstance(lr, dict) else lr
            if rate is None:
                raise SystemExit(f"lr: no learning rate for {name!r} and no `default`")
            groups.append({"params": params, "lr": float(rate), "name": name})
    return groups
