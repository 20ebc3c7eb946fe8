"""Batch augmentation on tensors: flips, rotation, scale and shift (one affine warp), the face
detector's crop jitter (folded into the same warp), random crops from a padded image, brightness,
contrast, random erasing; and mixup / cutmix, which mix pairs of images and their labels. Runs on
whole batches on the training device, so the CPU cores stay on launching the network's kernels,
not on per-image Python transforms. Each step is off unless the config's `augment:` asks for it.
For distillation it can also make a teacher's view of each face: the same face without the
detector's crop jitter or erasing (`augment(..., teacher_view=True)`)."""
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from . import crop

QUARTILE_Z = 0.6744897501960817  # the standard normal's 75th percentile


def augment(x, cfg, generator=None, teacher_view=False):
    """x: (B, 1, H, W) float in [0, 1]. cfg: the YAML's `augment` mapping. Returns a new tensor,
    equal to x when the mapping asks for nothing. Mixing needs the labels too: see `mix`.

    With `teacher_view`, returns (B, 2, H, W): channel 0 is that tensor, channel 1 the same face
    as FER-2013 frames it, with the same flip, warp, brightness and contrast but neither the crop
    jitter nor the erased patch, for teachers that show the student what a well-framed, whole
    face should get (`mix` and `pad_crop` then treat both channels alike). The random draws are
    the same as without it, so the student's channel is unchanged."""
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
    theta = None  # (B, 2, 3): output grid -> input grid, grid units ([-1, 1] across the image)
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
    framed = theta  # the warp without the detector's box: the teacher's view
    if cfg.get("crop_jitter"):
        jitter = crop_jitter_theta(b, cfg["crop_jitter"], dev, generator)
        if cfg.get("hflip", 0) > 0:
            # The face was mirrored above: mirror its box too, so a flipped face's box sits where
            # the detector would put it on the mirrored face.
            jitter[:, 0, 2] = torch.where(flip, -jitter[:, 0, 2], jitter[:, 0, 2])
        theta = jitter if theta is None else compose(jitter, theta)
    padding = cfg.get("padding", "reflection")
    seen = warp(x, theta, padding)
    x = torch.cat([seen, warp(x, framed, padding)], dim=1) if teacher_view else seen

    if cfg.get("pad_crop", 0) > 0:
        x = pad_crop(x, int(cfg["pad_crop"]), cfg.get("pad_mode", "constant"), generator)

    if cfg.get("brightness", 0) > 0:
        k = cfg["brightness"]
        x = x * uniform(1 - k, 1 + k)[:, None, None, None]
    if cfg.get("contrast", 0) > 0:
        k = cfg["contrast"]
        mean = x.mean(dim=(2, 3), keepdim=True)  # each view about its own mean
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
        student = x[:, :1]
        student = torch.where(box[:, None], torch.rand_like(student), student)
        x = torch.cat([student, x[:, 1:]], dim=1)  # the teacher's view keeps the whole face
    return x


def warp(x, theta, padding):
    """x resampled through the sampling warp theta (B, 2, 3), or x itself when there is none."""
    if theta is None:
        return x
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode=padding, align_corners=False)


def compose(outer, inner):
    """The warp that applies `inner` (B, 2, 3), then `outer`: sampling grids map output
    coordinates to input ones, so the product is outer @ inner in homogeneous form."""
    row = torch.tensor([0.0, 0.0, 1.0], dtype=inner.dtype, device=inner.device).expand(inner.shape[0], 1, 3)
    return torch.bmm(outer, torch.cat([inner, row], dim=1))


def split_normal(median, q25, q75, z):
    """Values with the given median and quartiles from standard normal draws z: a normal of one
    spread below the median and another above it (the measured boxes are skewed)."""
    below = (median - q25) / QUARTILE_Z
    above = (q75 - median) / QUARTILE_Z
    return median + z * torch.where(z < 0, torch.full_like(z, below), torch.full_like(z, above))


