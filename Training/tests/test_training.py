"""The training recipe end to end on a tiny synthetic class-folder dataset: a short run, resume,
the paper's transfer set-up (frozen layers, per-layer learning rates), export and reload."""
import json
from pathlib import Path

import pytest
import torch
import torchvision
import yaml

import train
from fertrain import CLASSES, export, models

REPO = Path(__file__).resolve().parents[2]


def write_config(path, base, dataset, run_dir, **train_overrides):
    cfg = yaml.safe_load(open(base))
    cfg["data"]["train"] = str(dataset / "train")
    cfg["data"]["val"] = str(dataset / "val")
    cfg["train"].update(train_overrides)
    cfg["output"] = {"dir": str(run_dir), "export": str(run_dir / "model.safetensors")}
    path.write_text(yaml.safe_dump(cfg))
    return path


def short_fertui_run(dataset, tmp_path, monkeypatch, **train_overrides):
    """A fertui-resnet18 config on the tiny dataset (batch 8, 2 steps an epoch): (config, run dir)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    run = tmp_path / "run"
    cfg = write_config(tmp_path / "c.yaml", REPO / "Training/configs/fertui-resnet18.yaml", dataset, run,
                       batch_size=8, max_steps=2, **train_overrides)
    return cfg, run


def read_log(run):
    return [json.loads(line) for line in open(run / "log.jsonl")]


def test_short_run_resumes_and_exports(dataset, tmp_path, monkeypatch):
    cfg, run = short_fertui_run(dataset, tmp_path, monkeypatch, epochs=2)
    assert train.main(["--config", str(cfg), "--stop-after", "1"]) == 0
    assert [r["epoch"] for r in read_log(run)] == [1]
    assert not (run / "model.safetensors").exists()
    # Started again, the run resumes after epoch 1 instead of starting over.
    assert train.main(["--config", str(cfg)]) == 0
    log = read_log(run)
    assert [r["epoch"] for r in log] == [1, 2]
    # Training flushes subnormal floats to zero (they slowed a resumed ResNet50 3-4x).
    assert (torch.tensor([1e-39]) * 1.0).item() == 0.0

    meta = export.read_metadata(run / "model.safetensors")
    assert meta["arch"] == "resnet18" and meta["input_size"] == "48" and meta["grayscale"] == "true"
    assert meta["classes"] == ",".join(CLASSES)
    assert meta["mean"] == "0.5,0.5,0.5" and meta["std"] == "0.25,0.25,0.25"
    assert float(meta["val_accuracy"]) == pytest.approx(max(r["val_acc"] for r in log), abs=1e-4)


def test_a_resumed_one_cycle_run_keeps_its_schedule(dataset, tmp_path, monkeypatch):
    # Stopped and resumed, a one-cycle run's rates are those of the same run never stopped (a
    # resume once took the schedule's peak from the rate reached, lowering the rest of the run).
    cfg, run = short_fertui_run(dataset, tmp_path, monkeypatch, epochs=4, schedule="onecycle",
                                lr_batch=4)
    assert train.main(["--config", str(cfg), "--stop-after", "2"]) == 0
    assert train.main(["--config", str(cfg)]) == 0
    whole = tmp_path / "whole"
    assert train.main(["--config", str(cfg), "--run-dir", str(whole)]) == 0
    resumed, uninterrupted = read_log(run), read_log(whole)
    assert [r["epoch"] for r in resumed] == [1, 2, 3, 4]
    assert [r["lr"] for r in resumed] == pytest.approx([r["lr"] for r in uninterrupted], rel=1e-9)


def test_a_run_under_way_can_be_shortened_and_still_anneals(dataset, tmp_path, monkeypatch):
    cfg, run = short_fertui_run(dataset, tmp_path, monkeypatch, epochs=6, schedule="onecycle")
    assert train.main(["--config", str(cfg), "--stop-after", "2"]) == 0
    first = read_log(run)
    assert [r["epochs"] for r in first] == [6, 6]
    # Resumed with 3 epochs in all: one more epoch, logged as a 3-epoch run, its learning rate
    # where a 3-epoch one-cycle is after its 6 steps, not where the 6-epoch one would be.
    assert train.main(["--config", str(cfg), "--epochs", "3"]) == 0
    log = read_log(run)
    assert [r["epoch"] for r in log] == [1, 2, 3]
    assert log[-1]["epochs"] == 3

    def lr_after(steps, total):
        tcfg = train.load_config(cfg)["train"]
        opt = torch.optim.Adam(torch.nn.Linear(1, 1).parameters(), lr=tcfg["lr"])
        sched = train.make_schedule(opt, tcfg, total)
        for _ in range(steps):
            opt.step()
            sched.step()
        return opt.param_groups[0]["lr"]
    assert log[-1]["lr"] == pytest.approx(lr_after(6, 6), rel=1e-6)
    assert abs(lr_after(6, 12) - lr_after(6, 6)) > 1e-4
    with pytest.raises(SystemExit, match="already trained 3 epochs"):
        train.main(["--config", str(cfg), "--epochs", "2"])


def test_time_budget_trains_fewer_epochs_and_logs_the_count(dataset, tmp_path, monkeypatch):
    cfg, run = short_fertui_run(dataset, tmp_path, monkeypatch, epochs=500)
    assert train.main(["--config", str(cfg), "--budget-seconds", "4"]) == 0
    log = read_log(run)
    assert 1 <= len(log) < 500
    # Every row logs the count fitted so far (fitted again after each epoch from the epochs' own
    # times); a run with no time for another epoch stops before it.
    assert all(r["epochs"] < 500 for r in log) and len(log) <= log[-1]["epochs"]
    assert (run / "model.safetensors").exists()


def test_export_loads_in_torchvision_with_load_state_dict(tmp_path):
    torch.manual_seed(0)
    model = models.build("resnet34", 7).eval()
    path = tmp_path / "m.safetensors"
    export.export(model, path, export.metadata("resnet34", 48, CLASSES, [0.5] * 3, [0.25] * 3, epochs="3"))
    from safetensors.torch import load_file
    state = load_file(str(path))
    assert state["conv1.weight"].dtype == torch.float16
    assert state["layer1.0.bn1.num_batches_tracked"].dtype == torch.int64
    fresh = models.build("resnet34", 7)
    fresh.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    fresh.eval()
    x = torch.randn(2, 3, 48, 48)
    with torch.no_grad():
        assert torch.allclose(model(x), fresh(x), atol=5e-2)
        loaded, meta = export.load(path)
        assert torch.equal(loaded(x), fresh(x))
    assert meta["epochs"] == "3"


def test_a_fertui_export_as_pretrained_continues_from_it(tmp_path):
    """`pretrained:` pointing at a 7-way export (to train on from a shipped model) loads it whole,
    fc included; ImageNet weights (1000-way fc) get a new fc instead."""
    torch.manual_seed(1)
    model = models.build("resnet18", 7).eval()
    path = tmp_path / "m.safetensors"
    export.export(model, path, export.metadata("resnet18", 48, CLASSES, [0.5] * 3, [0.25] * 3))
    again = models.build("resnet18", 7, path)
    shipped, _ = export.load(path)
    for (k, a), b in zip(again.state_dict().items(), shipped.state_dict().values()):
        assert torch.equal(a, b), k
    imagenet = tmp_path / "imagenet.pth"
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), imagenet)
    assert models.build("resnet18", 7, imagenet).fc.out_features == 7


def test_paper_recipe_runs_a_few_steps_with_layer4_and_fc_only(dataset, tmp_path, monkeypatch):
    """The paper's config as written, random initial weights instead of ImageNet (none here)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    paper = yaml.safe_load(open(REPO / "Training/configs/paper-resnet18.yaml"))
    assert paper["model"]["input_size"] == 224 and paper["train"]["epochs"] == 20
    assert paper["train"]["batch_size"] == 64 and paper["train"]["optimizer"] == "adam"
    assert paper["train"]["unfreeze"] == ["layer4", "fc"]
    assert paper["train"]["lr"] == {"layer4": 1e-3, "fc": 1e-2}

    model = models.build("resnet18", 7)
    groups = models.param_groups(model, paper["train"])
    assert {g["name"]: g["lr"] for g in groups} == {"layer4": 1e-3, "fc": 1e-2}
    assert not model.conv1.weight.requires_grad and not model.layer3[0].conv1.weight.requires_grad
    assert model.layer4[0].conv1.weight.requires_grad and model.fc.weight.requires_grad

    run = tmp_path / "paper"
    cfg = write_config(tmp_path / "p.yaml", REPO / "Training/configs/paper-resnet18.yaml", dataset, run,
                       epochs=1, batch_size=8, max_steps=2)
    assert train.main(["--config", str(cfg)]) == 0
    ck = torch.load(run / "last.pt", weights_only=False)
    torch.manual_seed(0)  # train.py seeds 0 before building: the frozen layers must be unchanged
    fresh = models.build("resnet18", 7)
    assert torch.equal(ck["model"]["layer1.0.conv1.weight"], fresh.state_dict()["layer1.0.conv1.weight"])
    assert not torch.equal(ck["model"]["layer4.0.conv1.weight"], fresh.state_dict()["layer4.0.conv1.weight"])


