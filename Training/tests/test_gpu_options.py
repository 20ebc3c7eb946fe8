"""train.py's options for a GPU (bf16 autocast, fused Adam, a larger batch with its learning rate
scaled, checkpoints every few epochs, the data pack) and its time budget, fitted again after every
epoch so a whole run, evaluation and export included, ends inside it."""
import time

import pytest
import torch
import yaml

import train
from fertrain import CLASSES, models, pack

from test_training import REPO, read_log, short_fertui_run


def test_a_larger_batch_scales_the_learning_rate_as_asked():
    assert train.lr_factor({"batch_size": 256, "lr_batch": 64}) == pytest.approx(2.0)
    assert train.lr_factor({"batch_size": 256, "lr_batch": 64, "lr_scaling": "linear"}) == pytest.approx(4.0)
    assert train.lr_factor({"batch_size": 256}) == 1.0
    with pytest.raises(SystemExit, match="unknown rule 'cube'"):
        train.lr_factor({"batch_size": 256, "lr_batch": 64, "lr_scaling": "cube"})
    cfg = yaml.safe_load(open(REPO / "Training/configs/fertui-resnet18.yaml"))
    cfg["train"].update(batch_size=256, lr_batch=64)
    _, opt = train.build_training(cfg, CLASSES, torch.device("cpu"))
    assert opt.param_groups[0]["lr"] == pytest.approx(2e-3 * 2)


def test_bf16_autocast_and_fused_adam_take_a_step():
    assert train.autocast_dtype({"autocast": "bf16"}) == torch.bfloat16
    assert train.autocast_dtype({}) is None
    with pytest.raises(SystemExit, match="'fp16' is not supported"):
        train.autocast_dtype({"autocast": "fp16"})
    torch.manual_seed(0)
    model = models.build("resnet18", 7).to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    x = torch.randn(2, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    before = model.fc.weight.detach().clone()
    _, loss = train.train_step(model, opt, None, x, torch.tensor([1, 2]), None, 0.1, autocast=torch.bfloat16)
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    assert not torch.equal(model.fc.weight, before)


@pytest.mark.parametrize("done, epochs, durations, left, warmup, expect", [
    (1, 50, [2.0], 10.0, 0.15, 6),         # slower than timed: fewer epochs
    (3, 20, [9.0, 1.0, 1.0], 30.0, 0.15, 20),  # the first epoch (start-up) is left out; no growth past warm-up
    (1, 20, [1.0], 100.0, 0.15, 60),       # faster during warm-up: up to the ceiling
    (2, 20, [1.0, 1.0], 100.0, 0.05, 20),  # warm-up over: the count stays
    (4, 20, [1.0] * 4, 0.5, 0.15, 4),      # no time for another: stop
])
def test_a_budget_is_fitted_again_from_the_epochs_own_times(done, epochs, durations, left, warmup, expect):
    assert train.refit_to_budget(done, epochs, 60, durations, left, warmup) == expect


def test_a_run_slower_than_timed_still_ends_inside_its_budget(dataset, tmp_path, monkeypatch):
    cfg, run = short_fertui_run(dataset, tmp_path, monkeypatch, epochs=200, checkpoint_every=50)
    monkeypatch.setattr(train, "seconds_per_epoch", lambda run: 0.001)  # the first guess: far too fast
    started = time.time()
    assert train.main(["--config", str(cfg), "--budget-seconds", "8"]) == 0
    assert time.time() - started < 8 + 1.5  # start-up and imports before main() are not the run's
    log = read_log(run)
    assert log[0]["epochs"] == 200 and len(log) < 200
    # The plan is cut after an epoch's time is known; on a loaded machine the first epoch alone can
    # spend the budget, and the run then stops after it without a second plan.
    assert log[-1]["epochs"] < 200 or len(log) == 1
    assert (run / "model.safetensors").exists()
    ck = torch.load(run / "last.pt", weights_only=False)
    assert ck["epoch"] == len(log)  # checkpointed at the end although 50 epochs were not reached


def test_checkpoints_every_few_epochs_still_resume(dataset, tmp_path, monkeypatch):
    cfg, run = short_fertui_run(dataset, tmp_path, monkeypatch, epochs=3, checkpoint_every=2)
    assert train.main(["--config", str(cfg), "--stop-after", "1"]) == 0
    assert torch.load(run / "last.pt", weights_only=False)["epoch"] == 1 and (run / "best.pt").exists()
    assert train.main(["--config", str(cfg)]) == 0
    assert [r["epoch"] for r in read_log(run)] == [1, 2, 3]
    assert torch.load(run / "last.pt", weights_only=False)["epoch"] == 3


def test_a_run_reads_its_data_from_a_pack(dataset, tmp_path, monkeypatch):
    cfg, run = short_fertui_run(dataset, tmp_path, monkeypatch, epochs=1)
    packed = tmp_path / "d.ferpack"
    pack.write(packed, {"train": dataset / "train", "val": dataset / "val"}, CLASSES)
    c = yaml.safe_load(open(cfg))
    c["data"]["train"] = c["data"]["val"] = str(tmp_path / "nowhere")  # the pack replaces the folders
    cfg.write_text(yaml.safe_dump(c))
    assert train.main(["--config", str(cfg), "--data-pack", str(packed)]) == 0
    assert len(read_log(run)) == 1 and (run / "model.safetensors").exists()
