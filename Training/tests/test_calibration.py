"""Calibration, views, crop geometry and metadata writing on synthetic data with known answers."""
import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from fertrain import calibration as cal
from fertrain import crop, export, views


def synthetic(n, k, seed):
    """Logits whose softmax is the true label distribution (labels drawn from it)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 2.0, (n, k))
    p = cal.softmax(z)
    labels = (rng.random((n, 1)) > np.cumsum(p, 1)).sum(1)
    return z, np.minimum(labels, k - 1)


@pytest.mark.parametrize("true_t", [0.6, 1.0, 2.5])
def test_fit_temperature_recovers_known_t(true_t):
    z, y = synthetic(20000, 7, seed=1)
    fitted = cal.fit_temperature([z * true_t], y)  # logits scaled by T: softmax(./T) is calibrated
    assert fitted == pytest.approx(true_t, rel=0.05)


def test_view_average_of_two_identical_views_is_one_softmax():
    z, _ = synthetic(100, 7, seed=2)
    np.testing.assert_allclose(cal.view_average([z, z], 1.7), cal.softmax(z / 1.7), atol=1e-12)


def test_ece_near_zero_when_calibrated_and_large_when_overconfident():
    z, y = synthetic(50000, 7, seed=3)
    assert cal.ece(cal.softmax(z), y) < 0.01
    assert cal.ece(cal.softmax(3 * z), y) > 0.1


def test_temperature_lowers_ece_of_overconfident_logits():
    z, y = synthetic(20000, 7, seed=4)
    t = cal.fit_temperature([z * 2.0, z * 2.0 + 0.1], y)
    assert cal.ece(cal.view_average([z * 2.0, z * 2.0 + 0.1], t), y) < 0.01


def test_map_gradient_matches_finite_differences():
    from scipy.optimize import approx_fprime
    rng = np.random.default_rng(8)
    z = [rng.normal(0, 2, (300, 7)), rng.normal(0, 2, (300, 7))]
    y = rng.integers(0, 7, 300)
    theta = rng.normal(0, 0.3, 15)
    loss, grad = cal._map_nll(theta, z, y, 7, 0.05)
    numeric = approx_fprime(theta, lambda t: cal._map_nll(t, z, y, 7, 0.05)[0], 1e-6)
    numeric[8:] -= numeric[8:].mean()  # the bias is centred: only its centred part moves the loss
    np.testing.assert_allclose(grad, numeric, atol=1e-5)


@pytest.mark.parametrize("kind", ["bias", "vector"])
def test_fit_map_recovers_a_known_map(kind):
    rng = np.random.default_rng(9)
    z = rng.normal(0, 2, (30000, 7))
    scale = np.exp(rng.normal(0, 0.3, 7)) if kind == "vector" else np.ones(7)
    bias = rng.normal(0, 0.6, 7)
    bias -= bias.mean()
    p = cal.softmax(z / 0.7 * scale + bias)
    y = np.minimum((rng.random((len(z), 1)) > np.cumsum(p, 1)).sum(1), 6)
    fitted = cal.fit_map([z], y, kind)
    effective = (fitted["scale"] if kind == "vector" else 1) / fitted["temperature"]
    np.testing.assert_allclose(effective, scale / 0.7, rtol=0.06)
    np.testing.assert_allclose(fitted["bias"], bias, atol=0.06)
    assert fitted["bias"].sum() == pytest.approx(0, abs=1e-9)
    calibrated = cal.apply_fitted([z], fitted)
    assert cal.ece(calibrated, y) < 0.01
    # With an L2 penalty the bias shrinks towards 0.
    assert np.abs(cal.fit_map([z], y, kind, l2=0.05)["bias"]).sum() < np.abs(fitted["bias"]).sum()


def test_map_survives_the_metadata_round_trip():
    fitted = {"temperature": 0.81234567, "scale": np.array([0.9, 1.3, 0.85, 1.1, 0.9, 0.8, 1.15]),
              "bias": np.array([0.1, -1.6, 0.3, 0.5, 0.3, 0.5, -0.12345678])}
    meta, absent = cal.map_to_metadata(fitted)
    assert meta["temperature"] == "0.8123" and meta["class_bias"].endswith(",-0.1235") and absent == []
    back = cal.map_from_metadata({**meta, "classes": "a,b,c,d,e,f,g"})
    np.testing.assert_allclose(back["scale"], fitted["scale"], atol=5e-5)
    np.testing.assert_allclose(back["bias"], fitted["bias"], atol=5e-5)
    assert cal.map_to_metadata({"temperature": 0.8, "scale": None, "bias": None}) == (
        {"temperature": "0.8000"}, ["class_scale", "class_bias"])
    assert cal.map_from_metadata({}) == {"temperature": 1.0, "bias": None, "scale": None}
    with pytest.raises(ValueError, match="class_bias '1,2'"):
        cal.map_from_metadata({"classes": "a,b,c", "class_bias": "1,2"})


def test_reliability_bins_count_every_sample_once():
    z, y = synthetic(1000, 7, seed=5)
    count, conf, acc = cal.reliability(cal.softmax(z), y, 15)
    assert count.sum() == 1000
    keep = count > 0
    assert np.all((conf[keep] >= 0) & (conf[keep] <= 1)) and np.all((acc[keep] >= 0) & (acc[keep] <= 1))


def test_uncertain_threshold_sits_where_accuracy_crosses_half():
    # Two classes, confidence c correct with probability c: accuracy reaches 0.5 at c = 0.5,
    # so with top probabilities spread over [0.4, 1] the threshold is near 0.5.
    rng = np.random.default_rng(6)
    c = rng.uniform(0.4, 1.0, 40000)
    correct = rng.random(40000) < c
    probs = np.stack([c, 1 - c], 1)
    labels = np.where(correct, 0, 1)
    assert cal.uncertain_threshold(probs, labels) == pytest.approx(0.5, abs=0.03)


def test_class_bias_raises_a_starved_class_recall():
    rng = np.random.default_rng(7)
    n, k = 3000, 3
    y = rng.integers(0, k, n)
    logp = np.log(np.full((n, k), 0.2))
    logp[np.arange(n), y] += rng.normal(0.5, 0.6, n)
    logp[:, 2] -= 0.6  # class 2 is under-predicted
    before = cal.recalls(logp.argmax(1), y, k)[2]
    b = cal.fit_class_bias(logp, y, floors={2: before + 0.2})
    after = cal.recalls((logp + b).argmax(1), y, k)[2]
    assert after >= before + 0.2
    assert np.mean((logp + b).argmax(1) == y) >= np.mean(logp.argmax(1) == y)


def test_crop_geometry_round_trip():
    g = (0.08, 0.12, 0.8)
    face = (100.0, 50.0, 192.0)
    box = crop.box_from_crop(face, g)
    assert crop.crop_from_box(box, g) == pytest.approx(face)
    assert crop.relative_box(box, face[0], face[1], face[2]) == pytest.approx(g)
    # The centre form describes the same crop.
    side_factor, dx, dy = crop.as_centre_form(g)
    bx, by, bs = box
    cx, cy = bx + bs / 2 + dx * bs, by + bs / 2 + dy * bs
    assert (cx - bs * side_factor / 2, cy - bs * side_factor / 2, bs * side_factor) == pytest.approx(face)
    assert crop.from_centre_form(side_factor, dx, dy) == pytest.approx(g)


def test_shift_view_moves_content_and_zoom_keeps_centre():
    x = torch.zeros(1, 1, 8, 8)
    x[0, 0, 3, 4] = 1
    s = views.apply_view(x, "shift:2,-1")
    assert s[0, 0, 2, 6] == 1 and s.sum() == 1
    assert torch.equal(views.apply_view(x, "flip"), x.flip(-1))
    flat = torch.full((1, 1, 8, 8), 0.3)
    assert torch.allclose(views.apply_view(flat, "zoom:2+flip"), flat)
    with pytest.raises(ValueError):
        views.apply_view(x, "rotate:3")


def test_update_metadata_keeps_every_tensor_byte(tmp_path):
    path = tmp_path / "m.safetensors"
    save_file({"a": torch.arange(10, dtype=torch.float16), "b": torch.ones(3, 2)}, str(path),
              metadata={"arch": "resnet18"})
    raw = path.read_bytes()
    body = raw[8 + int.from_bytes(raw[:8], "little"):]
    export.update_metadata(path, {"temperature": "1.2345", "class_bias": "0,1"})
    export.update_metadata(path, {"class_scale": "1,2"}, remove=["class_bias", "absent"])
    new = path.read_bytes()
    n = int.from_bytes(new[:8], "little")
    assert n % 8 == 0 and new[8 + n:] == body
    assert export.read_metadata(path) == {"arch": "resnet18", "temperature": "1.2345", "class_scale": "1,2"}
    with safe_open(str(path), framework="pt") as f:
        assert torch.equal(f.get_tensor("a"), torch.arange(10, dtype=torch.float16))


def seeded_file(tmp_path, seed, temperature):
    """A seeded 7-class ResNet18 exported with the mirror and `temperature` in its metadata, and
    six random 48x48 faces."""
    from fertrain import models
    torch.manual_seed(seed)
    path = tmp_path / "m.safetensors"
    export.export(models.build("resnet18", 7), path,
                  export.metadata("resnet18", 48, [str(i) for i in range(7)], [0.5] * 3, [0.25] * 3,
                                  tta_flip="true", temperature=temperature))
    return path, np.random.default_rng(seed).integers(0, 256, (6, 48, 48), dtype=np.uint8)


def test_ensemble_of_one_model_twice_is_that_model_calibrated(tmp_path, monkeypatch):
    import evaluate
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path, images = seeded_file(tmp_path, 0, "2.0")
    model, meta = export.load(path)
    z = [views.logits(model, torch.from_numpy(images), meta, v) for v in views.MIRROR]
    both = evaluate.ensemble_probs([path, path], images)
    np.testing.assert_allclose(both, cal.view_average(z, 2.0), atol=1e-6)
    logit = evaluate.ensemble_probs([path, path], images, temperatures=[0.5, 0.5], combine="logit")
    np.testing.assert_allclose(logit, cal.softmax((z[0] + z[1]) / 2 / 0.5), atol=1e-6)
    # A class scale and bias in the metadata: each view's z / T * s + b before its softmax.
    s, b = np.linspace(0.8, 1.4, 7), np.linspace(-1, 1, 7)
    export.update_metadata(path, {"class_scale": ",".join(map(str, s)), "class_bias": ",".join(map(str, b))})
    mapped = evaluate.ensemble_probs([path, path], images)
    want = (cal.softmax(z[0] / 2.0 * s + b) + cal.softmax(z[1] / 2.0 * s + b)) / 2
    np.testing.assert_allclose(mapped, want, atol=1e-6)
    assert np.abs(mapped - both).max() > 0.01


def test_an_ensembles_members_see_the_same_views_as_one_model(tmp_path, monkeypatch):
    import evaluate
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path, images = seeded_file(tmp_path, 1, "1.5")
    model, meta = export.load(path)
    names = views.names("shifts")
    assert len(names) == 10
    z = [views.logits(model, torch.from_numpy(images), meta, v) for v in names]
    shifted = evaluate.ensemble_probs([path, path], images, view_set="shifts")
    np.testing.assert_allclose(shifted, cal.apply_fitted(z, cal.map_from_metadata(meta)), atol=1e-6)
    assert np.abs(shifted - evaluate.ensemble_probs([path], images)).max() > 1e-4


def test_half_splits_cover_every_face_in_disjoint_halves_used_both_ways():
    got = list(cal.half_splits(11, range(3)))
    assert len(got) == 6
    for fit, test in got:
        assert not set(fit) & set(test) and sorted(np.concatenate([fit, test])) == list(range(11))
    assert all(np.array_equal(got[i][0], got[i + 1][1]) and np.array_equal(got[i][1], got[i + 1][0])
               for i in range(0, 6, 2))
    assert not np.array_equal(got[0][0], got[2][0]), "each seed splits differently"