def test_missing_pretrained_weights_is_a_clear_error(tmp_path):
    with pytest.raises(SystemExit, match="ImageNet weights .* not found"):
        models.build("resnet18", 7, pretrained=tmp_path / "nope.pth")


def exported_teacher(path, seed, arch="resnet18", size=48):
    torch.manual_seed(seed)
    export.export(models.build(arch, 7).eval(), path,
                  export.metadata(arch, size, CLASSES, [0.5] * 3, [0.25] * 3))
    return path


def test_distillation_pulls_the_student_towards_its_teachers(tmp_path):
    """With the distillation term alone (weight 1), training steps on one batch shrink the KL
    divergence from the teachers; a student identical to its one teacher has none."""
    cfg = yaml.safe_load(open(REPO / "Training/configs/fertui-resnet18.yaml"))
    teachers = [exported_teacher(tmp_path / f"t{i}.safetensors", seed=10 + i) for i in range(2)]
    t = train.Teachers({"teachers": [str(p) for p in teachers], "weight": 1.0, "temperature": 2.0},
                       cfg, torch.device("cpu"))
    x = torch.randn(8, 3, 48, 48)
    y = torch.randint(0, 7, (8,))
    target = t(x)
    assert target.shape == (8, 7) and torch.allclose(target.sum(1), torch.ones(8))

    twin, _ = export.load(teachers[0])
    alone = train.Teachers({"teachers": [str(teachers[0])], "temperature": 2.0}, cfg, torch.device("cpu"))
    with torch.no_grad():
        assert alone.loss(twin(x), alone(x)).item() == pytest.approx(0, abs=1e-6)

    torch.manual_seed(0)
    student = models.build("resnet18", 7)
    opt = torch.optim.Adam(student.parameters(), lr=1e-3)

    def divergence():
        student.eval()
        with torch.no_grad():
            return t.loss(student(x), target).item()

    before = divergence()
    student.train()
    for _ in range(15):
        train.train_step(student, opt, None, x, y, None, 0.0, t)
    assert divergence() < 0.5 * before


