"""The GPU round kit: its configs, keeping the shipped weights from travelling and putting them
back, and the whole round end to end on the CPU with tiny settings: prepare, run, send, fetch,
with the weights reassembled bit for bit and shipped only when they beat the shipped file."""
import json
import re
import subprocess

import pytest
import torch
import yaml
from safetensors.torch import save_file

import gpu_round
from conftest import write_class_folders
from fertrain import export

from test_training import REPO

GPU_CONFIGS = sorted((REPO / "Training/configs").glob("gpu-resnet*.yaml"))


def test_the_round_configs_ask_for_the_gpu_recipe_and_the_measured_crop_jitter():
    # The run with fertui's own cascade: the boxes the live path cuts around.
    settings = (REPO / "Sources/Vision/DetectionSettings.swift").read_text()
    cascade = re.search(r'defaultCascadePath = ".*/([^/"]+)"', settings).group(1)
    runs = json.loads((REPO / "docs/recognition/crop-val-full.json").read_text())["runs"]
    measured = next(r["result"] for r in runs if r["result"].get("cascade") == cascade)
    want = [{k: measured[canvas][k] for k in ("x_off", "y_off", "scale")} for canvas in ("replicate", "noise")]
    swift = (REPO / "Sources/Vision/Preprocessor.swift").read_text()
    fertui_margin = float(re.search(r"static let ferMargin = ([0-9.]+)", swift).group(1))
    plan = yaml.safe_load(open(gpu_round.PLAN))
    named = {REPO / p for p in list(plan["train"].values()) + list(plan["distill"].values())}
    assert named == set(GPU_CONFIGS) and set(plan["ships_as"]) <= set(plan["train"])
    for path in GPU_CONFIGS:
        cfg = yaml.safe_load(open(path))
        assert cfg["augment"]["crop_jitter"]["sources"] == want, path.name
        assert cfg["augment"]["crop_jitter"]["margin"] == fertui_margin, path.name
        t = cfg["train"]
        assert (t["autocast"], t["channels_last"], t["fused"], t["batch_size"], t["lr_batch"]) == \
            ("bf16", True, True, 256, 64), path.name
        assert cfg["augment"]["pad_crop"] == cfg["model"]["input_size"] // 12
        if path.stem.endswith("-distill"):
            assert cfg["model"]["pretrained"].startswith("{round}/train/")
            assert cfg["distill"]["resize_teachers"] and not cfg["augment"].get("mixup")
        else:
            assert cfg["model"]["pretrained"] is None and cfg["augment"]["mixup"] > 0
    assert yaml.safe_load(open(REPO / "Training/configs/gpu-resnet18-96.yaml"))["model"]["input_size"] == 96


def git(repo, *args):
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=repo,
                          check=True, capture_output=True, text=True).stdout


def fake_model(path, val_accuracy):
    save_file({"w": torch.zeros(4)}, str(path), metadata={"val_accuracy": f"{val_accuracy:.4f}", "input_size": "48"})


