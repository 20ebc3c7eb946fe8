"""The batch augmentations the GPU round adds (random crops from a padded image, the detector's
crop jitter, mixup and cutmix) and the loss on mixed labels: shapes and ranges, that each is off
(and leaves the random stream as it was) unless asked, and that their statistics are those asked."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml

import train
from fertrain import augment as aug
from fertrain import crop

from test_training import REPO


def faces(b=16, size=48, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, 1, size, size, generator=g)


def fixed_jitter(x_off, y_off, scale, **extra):
    """A crop-jitter config whose one source has no spread: every face gets this box."""
    return {"sources": [{"x_off": [x_off] * 3, "y_off": [y_off] * 3, "scale": [scale] * 3}], **extra}


def test_new_keys_off_leave_the_shipped_recipe_bit_for_bit():
    cfg = yaml.safe_load(open(REPO / "Training/configs/fertui-resnet18.yaml"))["augment"]
    off = {**cfg, "pad_crop": 0, "crop_jitter": None, "mixup": 0, "cutmix": 0}
    x = faces()
    torch.manual_seed(4)  # random erasing fills from the global stream
    a = aug.augment(x, cfg, torch.Generator().manual_seed(3))
    torch.manual_seed(4)
    b = aug.augment(x, off, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    assert torch.equal(aug.augment(x, {}), x)
    y = torch.arange(16) % 7
    rng = np.random.default_rng(0)
    mixed_x, mixed_y = aug.mix(x, y, off, rng)
    assert mixed_x is x and mixed_y is y
    assert rng.random() == np.random.default_rng(0).random()  # nothing drawn


def test_pad_crop_cuts_a_window_of_the_padded_image_at_every_offset():
    x = faces(64, size=12)
    out = aug.pad_crop(x, 2, "constant", torch.Generator().manual_seed(1))
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    padded = F.pad(x, (2, 2, 2, 2))
    offsets = set()
    for i in range(len(x)):
        found = [(oy, ox) for oy in range(5) for ox in range(5)
                 if torch.equal(out[i], padded[i, :, oy:oy + 12, ox:ox + 12])]
        assert found, f"image {i} is no window of its padded copy"
        offsets.add(found[0])
    assert {o[0] for o in offsets} == set(range(5)) and {o[1] for o in offsets} == set(range(5))
    reflect = aug.augment(x, {"pad_crop": 2, "pad_mode": "reflect"}, torch.Generator().manual_seed(1))
    assert reflect.shape == x.shape and reflect.min() >= 0 and reflect.max() <= 1


def box_of(theta, reference=(0.0, 0.0, 1.0)):
    """(x_off, y_off, scale) of the detector box behind jitter warps: the crop from the warp, then
    crop.box_from_crop with the reference geometry."""
    side = theta[:, 0, 0]
    left = (theta[:, 0, 2] - side + 1) / 2
    top = (theta[:, 1, 2] - side + 1) / 2
    rx, ry, rs = reference
    return left + rx * side, top + ry * side, side * rs


def test_crop_jitter_draws_the_measured_median_and_quartiles():
    cfg = {"sources": [{"x_off": [0.03125, 0.0, 0.0625], "y_off": [0.026, 0.0, 0.057],
                        "scale": [0.9375, 0.87109375, 0.9895833333333334]}], "clip": 4}
    theta = aug.crop_jitter_theta(200_000, cfg, "cpu", torch.Generator().manual_seed(0))
    for got, (median, q25, q75) in zip(box_of(theta), (cfg["sources"][0][k] for k in ("x_off", "y_off", "scale"))):
        q = torch.quantile(got[:100_000], torch.tensor([0.25, 0.5, 0.75])).tolist()
        assert q == pytest.approx([q25, median, q75], abs=2e-3)
    # Cut at `clip` spreads: nothing beyond.
    x_off = box_of(theta)[0]
    assert x_off.max() <= 0.03125 + 4 * (0.0625 - 0.03125) / aug.QUARTILE_Z + 1e-6


def test_crop_jitter_mixes_its_sources_and_keeps_the_fer_framing_for_the_rest():
    cfg = {"sources": [fixed_jitter(0.0, 0.0, 0.9)["sources"][0], fixed_jitter(0.1, 0.0, 0.8)["sources"][0]],
           "prob": 0.6}
    theta = aug.crop_jitter_theta(20_000, cfg, "cpu", torch.Generator().manual_seed(2))
    x_off, _, scale = box_of(theta)
    share = {s: float(((scale - s).abs() < 1e-6).float().mean()) for s in (1.0, 0.9, 0.8)}
    assert share[1.0] == pytest.approx(0.4, abs=0.02)  # not jittered: the FER crop itself
    assert share[0.9] == pytest.approx(0.3, abs=0.02) and share[0.8] == pytest.approx(0.3, abs=0.02)
    assert torch.allclose(x_off[(scale - 0.8).abs() < 1e-6], torch.tensor(0.1), atol=1e-6)


def test_crop_jitter_cuts_what_fertrain_crop_says_around_the_box():
    reference = (0.0208, 0.0156, 0.9583)
    box = (0.05, 0.02, 0.9)
    theta = aug.crop_jitter_theta(4, fixed_jitter(*box, reference=list(reference)), "cpu")
    side = theta[0, 0, 0].item()
    left = (theta[0, 0, 2].item() - side + 1) / 2
    top = (theta[0, 1, 2].item() - side + 1) / 2
    assert (left, top, side) == pytest.approx(crop.crop_from_box(box, reference), abs=1e-6)


def test_crop_jitter_margin_grows_the_box_on_every_edge_as_fertui_does():
    box = (0.05, 0.02, 0.9)
    theta = aug.crop_jitter_theta(4, fixed_jitter(*box, margin=0.022), "cpu")
    side = theta[0, 0, 0].item()
    left = (theta[0, 0, 2].item() - side + 1) / 2
    top = (theta[0, 1, 2].item() - side + 1) / 2
    # Preprocessor.cropBox: each edge moves out by margin * box side.
    assert (left, top, side) == pytest.approx((0.05 - 0.022 * 0.9, 0.02 - 0.022 * 0.9, 0.9 * 1.044), abs=1e-6)


def test_crop_jitter_shows_the_box_region_enlarged_and_mirrors_with_the_face():
    x = faces(4)
    centre = aug.augment(x, {"crop_jitter": fixed_jitter(0.25, 0.25, 0.5)})
    expected = F.interpolate(x[..., 12:36, 12:36], size=(48, 48), mode="bilinear", align_corners=False)
    assert torch.allclose(centre[..., 1:-1, 1:-1], expected[..., 1:-1, 1:-1], atol=1e-5)
    # A flipped face's box is the mirror of the box on the face: the result is the mirror image.
    off_centre = fixed_jitter(0.1, 0.2, 0.5)
    plain = aug.augment(x, {"crop_jitter": off_centre})
    flipped = aug.augment(x, {"crop_jitter": off_centre, "hflip": 1.0})
    assert torch.allclose(flipped, plain.flip(-1), atol=1e-5)


def test_crop_jitter_composes_with_the_affine_warp_in_one_sampling():
    x = faces(8)
    cfg = {"rotate_deg": 10, "scale": 0.1, "crop_jitter": fixed_jitter(0.25, 0.25, 0.5)}
    out = aug.augment(x, cfg, torch.Generator().manual_seed(5))
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    # The same affine draws without the jitter, then the jitter on that grid: one warp = two.
    g = torch.Generator().manual_seed(5)
    affine_only = aug.augment(x, {"rotate_deg": 10, "scale": 0.1}, g)
    assert not torch.allclose(out, affine_only)
    inner = torch.tensor([[[0.0, -1.0, 0.0], [1.0, 0.0, 0.0]]])  # a quarter turn
    outer = torch.tensor([[[0.5, 0.0, 0.2], [0.0, 0.5, 0.0]]])
    both = aug.compose(outer, inner)
    u = torch.tensor([0.3, -0.4, 1.0])
    assert torch.allclose(both[0] @ u, outer[0] @ torch.cat([inner[0] @ u, torch.ones(1)]))


def test_mixup_mixes_pairs_and_its_targets_sum_to_one():
    x, y = faces(8), torch.tensor([0, 1, 2, 3, 4, 5, 6, 0])
    out, t = aug.mix(x, y, {"mixup": 0.4}, np.random.default_rng(1))
    assert isinstance(t, aug.MixedTargets) and 0 <= t.lam <= 1
    assert torch.allclose(out, t.lam * x + (1 - t.lam) * x.flip(0))
    assert torch.equal(t.a, y) and torch.equal(t.b, y.flip(0))
    p = t.probabilities(7)
    assert p.shape == (8, 7) and torch.allclose(p.sum(1), torch.ones(8))
    assert out.min() >= 0 and out.max() <= 1


def test_cutmix_pastes_a_box_whose_area_is_the_partners_share():
    x, y = faces(8), torch.arange(8) % 7
    for seed in range(20):
        out, t = aug.mix(x, y, {"cutmix": 1.0}, np.random.default_rng(seed))
        from_partner = (out == x.flip(0)) & (out != x)
        assert torch.all((out == x) | (out == x.flip(0)))
        share = from_partner[0].float().mean().item()
        assert share == pytest.approx(1 - t.lam, abs=1e-6)
        assert torch.allclose(t.probabilities(7).sum(1), torch.ones(8))


def test_mix_prob_mixes_that_share_of_batches_and_both_kinds_when_asked():
    x, y = faces(4), torch.arange(4)
    rng = np.random.default_rng(0)
    kinds = {"none": 0, "mixup": 0, "cutmix": 0}
    for _ in range(600):
        out, t = aug.mix(x, y, {"mixup": 0.2, "cutmix": 1.0, "mix_prob": 0.5}, rng)
        if t is y:
            kinds["none"] += 1
        elif torch.all((out == x) | (out == x.flip(0))):
            kinds["cutmix"] += 1
        else:
            kinds["mixup"] += 1
    assert kinds["none"] == pytest.approx(300, abs=45)
    assert kinds["mixup"] == pytest.approx(150, abs=40) and kinds["cutmix"] == pytest.approx(150, abs=40)


def test_the_loss_on_mixed_labels_keeps_class_weights_and_smoothing():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(6, 7, generator=g)
    a, b = torch.tensor([0, 1, 2, 3, 4, 1]), torch.tensor([5, 6, 0, 1, 1, 2])
    w = torch.rand(7, generator=g) + 0.5

    def ce(y):
        return F.cross_entropy(logits, y, weight=w, label_smoothing=0.1)
    assert train.label_loss(logits, aug.MixedTargets(a, b, 1.0), w, 0.1) == pytest.approx(ce(a).item())
    assert train.label_loss(logits, aug.MixedTargets(a, b, 0.3), w, 0.1) == pytest.approx(
        0.3 * ce(a).item() + 0.7 * ce(b).item())
    assert train.label_loss(logits, a, w, 0.1) == pytest.approx(ce(a).item())
    assert train.label_loss(logits, aug.MixedTargets(a, a, 0.3), w, 0.1) == pytest.approx(ce(a).item())


def test_the_teacher_view_is_the_same_face_without_the_crop_jitter_or_erasing():
    x = faces(32)
    cfg = {"hflip": 0.5, "rotate_deg": 10, "scale": 0.1, "shift": 0.1, "brightness": 0.2,
           "contrast": 0.2, "erase": 0.5, "crop_jitter": fixed_jitter(0.1, 0.05, 0.8)}
    torch.manual_seed(7)  # random erasing fills from the global stream
    alone = aug.augment(x, cfg, torch.Generator().manual_seed(3))
    torch.manual_seed(7)
    both = aug.augment(x, cfg, torch.Generator().manual_seed(3), teacher_view=True)
    assert both.shape == (32, 2, 48, 48)
    assert torch.allclose(both[:, :1], alone, atol=1e-6)  # the student's input is unchanged
    assert not torch.allclose(both[:, 1:], both[:, :1], atol=1e-2)

    # No jitter drawn and no erasing: the two views are one.
    never = {**cfg, "erase": 0, "crop_jitter": {**cfg["crop_jitter"], "prob": 0.0}}
    same = aug.augment(x, never, torch.Generator().manual_seed(3), teacher_view=True)
    assert torch.allclose(same[:, :1], same[:, 1:], atol=1e-6)

    # Erasing: the teacher sees the whole face where the student sees a patch of noise.
    erased = {**never, "erase": 1.0}
    torch.manual_seed(7)
    views = aug.augment(x, erased, torch.Generator().manual_seed(3), teacher_view=True)
    assert torch.allclose(views[:, 1:], same[:, 1:], atol=1e-6)
    differs = (views[:, :1] - views[:, 1:]).abs() > 1e-6
    assert differs.any(dim=(1, 2, 3)).all()

    # The jitter: the teacher sees the warp without the detector's box (no colour draws here,
    # so the jitter's own draws leave the rest of the stream alone).
    warped = {"hflip": 0.5, "rotate_deg": 10, "scale": 0.1, "crop_jitter": fixed_jitter(0.1, 0.05, 0.8)}
    views = aug.augment(x, warped, torch.Generator().manual_seed(3), teacher_view=True)
    framed = aug.augment(x, {k: v for k, v in warped.items() if k != "crop_jitter"},
                         torch.Generator().manual_seed(3))
    assert torch.allclose(views[:, 1:], framed, atol=1e-6)
    assert torch.allclose(views[:, :1], aug.augment(x, warped, torch.Generator().manual_seed(3)), atol=1e-6)


def test_mixing_and_pad_crop_treat_both_views_alike():
    x = aug.augment(faces(8), {"crop_jitter": fixed_jitter(0.1, 0.05, 0.8)}, teacher_view=True)
    y = torch.arange(8) % 7
    for kind in ("mixup", "cutmix"):
        out, t = aug.mix(x, y, {kind: 1.0}, np.random.default_rng(4))
        one, _ = aug.mix(x[:, 1:], y, {kind: 1.0}, np.random.default_rng(4))
        assert torch.allclose(out[:, 1:], one)
    shifted = aug.pad_crop(x, 3, "constant", torch.Generator().manual_seed(1))
    assert torch.equal(shifted[:, 1:], aug.pad_crop(x[:, 1:], 3, "constant", torch.Generator().manual_seed(1)))