def test_the_teachers_target_comes_from_the_teacher_view_when_given(tmp_path):
    cfg = yaml.safe_load(open(REPO / "Training/configs/fertui-resnet18.yaml"))
    t = train.Teachers({"teachers": [str(exported_teacher(tmp_path / "t.safetensors", seed=4))],
                        "weight": 0.5, "temperature": 2.0}, cfg, torch.device("cpu"))
    g = torch.Generator().manual_seed(0)
    x, seen = torch.randn(4, 3, 48, 48, generator=g), torch.randn(4, 3, 48, 48, generator=g)
    y = torch.tensor([0, 1, 2, 3])
    torch.manual_seed(0)
    student = models.build("resnet18", 7)
    student.train()
    with torch.no_grad():  # train mode: batch statistics, the same logits train_step computes
        logits = student(x)
        labels = train.label_loss(logits, y, None, 0.0)
        expected = {name: (0.5 * labels + 0.5 * t.loss(logits, t(v))).item() for name, v in (("x", x), ("seen", seen))}
    opt = torch.optim.SGD(student.parameters(), lr=0.0)
    _, loss = train.train_step(student, opt, None, x, y, None, 0.0, t, teacher_x=seen)
    assert loss.item() == pytest.approx(expected["seen"], rel=1e-5)
    assert expected["seen"] != pytest.approx(expected["x"], rel=1e-3)


