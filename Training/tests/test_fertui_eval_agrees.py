"""`fertui eval` and Training/evaluate.py give the same figures on the same images (issue: within
0.002 accuracy). Needs the built fertui binary (make test builds it first) and FER-2013 images."""
import json
import os
import subprocess
from pathlib import Path

import pytest
import torch

from fertrain import CLASSES, export, models

REPO = Path(__file__).resolve().parents[2]
BINARY = REPO / ".build" / "debug" / "fertui"
FER = Path(os.environ.get("FER2013_DIR", REPO.parent / "shared" / "fer2013"))


@pytest.fixture(scope="module")
def subset(tmp_path_factory):
    if not (FER / "val").is_dir():
        pytest.skip(f"FER-2013 not found at {FER}: set FER2013_DIR to run the eval agreement test")
    root = tmp_path_factory.mktemp("valsub")
    for c in CLASSES:
        (root / c).mkdir()
        for f in sorted((FER / "val" / c).iterdir())[:25]:
            (root / c / f.name).symlink_to(f)
    return root


def run_both(model, data, env=None, extra=()):
    if not BINARY.exists():
        pytest.skip(f"{BINARY} not built: run `swift build` first (make test does)")
    ours = subprocess.run([str(BINARY), "eval", "--no-detect", "--data", str(data), "--model", str(model), "--json",
                           *extra], capture_output=True, text=True, timeout=600)
    assert ours.returncode == 0, ours.stderr
    theirs = subprocess.run(["python3", str(REPO / "Training/evaluate.py"), "--data", str(data), "--model", str(model),
                             "--json", *extra], capture_output=True, text=True, timeout=600, env=env)
    assert theirs.returncode == 0, theirs.stderr
    return json.loads(ours.stdout), json.loads(theirs.stdout)


def check(ours, theirs, tolerance):
    assert ours["images"] == theirs["images"]
    assert abs(ours["accuracy"] - theirs["accuracy"]) <= tolerance, (ours["accuracy"], theirs["accuracy"])
    assert abs(ours["weighted"]["f1"] - theirs["weighted"]["f1"]) <= 2 * tolerance + 1e-6
    assert abs(ours["macro_auc"] - theirs["macro_auc"]) <= 2e-3
    assert abs(ours["ece"] - theirs["ece"]) <= 2 * tolerance + 1e-3, (ours["ece"], theirs["ece"])


def test_seeded_model_with_mirror_averaging(subset, tmp_path):
    torch.manual_seed(3)
    model = models.build("resnet18", len(CLASSES)).eval()
    path = tmp_path / "seeded.safetensors"
    export.export(model, path, export.metadata("resnet18", 48, CLASSES, [0.5] * 3, [0.25] * 3, tta_flip="true"),
                  dtype=torch.float32)
    ours, theirs = run_both(path, subset)
    # Untrained logits sit close together: allow one image of 175 to fall the other way.
    check(ours, theirs, tolerance=1 / 175 + 1e-9)


def test_seeded_model_with_calibration_map(subset, tmp_path):
    """A temperature, class scale and class bias in the metadata: both apply them per view."""
    torch.manual_seed(4)
    model = models.build("resnet18", len(CLASSES)).eval()
    path = tmp_path / "mapped.safetensors"
    meta = export.metadata("resnet18", 48, CLASSES, [0.5] * 3, [0.25] * 3, tta_flip="true", temperature="0.5",
                           class_scale="1.2,0.7,1,1.3,0.9,1,1.1", class_bias="0.3,-1.5,0.2,0.6,0.1,0.4,-0.1")
    export.export(model, path, meta, dtype=torch.float32)
    ours, theirs = run_both(path, subset)
    check(ours, theirs, tolerance=1 / 175 + 1e-9)
    plain = tmp_path / "plain.safetensors"
    export.export(model, plain, {k: v for k, v in meta.items() if not k.startswith("class_")}, dtype=torch.float32)
    unmapped, _ = run_both(plain, subset)
    assert unmapped["confusion"] != ours["confusion"], "the class scale and bias must change the predictions"


def test_test_time_views(subset, tmp_path):
    """`--views all` (4 shifts and a zoom, each mirrored) averages the same views in both, and
    changes the predictions of a seeded model."""
    torch.manual_seed(5)
    model = models.build("resnet18", len(CLASSES)).eval()
    path = tmp_path / "views.safetensors"
    export.export(model, path, export.metadata("resnet18", 48, CLASSES, [0.5] * 3, [0.25] * 3, tta_flip="true"),
                  dtype=torch.float32)
    ours, theirs = run_both(path, subset, extra=("--views", "all"))
    check(ours, theirs, tolerance=1 / 175 + 1e-9)
    mirror_only, _ = run_both(path, subset)
    assert mirror_only["confusion"] != ours["confusion"], "the extra views must change the predictions"


@pytest.mark.parametrize("name", ["resnet18", "resnet34", "resnet50"])
def test_shipped_model(subset, name):
    path = REPO / "Assets" / "models" / f"{name}.safetensors"
    if not path.exists():
        pytest.skip(f"{path} not shipped yet")
    ours, theirs = run_both(path, subset)
    check(ours, theirs, tolerance=0.002)


def test_ensemble(subset, tmp_path):
    """`--model ensemble`: the three shipped models' calibrated probabilities averaged, each with
    its mirror view (and with `--views shifts` its four shifted views too), the same in both
    (evaluate.py's logits cache goes to a temporary folder)."""
    if not all((REPO / "Assets" / "models" / f"{m}.safetensors").exists() for m in ("resnet18", "resnet34", "resnet50")):
        pytest.skip("the ensemble needs the three shipped models")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    ours, theirs = run_both("ensemble", subset, env=env)
    check(ours, theirs, tolerance=0.002)
    shifted, theirs_shifted = run_both("ensemble", subset, env=env, extra=("--views", "shifts"))
    check(shifted, theirs_shifted, tolerance=0.002)
    assert shifted["confusion"] != ours["confusion"], "the shifted views must change some predictions"