def crop_jitter_theta(b, cfg, device, generator=None):
    """Sampling warps (B, 2, 3) that cut each face as fertui would around a face detector's box.

    A FER-2013 face is a crop whose framing the detector does not reproduce: its box sits at
    (x_off, y_off) with side `scale`, as fractions of the FER crop (`fertrain.crop`). `sources`
    lists measured distributions of the three, each as [median, 25th, 75th percentile]
    (`docs/recognition/crop-val200.json`; one source is picked per face, uniformly); each value is
    drawn from a split normal through those quartiles, cut at `clip` spreads. fertui then takes
    the crop `reference` (x_off, y_off, scale) implies around that box (`crop.crop_from_box`;
    (0, 0, 1), the box itself, is what a margin of 0 does), or, given `margin` instead, the box
    grown by that fraction of its side on every edge (fertui's `Preprocessor.cropBox`). With
    probability `prob` a face gets this crop, else it keeps the FER framing. The crop is in the
    face's own units: 0..1 across it.
    """
    sources = cfg["sources"]
    if "margin" in cfg:
        ref_x, ref_y, ref_scale = crop.from_centre_form(1 + 2 * float(cfg["margin"]), 0.0, 0.0)
    else:
        ref_x, ref_y, ref_scale = cfg.get("reference", [0.0, 0.0, 1.0])
    clip = float(cfg.get("clip", 2.5))
    which = torch.randint(0, len(sources), (b,), device=device, generator=generator)
    z = torch.randn(3, b, device=device, generator=generator).clamp_(-clip, clip)
    box = torch.zeros(3, b, device=device)
    for i, source in enumerate(sources):
        mine = which == i
        for j, key in enumerate(("x_off", "y_off", "scale")):
            median, q25, q75 = (float(v) for v in source[key])
            box[j] = torch.where(mine, split_normal(median, q25, q75, z[j]), box[j])
    x_off, y_off, side = box[0], box[1], box[2]
    side = side / ref_scale  # crop_from_box: crop side = box side / scale, corner moved back by offsets
    left, top = x_off - ref_x * side, y_off - ref_y * side
    hit = torch.rand(b, device=device, generator=generator) < float(cfg.get("prob", 1.0))
    one, zero = torch.ones_like(side), torch.zeros_like(side)
    side = torch.where(hit, side, one)
    left, top = torch.where(hit, left, zero), torch.where(hit, top, zero)
    # Output grid u in [-1, 1] -> input 2 * (left + (u + 1) / 2 * side) - 1 = u * side + 2 * left + side - 1.
    return torch.stack([
        torch.stack([side, zero, 2 * left + side - 1], dim=1),
        torch.stack([zero, side, 2 * top + side - 1], dim=1),
    ], dim=1)


def pad_crop(x, pad, mode="constant", generator=None):
    """Each image padded by `pad` pixels a side (`mode`: constant zeros, reflect or replicate) and
    cut back to its size at a random offset: a shift of up to ±pad whole pixels."""
    b, c, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad), mode=mode)
    oy = torch.randint(0, 2 * pad + 1, (b,), device=x.device, generator=generator)
    ox = torch.randint(0, 2 * pad + 1, (b,), device=x.device, generator=generator)
    rows = (oy[:, None] + torch.arange(h, device=x.device))[:, :, None]  # (B, H, 1)
    cols = (ox[:, None] + torch.arange(w, device=x.device))[:, None, :]  # (B, 1, W)
    picked = padded.permute(0, 2, 3, 1)[torch.arange(b, device=x.device)[:, None, None], rows, cols]
    return picked.permute(0, 3, 1, 2).contiguous()  # (B, H, W, C) -> (B, C, H, W)


@dataclass
class MixedTargets:
    """Labels of a mixed batch: each image is `lam` of image i (label `a`) and 1 - lam of its
    partner (label `b`). The loss is lam * loss(a) + (1 - lam) * loss(b), which keeps label
    smoothing and class weights as they are for plain labels."""
    a: torch.Tensor  # (B,) int64
    b: torch.Tensor  # (B,) int64
    lam: float

    def probabilities(self, k):
        """(B, k) target distributions: each row sums to 1."""
        return self.lam * F.one_hot(self.a, k).float() + (1 - self.lam) * F.one_hot(self.b, k).float()

    def dominant(self):
        """The label that makes up more of each image, for a training accuracy."""
        return self.a if self.lam >= 0.5 else self.b

    def __len__(self):
        return len(self.a)


def mix(x, y, cfg, rng):
    """Mixup (`mixup: alpha`) or cutmix (`cutmix: alpha`) of a batch with itself reversed, with
    probability `mix_prob` (default 1) per batch; with both asked, each mixed batch is one or the
    other, evenly. The share lam of the original is drawn from Beta(alpha, alpha); cutmix pastes
    a box of the partner covering 1 - lam of the image (lam is then the exact uncovered share).
    `rng` is a numpy Generator: these are per-batch scalars, drawn without touching the device.
    Returns (x, y) unchanged when the batch is not mixed, else (mixed x, MixedTargets)."""
    alphas = [(kind, float(cfg.get(kind, 0) or 0)) for kind in ("mixup", "cutmix")]
    alphas = [(kind, a) for kind, a in alphas if a > 0]
    if not alphas or rng.random() >= float(cfg.get("mix_prob", 1.0)):
        return x, y
    kind, alpha = alphas[int(rng.integers(len(alphas)))]
    lam = float(rng.beta(alpha, alpha))
    partner = x.flip(0)
    if kind == "mixup":
        x = lam * x + (1 - lam) * partner
    else:
        h, w = x.shape[-2:]
        cut = math.sqrt(1 - lam)
        ch, cw = int(round(h * cut)), int(round(w * cut))
        cy, cx = int(rng.integers(h)), int(rng.integers(w))
        y0, y1 = max(cy - ch // 2, 0), min(cy - ch // 2 + ch, h)
        x0, x1 = max(cx - cw // 2, 0), min(cx - cw // 2 + cw, w)
        x = x.clone()
        x[..., y0:y1, x0:x1] = partner[..., y0:y1, x0:x1]
        lam = 1 - (y1 - y0) * (x1 - x0) / (h * w)
    return x, MixedTargets(y, y.flip(0), lam)