def test_a_teacher_that_sees_other_input_is_a_clear_error(tmp_path):
    cfg = yaml.safe_load(open(REPO / "Training/configs/fertui-resnet18.yaml"))
    wrong = exported_teacher(tmp_path / "t224.safetensors", seed=0, size=224)
    with pytest.raises(SystemExit, match="input_size '224'.*student's input"):
        train.Teachers({"teachers": [str(wrong)]}, cfg, torch.device("cpu"))
    with pytest.raises(SystemExit, match="not found"):
        train.Teachers({"teachers": [str(tmp_path / "none.safetensors")]}, cfg, torch.device("cpu"))


def test_a_distilling_run_trains_and_exports(dataset, tmp_path, monkeypatch):
    cfg, run = short_fertui_run(dataset, tmp_path, monkeypatch, epochs=1)
    c = yaml.safe_load(open(cfg))
    c["distill"] = {"teachers": [str(exported_teacher(tmp_path / "t.safetensors", seed=3))],
                    "weight": 0.5, "temperature": 2.0}
    cfg.write_text(yaml.safe_dump(c))
    assert train.main(["--config", str(cfg)]) == 0
    rows = read_log(run)
    assert [r["epoch"] for r in rows] == [1]
    assert rows[0]["distill"] == {"teachers": ["t"], "weight": 0.5, "temperature": 2.0}
    assert (run / "model.safetensors").exists()


def test_threads_option_sets_torch_threads_and_rejects_nonsense(dataset, tmp_path, monkeypatch, capsys):
    cfg, _ = short_fertui_run(dataset, tmp_path, monkeypatch, epochs=1)
    assert train.load_config(cfg)["train"]["threads"] != 1  # so the option, not the config, sets 1
    before = torch.get_num_threads()
    try:
        assert train.main(["--config", str(cfg), "--threads", "1", "--export-only"]) == 0
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    with pytest.raises(SystemExit) as exit_info:
        train.main(["--config", str(cfg), "--threads", "0"])
    assert exit_info.value.code != 0
    assert "'0' is not a whole number of at least 1" in capsys.readouterr().err


def test_a_missing_config_is_a_clear_error(tmp_path):
    with pytest.raises(SystemExit, match="nope.yaml: cannot read it .*Training/configs"):
        train.main(["--config", str(tmp_path / "nope.yaml")])


def test_teachers_can_see_the_face_without_the_students_crop_jitter(dataset, tmp_path, monkeypatch):
    cfg, run = short_fertui_run(dataset, tmp_path, monkeypatch, epochs=1)
    c = yaml.safe_load(open(cfg))
    c["augment"]["crop_jitter"] = {"sources": [{"x_off": [0.1] * 3, "y_off": [0.05] * 3, "scale": [0.8] * 3}]}
    c["distill"] = {"teachers": [str(exported_teacher(tmp_path / "t.safetensors", seed=3))],
                    "weight": 0.5, "temperature": 2.0, "teachers_see": "fer"}
    batches = train.Batches(torch.randint(0, 256, (8, 48, 48), dtype=torch.uint8), torch.arange(8) % 7,
                            c, torch.device("cpu"))
    batches.seed(0)
    x, y, seen = batches(torch.arange(8))
    assert x.shape == seen.shape == (8, 3, 48, 48) and not torch.allclose(x, seen)
    c["distill"]["teachers_see"] = "student"
    _, _, none = train.Batches(torch.zeros(2, 48, 48, dtype=torch.uint8), torch.arange(2), c,
                               torch.device("cpu"))(torch.arange(2))
    assert none is None
    c["distill"]["teachers_see"] = "fer"
    cfg.write_text(yaml.safe_dump(c))
    assert train.main(["--config", str(cfg)]) == 0
    assert read_log(run)[0]["distill"]["teachers_see"] == "fer"
    c["distill"]["teachers_see"] = "clean"
    cfg.write_text(yaml.safe_dump(c))
    with pytest.raises(SystemExit, match="teachers_see: 'clean' is not a view"):
        train.main(["--config", str(cfg)])
