"""Training/carry.py: a run under way packed into committable files and resumed from them."""
import json

import pytest
import torch

import carry
import train
from fertrain import export
from test_training import REPO, read_log, short_fertui_run

LONG = REPO / "Training/configs/cpu-resnet18-long.yaml"


def stopped_run(dataset, tmp_path, monkeypatch, epochs=3):
    cfg, run = short_fertui_run(dataset, tmp_path, monkeypatch, epochs=epochs, schedule="onecycle")
    assert train.main(["--config", str(cfg), "--stop-after", "1"]) == 0
    return cfg, run


def test_a_packed_run_resumes_on_the_carried_schedule(dataset, tmp_path, monkeypatch):
    cfg, run = stopped_run(dataset, tmp_path, monkeypatch)
    ck = torch.load(run / "last.pt", weights_only=False)
    stem = tmp_path / "carried" / "r18"
    carry.pack(cfg, run, stem)

    # The weights file is an engine weights file: fp16 with the engine's metadata.
    meta = export.read_metadata(stem.with_suffix(".safetensors"))
    assert meta["arch"] == "resnet18" and meta["input_size"] == "48" and meta["carry"] == carry.FORMAT
    assert meta["epochs"] == "1"
    state = json.loads(stem.with_suffix(".json").read_text())
    assert state["epoch"] == 1 and state["epochs"] == 3 and len(state["history"]) == 1

    # A new machine: only the carried files. Unpacked, train.py resumes after epoch 1.
    moved = tmp_path / "moved"
    carry.unpack(stem, moved)
    restored = torch.load(moved / "last.pt", weights_only=False)
    assert restored["optimizer"]["state"] == {}
    for k, v in ck["model"].items():
        if v.is_floating_point():
            assert torch.allclose(restored["model"][k], v, rtol=1e-3, atol=1e-4), k
        else:
            assert torch.equal(restored["model"][k], v), k
    assert train.main(["--config", str(cfg), "--run-dir", str(moved)]) == 0
    carried_log = read_log(moved)
    assert [r["epoch"] for r in carried_log] == [1, 2, 3]

    # The same run never interrupted: the schedule's rates match epoch for epoch.
    whole = tmp_path / "whole"
    assert train.main(["--config", str(cfg), "--run-dir", str(whole)]) == 0
    whole_log = read_log(whole)
    assert [r["lr"] for r in carried_log] == pytest.approx([r["lr"] for r in whole_log], rel=1e-9)


def test_unpack_does_not_replace_a_run_already_there(dataset, tmp_path, monkeypatch):
    cfg, run = stopped_run(dataset, tmp_path, monkeypatch)
    stem = tmp_path / "r18"
    carry.pack(cfg, run, stem)
    before = (run / "last.pt").read_bytes()
    with pytest.raises(SystemExit, match="a run is already there"):
        carry.unpack(stem, run)
    assert (run / "last.pt").read_bytes() == before
    carry.unpack(stem, run, force=True)
    assert torch.load(run / "last.pt", weights_only=False)["epoch"] == 1


def test_damaged_carry_files_are_clear_errors(dataset, tmp_path, monkeypatch):
    cfg, run = stopped_run(dataset, tmp_path, monkeypatch)
    stem = tmp_path / "r18"
    carry.pack(cfg, run, stem)
    weights = stem.with_suffix(".safetensors")
    good = weights.read_bytes()
    weights.write_bytes(good[:1000])
    with pytest.raises(SystemExit, match="cannot read the carried weights"):
        carry.unpack(stem, tmp_path / "a")
    weights.write_bytes(good)
    doc = stem.with_suffix(".json")
    text = doc.read_text()
    doc.write_text(text[:50])
    with pytest.raises(SystemExit, match="not valid JSON"):
        carry.unpack(stem, tmp_path / "b")
    doc.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(SystemExit, match="not a carry file"):
        carry.unpack(stem, tmp_path / "c")
    with pytest.raises(SystemExit, match="not found"):
        carry.unpack(tmp_path / "nothing", tmp_path / "d")
    assert not any((tmp_path / d).exists() for d in "abcd")


def test_pack_refuses_a_missing_checkpoint_or_another_model(dataset, tmp_path, monkeypatch):
    cfg, run = stopped_run(dataset, tmp_path, monkeypatch)
    with pytest.raises(SystemExit, match="no checkpoint there"):
        carry.pack(cfg, tmp_path / "empty", tmp_path / "x")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "last.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(SystemExit, match="not a readable train.py checkpoint"):
        carry.pack(cfg, tmp_path / "junk", tmp_path / "x")
    r50 = tmp_path / "r50.yaml"
    r50.write_text(cfg.read_text().replace("arch: resnet18", "arch: resnet50"))
    with pytest.raises(SystemExit, match="not a resnet50"):
        carry.pack(r50, run, tmp_path / "x")
    assert not (tmp_path / "x.safetensors").exists()


def test_the_long_cpu_recipe_is_the_gpu_rounds_resnet18_on_two_threads():
    long, gpu = train.load_config(LONG), train.load_config(REPO / "Training/configs/gpu-resnet18.yaml")
    assert long["augment"] == gpu["augment"] and long["model"] == gpu["model"]
    assert long["train"]["epochs"] == 100 and long["train"]["threads"] == 2
    assert "autocast" not in long["train"] and not long["train"].get("fused")