@pytest.fixture
def repo(tmp_path):
    """A git repository shaped like fertui's: shipped weights tracked, the real .gitignore."""
    root = tmp_path / "repo"
    (root / "Assets/models/logs").mkdir(parents=True)
    (root / ".gitignore").write_text((REPO / ".gitignore").read_text())
    fake_model(root / "Assets/models/resnet18.safetensors", 0.5)
    fake_model(root / "Assets/models/resnet34.safetensors", 0.6)
    (root / "Assets/models/logs/resnet18.jsonl").write_text('{"epoch": 1}\n')
    (root / "README.md").write_text("fertui\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "init")
    return root


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """7 classes x 6 images of 48x48 gray (JPEG, as the pack keeps them)."""
    return write_class_folders(tmp_path_factory.mktemp("fer"), "jpg")


def test_prepare_keeps_the_weights_home_and_restore_leaves_git_clean(repo, folders):
    weights = (repo / "Assets/models/resnet18.safetensors").read_bytes()
    assert gpu_round.main(["prepare", "--repo", str(repo), "--data", str(folders)]) == 0
    assert (repo / ".gpu-round/fer2013.ferpack").exists()
    facts = json.loads((repo / ".gpu-round/shipped.json").read_text())
    assert facts["resnet18"]["val_accuracy"] == 0.5 and facts["resnet34"]["val_accuracy"] == 0.6
    assert not (repo / "Assets/models/resnet18.safetensors").exists()
    travelling = git(repo, "ls-files", "--cached", "--others", "--exclude-standard").split()
    assert not any(p.endswith(".safetensors") or p.startswith(".gpu") for p in travelling)
    assert gpu_round.travelling_bytes(repo, []) < 1000
    # Again: nothing more to stash, the facts are not overwritten with nothing.
    assert gpu_round.main(["prepare", "--repo", str(repo), "--data", str(folders)]) == 0
    assert json.loads((repo / ".gpu-round/shipped.json").read_text()) == facts

    assert gpu_round.main(["restore", "--repo", str(repo)]) == 0
    assert git(repo, "status", "--porcelain") == ""
    assert (repo / "Assets/models/resnet18.safetensors").read_bytes() == weights
    assert not (repo / ".gpu-stash").exists()


def tiny(cfg, size, epochs):
    """A GPU config cut down for the CPU: batch 8, 2 steps an epoch, no bf16 (slow on CPUs)."""
    cfg["model"]["input_size"] = size
    cfg["augment"]["pad_crop"] = size // 12
    cfg["train"].update(epochs=epochs, batch_size=8, max_steps=2, autocast=None, threads=1)
    return cfg


def test_the_round_end_to_end_on_the_cpu(repo, folders, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    configs = tmp_path / "configs"
    configs.mkdir()
    plan = {"train": {}, "distill": {}, "ships_as": {"resnet18": "resnet18"}, "distill_share": 0.4,
            "teachers_at_most": 2, "threads": 1}
    for name, size, source in (("resnet18", 48, "gpu-resnet18"), ("resnet18-64", 64, "gpu-resnet18-96")):
        cfg = tiny(yaml.safe_load(open(REPO / f"Training/configs/{source}.yaml")), size, 2)
        (configs / f"{name}.yaml").write_text(yaml.safe_dump(cfg))
        plan["train"][name] = str(configs / f"{name}.yaml")
        cfg = tiny(yaml.safe_load(open(REPO / f"Training/configs/{source}-distill.yaml")), size, 1)
        cfg["model"]["pretrained"] = f"{{round}}/train/{name}.safetensors"
        (configs / f"{name}-distill.yaml").write_text(yaml.safe_dump(cfg))
        plan["distill"][name] = str(configs / f"{name}-distill.yaml")
    (tmp_path / "plan.yaml").write_text(yaml.safe_dump(plan))
    fake_model(repo / "Assets/models/resnet18.safetensors", 0.0)  # any trained model beats it
    git(repo, "commit", "-q", "-am", "a weak shipped model")
    assert gpu_round.main(["prepare", "--repo", str(repo), "--data", str(folders)]) == 0

    work, first, second = tmp_path / "work", tmp_path / "out1", tmp_path / "out2"
    first.mkdir()
    (first / "round.log").write_text("what the runbook tees there\n")
    assert gpu_round.main(["run", "--budget", "150", "--out", str(first), "--work", str(work),
                           "--plan", str(tmp_path / "plan.yaml"), "--pack", str(repo / ".gpu-round/fer2013.ferpack"),
                           "--shipped", str(repo / ".gpu-round/shipped.json"), "--final-seconds", "20",
                           "--startup-seconds", "1", "--min-seconds", "3", "--chunk-mib", "4"]) == 0
    summary = json.loads((first / "summary.json").read_text())
    assert summary["seconds"] < 150 and summary["data"] == {**summary["data"], "train": 42, "val": 42,
                                                             "pixels_as_packed": True}
    for name in ("resnet18", "resnet18-64"):
        info = summary["models"][name]
        assert info["train"]["epochs_run"] == 2 and info["distill"]["epochs_run"] == 1
        assert 0 <= info["train"]["accuracy"] <= 1 and "disgust" in info["train"]["recall"]
        assert info["chosen"] in ("train", "distill")
    assert summary["models"]["resnet18"]["beats_shipped"] is True
    assert summary["teachers"]["members"] == ["resnet18", "resnet18-64"]
    distilled = yaml.safe_load(open(work / "configs/resnet18-distill.yaml"))
    assert distilled["distill"]["teachers"] == [str(work / "train/resnet18.safetensors"),
                                                str(work / "train/resnet18-64.safetensors")]
    assert export.read_metadata(work / "train/resnet18-64.safetensors")["input_size"] == "64"
    assert set(summary["targets"]) == {"best_single", "ensemble", "disgust_recall"}
    # The student that ships comes back first; 4 MiB pieces of two ~20 MiB files need a second batch.
    assert list(summary["returned"]) == ["resnet18.safetensors", "resnet18-64.safetensors"]
    assert summary["batches"] == 2 and len(list(first.iterdir())) <= 8
    assert gpu_round.main(["send", "--batch", "2", "--out", str(second), "--work", str(work)]) == 0
    assert gpu_round.main(["send", "--batch", "3", "--out", str(tmp_path / "out3"), "--work", str(work)]) == 1

    capsys.readouterr()
    assert gpu_round.main(["fetch", str(first), str(second), "--repo", str(repo)]) == 0
    said = capsys.readouterr().out
    chosen = summary["models"]["resnet18"]["chosen"]
    shipped = repo / "Assets/models/resnet18.safetensors"
    assert shipped.read_bytes() == (work / chosen / "resnet18.safetensors").read_bytes()
    assert (repo / "runs/gpu-round/fetched/resnet18-64.safetensors").read_bytes() == \
        (work / summary["models"]["resnet18-64"]["chosen"] / "resnet18-64.safetensors").read_bytes()
    assert "shipped as" in said and "calibrate.py" in said and "make fixtures" in said
    rows = [json.loads(line) for line in open(repo / "Assets/models/logs/resnet18.jsonl")]
    assert [r["epoch"] for r in rows] == ([1, 2, 3] if chosen == "distill" else [1, 2])
    changed = sorted(line[3:] for line in git(repo, "status", "--porcelain").splitlines())
    assert changed == ["Assets/models/logs/resnet18.jsonl", "Assets/models/resnet18.safetensors"]

    # Fetched again, the same model no longer beats what is shipped.
    assert gpu_round.main(["fetch", str(first), str(second), "--repo", str(repo)]) == 0
    assert "not shipped" in capsys.readouterr().out
