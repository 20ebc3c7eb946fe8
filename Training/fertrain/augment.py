"""Batch augmentation on tensors: flips, rotation, scale and shift (one affine warp), brightness,
contrast, and optional random erasing. Runs on whole batches so the two CPU cores stay on the
network, not on per-image Python transforms."""
import math

import torch
import torch.nn.functional as F


def augment(x, cfg, generator=None):
    """x: (B, 1, H, W) float in [0, 1]. cfg: the YAML's `augment` mapping. Returns a new tensor."""
    b = x.shape[0]
    dev = x.device

    def uniform(lo, hi):
        return lo + (hi - lo) * torch.rand(b, device=dev, generator=generator)

    if cfg.get("hflip", 0) > 0:
        flip = torch.rand(b, device=dev, generator=generator) < cfg["hflip"]
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)

    rot = math.radians(cfg.get("rotate_deg", 0))
    scale = cfg.get("scale", 0)
    shift = cfg.get("shift", 0)
    shear = math.radians(cfg.get("shear_deg", 0))
    if rot or scale or shift or shear:
        angle = uniform(-rot, rot)
        s = uniform(1 - scale, 1 + scale)
        sh = uniform(-shear, shear)
        tx, ty = uniform(-shift, shift) * 2, uniform(-shift, shift) * 2  # grid units span 2
        cos, sin = torch.cos(angle) / s, torch.sin(angle) / s
        theta = torch.stack([
            torch.stack([cos, -sin + torch.tan(sh) * cos, tx], dim=1),
            torch.stack([sin, cos, ty], dim=1),
        ], dim=1)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode=cfg.get("padding", "reflection"),
                          align_corners=False)

    if cfg.get("brightness", 0) > 0:
        k = cfg["brightness"]
        x = x * uniform(1 - k, 1 + k)[:, None, None, None]
    if cfg.get("contrast", 0) > 0:
        k = cfg["contrast"]
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = (x - mean) * uniform(1 - k, 1 + k)[:, None, None, None] + mean
    x = x.clamp(0, 1)

    p = cfg.get("erase", 0)
    if p > 0:
        h, w = x.shape[-2:]
        hit = torch.rand(b, device=dev, generator=generator) < p
        eh = (uniform(0.1, 0.4) * h).long()
        ew = (uniform(0.1, 0.4) * w).long()
        y0 = (torch.rand(b, device=dev, generator=generator) * (h - eh)).long()
        x0 = (torch.rand(b, device=dev, generator=generator) * (w - ew)).long()
        rows = torch.arange(h, device=dev)[None, :, None]
        cols = torch.arange(w, device=dev)[None, None, :]
        box = ((rows >= y0[:, None, None]) & (rows < (y0 + eh)[:, None, None]) &
               (cols >= x0[:, None, None]) & (cols < (x0 + ew)[:, None, None]))
        box = box & hit[:, None, None]
        x = torch.where(box[:, None], torch.rand_like(x), x)
    return x
