#!/usr/bin/env python3
"""Train a torchvision ResNet on a class-folder FER dataset from a YAML recipe.

    python Training/train.py --config Training/configs/fertui-resnet18.yaml

Writes `last.pt` (model, optimiser, schedule, history) after every epoch (or every
`train.checkpoint_every` epochs) into the run folder and resumes from it when started again;
`log.jsonl` gets one line per epoch. At the end the best epoch (by validation accuracy) is exported
to the engine's safetensors format, replacing an existing file only when the new model scores
higher (or with --force).

Options for a GPU, each off unless the config's `train:` asks (CPU runs are unchanged without
them): `autocast: bf16`, `channels_last: true`, `fused: true` (one fused Adam kernel), and a larger
`batch_size` with `lr_batch` (the batch the `lr` was tuned at) and `lr_scaling` (sqrt or linear).
"""
import argparse
import json
import math
import os
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fertrain import augment as aug  # noqa: E402
from fertrain import data, export, metrics, models, pack  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def resolve(p):
    """Paths in a config are relative to the repository root."""
    return None if p is None else (Path(p) if Path(p).is_absolute() else REPO / p)


def load_config(path):
    try:
        with open(path) as f:
            cfg = yaml.safe_load(f)
    except OSError as e:
        raise SystemExit(f"--config {path}: cannot read it ({e.strerror}); name a recipe in Training/configs/")
    for key in ("model", "data", "train", "augment", "output"):
        if key not in cfg:
            raise SystemExit(f"{path}: missing section `{key}:` (see Training/configs/)")
    return cfg


def prepare(images, size):
    """uint8 (B, 48, 48) -> float (B, 1, size, size) in [0, 1]: the engine's preprocessing up to
    normalisation (`normalise` follows, after augmentation in training)."""
    x = images.float().div_(255).unsqueeze(1)
    if x.shape[-1] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return x


def normalise(x, mean, std):
    x = x.expand(-1, 3, -1, -1)
    m = torch.tensor(mean, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    s = torch.tensor(std, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x - m) / s


@torch.no_grad()
def predict(model, images, size, mean, std, batch=256, tta_flip=False, temperature=1.0):
    """Softmax probabilities for uint8 images, of the logits over `temperature` (the calibration
    fertui applies); with tta_flip, averaged with the mirror image's, as the engine does."""
    model.eval()
    out = []
    for i in range(0, len(images), batch):
        x = prepare(images[i:i + batch], size)
        p = F.softmax(model(normalise(x, mean, std)) / temperature, dim=1)
        if tta_flip:
            p = (p + F.softmax(model(normalise(x.flip(-1), mean, std)) / temperature, dim=1)) / 2
        out.append(p.cpu())
    return torch.cat(out).numpy()


def class_weights(labels, k, power):
    """(count)^-power, scaled to mean 1 over the samples: power 0 is plain cross-entropy."""
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    w = np.where(counts > 0, counts, 1) ** -power
    w = w / (w * counts).sum() * counts.sum()
    return torch.tensor(w, dtype=torch.float32)


def make_schedule(opt, tcfg, total_steps):
    kind = tcfg.get("schedule", "constant")
    if kind == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=[g["lr"] for g in opt.param_groups], total_steps=total_steps,
            pct_start=tcfg.get("warmup", 0.15), anneal_strategy="cos",
            div_factor=tcfg.get("div_factor", 25), final_div_factor=tcfg.get("final_div_factor", 1e3))
    if kind == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total_steps)
    if kind == "constant":
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)
    raise SystemExit(f"train.schedule: unknown schedule {kind!r} (onecycle, cosine, constant)")


def lr_factor(tcfg):
    """How much a larger batch scales the config's learning rates: (batch_size / lr_batch) to the
    power 1/2 (`lr_scaling: sqrt`, the usual rule for Adam) or 1 (`linear`); 1 without `lr_batch`."""
    base = tcfg.get("lr_batch")
    if not base:
        return 1.0
    ratio = int(tcfg["batch_size"]) / float(base)
    rule = tcfg.get("lr_scaling", "sqrt")
    if rule == "sqrt":
        return math.sqrt(ratio)
    if rule == "linear":
        return ratio
    raise SystemExit(f"train.lr_scaling: unknown rule {rule!r} (sqrt, linear)")


def autocast_dtype(tcfg):
    """The dtype of `train.autocast` (bf16 only: fp16 would need a gradient scaler), or None."""
    kind = tcfg.get("autocast")
    if not kind:
        return None
    if kind == "bf16":
        return torch.bfloat16
    raise SystemExit(f"train.autocast: {kind!r} is not supported (bf16, or leave it out)")


def build_training(cfg, classes, device):
    """The model (fresh, seeded) and its optimiser for a config."""
    mcfg, tcfg = cfg["model"], cfg["train"]
    torch.manual_seed(int(tcfg.get("seed", 0)))
    model = models.build(mcfg["arch"], len(classes), resolve(mcfg.get("pretrained"))).to(device)
    if tcfg.get("channels_last", False):
        model = model.to(memory_format=torch.channels_last)
    groups = models.param_groups(model, tcfg)
    factor = lr_factor(tcfg)
    for g in groups:
        g["lr"] *= factor
    wd = float(tcfg.get("weight_decay", 0))
    extra = {"fused": True} if tcfg.get("fused", False) else {}
    opt_kind = tcfg.get("optimizer", "adam")
    if opt_kind == "adam":
        opt = torch.optim.Adam(groups, weight_decay=wd, **extra)
    elif opt_kind == "adamw":
        opt = torch.optim.AdamW(groups, weight_decay=wd, **extra)
    else:
        raise SystemExit(f"train.optimizer: unknown optimizer {opt_kind!r} (adam, adamw)")
    return model, opt


class Batches:
    """Augmented, normalised training batches, made on the training device: (x, labels, what the
    teachers see). The labels are a tensor, or `augment.MixedTargets` for a batch that mixup or
    cutmix mixed. The teachers see x itself (None) unless the config's `distill.teachers_see` is
    `fer`: then they see each face as FER-2013 frames it, without the detector's crop jitter or
    the erased patch, so a student cut around a jittered box learns what the teachers say of the
    well-framed face."""

    def __init__(self, images, labels, cfg, device):
        self.images, self.labels = images.to(device), labels.to(device)
        self.size = int(cfg["model"]["input_size"])
        self.mean, self.std = cfg["data"]["mean"], cfg["data"]["std"]
        self.augment = cfg["augment"]
        self.channels_last = cfg["train"].get("channels_last", False)
        self.generator = torch.Generator(device=device)
        self.mix_rng = np.random.default_rng(0)
        seen = (cfg.get("distill") or {}).get("teachers_see", "student")
        if seen not in ("student", "fer"):
            raise SystemExit(f"distill.teachers_see: {seen!r} is not a view; use student (the "
                             f"student's own input) or fer (the face without crop jitter or erasing)")
        self.teacher_view = seen == "fer"

    def seed(self, value):
        self.generator.manual_seed(value)
        self.mix_rng = np.random.default_rng(value)

    def __call__(self, idx):
        idx = idx.to(self.images.device)
        x = prepare(self.images[idx], self.size)
        x = aug.augment(x, self.augment, generator=self.generator, teacher_view=self.teacher_view)
        x, y = aug.mix(x, self.labels[idx], self.augment, self.mix_rng)
        views = [normalise(v, self.mean, self.std) for v in x.split(1, dim=1)]
        if self.channels_last:
            views = [v.contiguous(memory_format=torch.channels_last) for v in views]
        return views[0], y, (views[1] if self.teacher_view else None)


class Teachers:
    """Knowledge distillation: trained models (fertui exports) whose averaged predictions on each
    augmented batch, softened by a temperature, the student learns to match besides the labels.
    The config's `distill:` section names them (`teachers:`, a list of .safetensors paths), the
    `weight` of their term in the loss (0..1; the labels' cross-entropy gets the rest) and the
    `temperature`. A teacher must see the student's input size unless `resize_teachers: true`,
    which shows each teacher the batch resized (bilinear) to its own size."""

    def __init__(self, dcfg, cfg, device):
        self.weight = float(dcfg.get("weight", 0.5))
        self.temperature = float(dcfg.get("temperature", 1.0))
        if not 0 <= self.weight <= 1 or self.temperature <= 0:
            raise SystemExit(f"distill: weight must be in 0..1 and temperature above 0 "
                             f"(got {self.weight}, {self.temperature})")
        want = {"input_size": str(cfg["model"]["input_size"]), "classes": ",".join(cfg["data"]["classes"]),
                "mean": ",".join(f"{v:g}" for v in cfg["data"]["mean"]),
                "std": ",".join(f"{v:g}" for v in cfg["data"]["std"])}
        if dcfg.get("resize_teachers", False):
            del want["input_size"]
        self.models, self.names, self.sizes = [], [], []
        for p in dcfg.get("teachers") or []:
            path = resolve(p)
            if not path.exists():
                raise SystemExit(f"distill.teachers: {path} not found (a model exported by train.py)")
            model, meta = export.load(path)
            for key, value in want.items():
                if meta.get(key) != value:
                    raise SystemExit(f"distill.teachers: {path} has {key} {meta.get(key)!r}, the config "
                                     f"{value!r}; a teacher must see the student's input")
            for q in model.parameters():
                q.requires_grad_(False)
            if cfg["train"].get("channels_last", False):
                model = model.to(memory_format=torch.channels_last)
            self.models.append(model.to(device).eval())
            self.names.append(path.stem)
            self.sizes.append(int(meta["input_size"]))
        if not self.models:
            raise SystemExit("distill.teachers: name at least one model file")

    @torch.no_grad()
    def __call__(self, x):
        """The teachers' mean softened probabilities for a batch."""
        probs = []
        for model, size in zip(self.models, self.sizes):
            seen = x
            if x.shape[-1] != size:
                seen = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False,
                                     antialias=size < x.shape[-1])
            probs.append(F.softmax(model(seen) / self.temperature, dim=1))
        return torch.stack(probs).mean(0)

    def loss(self, logits, target):
        """KL divergence from the teachers to the student at the temperature, scaled by T² so its
        gradients keep their size as T changes (Hinton et al. 2015)."""
        t = self.temperature
        return F.kl_div(F.log_softmax(logits / t, dim=1), target, reduction="batchmean") * t * t


def label_loss(logits, y, weights, smoothing):
    """Cross-entropy with the labels (class weights and label smoothing as configured); for a
    mixed batch the two labels' losses in the proportion the images were mixed."""
    if isinstance(y, aug.MixedTargets):
        return (y.lam * F.cross_entropy(logits, y.a, weight=weights, label_smoothing=smoothing)
                + (1 - y.lam) * F.cross_entropy(logits, y.b, weight=weights, label_smoothing=smoothing))
    return F.cross_entropy(logits, y, weight=weights, label_smoothing=smoothing)


def train_step(model, opt, sched, x, y, weights, smoothing, teachers=None, autocast=None, teacher_x=None):
    """One optimiser step; `autocast` (a dtype) runs the forward passes in it. The teachers see
    `teacher_x` where given (`Batches`), else the student's x."""
    with torch.autocast(x.device.type, dtype=autocast or torch.bfloat16, enabled=autocast is not None):
        logits = model(x)
        loss = label_loss(logits, y, weights, smoothing)
        if teachers is not None:
            target = teachers(x if teacher_x is None else teacher_x)
            loss = (1 - teachers.weight) * loss + teachers.weight * teachers.loss(logits, target)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    if sched is not None:
        sched.step()
    return logits, loss


def positive_int(text):
    """argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True, help="YAML recipe (Training/configs/*.yaml)")
    ap.add_argument("--run-dir", help="where checkpoints and the log go (default: the config's output.dir)")
    ap.add_argument("--export", help="safetensors path for the best epoch (default: the config's output.export)")
    ap.add_argument("--force", action="store_true", help="export even if an existing model scores higher")
    ap.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint and start over")
    ap.add_argument("--export-only", action="store_true",
                    help="export the run's best epoch so far without training (e.g. a run cut short)")
    ap.add_argument("--stop-after", type=int, metavar="EPOCH",
                    help="stop once this epoch is checkpointed (resume later by running again)")
    ap.add_argument("--epochs", type=int, help="train this many epochs instead of the config's; given when "
                    "resuming, it changes the length of the run under way (the schedule follows)")
    ap.add_argument("--budget-seconds", type=float, metavar="S",
                    help="fit a run into S seconds of wall time, data loading, validation and export "
                         "included: time an epoch first and train fewer epochs than the config's if they "
                         "would not fit; after each epoch fit the count again from the epochs' own times "
                         "(fewer if need be; more, up to the config's, only during warm-up; the schedule "
                         "follows and each row logs the count); a run with no time for another epoch "
                         "stops and exports its best epoch")
    ap.add_argument("--data-pack", metavar="FILE",
                    help="read the train and val splits from a data pack (Training/gpu_round.py prepare "
                         "makes one) instead of the config's folders")
    ap.add_argument("--threads", type=positive_int, metavar="N",
                    help="PyTorch CPU threads (default: the config's train.threads, else every core); "
                         "on a machine shared with builds one thread can beat two contended ones")
    return ap.parse_args(argv)


def choose_device(tcfg, threads=None):
    """Set up PyTorch for a run; the training device and its name for the log."""
    torch.set_num_threads(threads or int(tcfg.get("threads", os.cpu_count() or 1)))
    # Weight decay walks unused weights, and Adam's moments with them, through the subnormal range
    # on their way to zero, and x86 CPUs take microcode assists on every subnormal operand, which
    # slows a long run's steps several times over. Flushing them to zero costs nothing in accuracy.
    torch.set_flush_denormal(True)
    device = torch.device("cuda" if torch.cuda.is_available() and tcfg.get("cuda", True) else "cpu")
    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    torch.backends.cudnn.benchmark = device.type == "cuda"  # fixed batch shapes: pick conv kernels once
    return device, device_name


@dataclass
class Run:
    """What every stage of a run shares: the config, the data on the device, the loss's terms."""
    cfg: dict
    classes: list
    device: torch.device
    device_name: str
    run_dir: Path
    batches: Batches
    val_images: torch.Tensor  # uint8 (N, 48, 48) on the device
    val_labels: np.ndarray
    train_count: int
    steps_per_epoch: int
    weights: torch.Tensor  # per class, for the cross-entropy
    smoothing: float
    tta: bool
    teachers: "Teachers | None"
    autocast: "torch.dtype | None"
    eval_batch: int
    best_state: "dict | None" = None  # the best epoch's weights, until the next checkpoint saves them


def load_data(dcfg, data_pack=None):
    """(train images, train labels, val images, val labels): uint8 (N, 48, 48) and int64 (N,)."""
    classes, limit = dcfg["classes"], dcfg.get("limit_per_class")
    if not data_pack:
        xtr, ytr = data.load_folder(resolve(dcfg["train"]), classes, limit_per_class=limit)
        xva, yva = data.load_folder(resolve(dcfg["val"]), classes, limit_per_class=limit)
        return xtr, ytr, xva, yva
    xtr, ytr, same_train = pack.load(data_pack, "train", classes, limit_per_class=limit)
    xva, yva, same_val = pack.load(data_pack, "val", classes, limit_per_class=limit)
    if not (same_train and same_val):
        print(f"warning: {data_pack} decoded to other pixels here than where it was packed "
              f"(another JPEG decoder); training goes on with these", flush=True)
    return xtr, ytr, xva, yva


def prepare_run(cfg, run_dir, device, device_name, data_pack=None):
    """Load the data onto the device and gather what the epochs share."""
    dcfg, tcfg = cfg["data"], cfg["train"]
    classes = dcfg["classes"]
    run_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    xtr, ytr, xva, yva = load_data(dcfg, data_pack)
    print(f"data: {len(ytr)} train, {len(yva)} val images ({time.time() - t0:.1f}s)", flush=True)
    val_images = torch.from_numpy(xva).to(device)
    batches = Batches(torch.from_numpy(xtr), torch.from_numpy(ytr), cfg, device)

    steps_per_epoch = len(ytr) // int(tcfg["batch_size"])
    if tcfg.get("max_steps"):
        steps_per_epoch = min(steps_per_epoch, int(tcfg["max_steps"]))
    weights = class_weights(ytr, len(classes), float(tcfg.get("class_weight_power", 0))).to(device)
    teachers = Teachers(cfg["distill"], cfg, device) if cfg.get("distill") else None
    if teachers:
        print(f"distilling from {', '.join(teachers.names)} (weight {teachers.weight}, "
              f"temperature {teachers.temperature})", flush=True)
    return Run(cfg=cfg, classes=classes, device=device, device_name=device_name, run_dir=run_dir,
               batches=batches, val_images=val_images, val_labels=yva, train_count=len(ytr),
               steps_per_epoch=steps_per_epoch, weights=weights,
               smoothing=float(tcfg.get("label_smoothing", 0)),
               tta=bool(cfg.get("eval", {}).get("tta_flip", False)), teachers=teachers,
               autocast=autocast_dtype(tcfg), eval_batch=int(cfg.get("eval", {}).get("batch_size", 256)))


def seconds_per_epoch(run):
    """Time a few steps and one validation pass on a throwaway model: the wall time of an epoch."""
    model, opt = build_training(run.cfg, run.classes, run.device)
    model.train()
    idx = torch.arange(int(run.cfg["train"]["batch_size"]))
    sync = torch.cuda.synchronize if run.device.type == "cuda" else (lambda: None)
    warm, n = min(5, run.steps_per_epoch), max(1, min(20, run.steps_per_epoch))  # no more than an epoch has
    def step():
        x, y, teacher_x = run.batches(idx)
        train_step(model, opt, None, x, y, run.weights, run.smoothing, run.teachers, run.autocast, teacher_x)

    for _ in range(warm):
        step()
    sync()
    t = time.time()
    for _ in range(n):
        step()
    sync()
    step = (time.time() - t) / n
    t = time.time()
    predict(model, run.val_images, run.batches.size, run.batches.mean, run.batches.std, run.eval_batch,
            tta_flip=run.tta)
    evaluation = time.time() - t
    del model, opt
    return step * run.steps_per_epoch + evaluation


def budget_reserve(budget_seconds):
    """Seconds a budget keeps back for the end of a run: the history, the best weights, the export."""
    return 1 + 0.02 * budget_seconds


def fit_to_budget(run, epochs, budget_seconds, started):
    """The epochs of a fresh run that fit in what is left of the budget: at most `epochs`."""
    per_epoch = seconds_per_epoch(run)
    left = budget_seconds - (time.time() - started) - budget_reserve(budget_seconds)
    fits = max(1, int(left / per_epoch))
    print(f"budget: {left:.0f}s left fits {fits} epochs of ~{per_epoch:.1f}s on {run.device_name}; "
          f"training {min(epochs, fits)} of {epochs}", flush=True)
    return min(epochs, fits)


def refit_to_budget(done, epochs, most, durations, left, warmup):
    """Epochs in all for a budget run after `done` of them, from how long they took (`durations`,
    seconds each, the run's first left out once there are others: it pays for start-up) and the
    seconds `left`: fewer when the rest would not fit; more, up to `most`, only while the schedule
    is still warming up, so the learning rate does not jump later. `done` or less means stop."""
    recent = (durations[1:] if len(durations) > 1 else durations)[-3:]
    per_epoch = sum(recent) / len(recent)
    fits = done + int(max(left, 0) / per_epoch)
    if fits < epochs:
        return fits
    if done < warmup * epochs:
        return min(most, fits)
    return epochs


def reschedule(opt, tcfg, configured, epochs, steps, done_steps):
    """The schedule of a run rebuilt over `epochs` and moved on to the step reached, so a one-cycle
    still anneals by the new last epoch. `configured` holds the config's (peak) learning rates."""
    for group, lr in zip(opt.param_groups, configured):
        group["lr"] = lr  # the schedule takes its peak from the groups' rates
    sched = make_schedule(opt, tcfg, epochs * steps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # stepping a schedule without optimiser steps
        for _ in range(done_steps):
            sched.step()
    return sched


def resume(run, ckpt_path, model, opt, configured, epochs, new_epochs=None):
    """Load a checkpoint into the model and optimiser: (schedule, epochs done, history, best, epochs in
    all). `configured` holds the config's learning rates; `new_epochs` (from --epochs) changes the
    length of the run under way."""
    tcfg, steps = run.cfg["train"], run.steps_per_epoch
    ck = torch.load(ckpt_path, map_location=run.device, weights_only=False)
    model.load_state_dict(ck["model"])
    opt.load_state_dict(ck["optimizer"])
    start, history, best = ck["epoch"], ck["history"], ck.get("best")
    planned = ck.get("epochs", epochs)
    if new_epochs and new_epochs != planned:
        # A new length for a run under way (it will not fit the time left, say): the schedule is
        # rebuilt over the new total and picks up at the step reached, so a one-cycle still
        # anneals by the new last epoch.
        if new_epochs <= start:
            raise SystemExit(f"--epochs {new_epochs}: the run in {run.run_dir} has already trained {start} "
                             f"epochs; give more, or --fresh to start over")
        epochs = new_epochs
        sched = reschedule(opt, tcfg, configured, epochs, steps, start * steps)
        print(f"resuming {ckpt_path} after epoch {start} with {epochs} epochs in all instead of "
              f"{planned}: schedule rebuilt, lr now {opt.param_groups[0]['lr']:.3g}", flush=True)
    else:
        # Rebuilt from the config's rates, not the checkpoint's schedule state: a one-cycle takes its
        # peak from the groups' rates, and after loading they hold the rate the run had reached.
        epochs = planned
        sched = reschedule(opt, tcfg, configured, epochs, steps, start * steps)
        print(f"resuming {ckpt_path} after epoch {start} ({torch.get_num_threads()} threads)", flush=True)
    return sched, start, history, best, epochs


def train_epoch(run, model, opt, sched, epoch, epochs, gen):
    """Train one epoch (0-based `epoch`), validate, and return its log row."""
    tcfg, steps, bs = run.cfg["train"], run.steps_per_epoch, int(run.cfg["train"]["batch_size"])
    model.train()
    epoch_seed = int(tcfg.get("seed", 0)) * 1000 + epoch
    gen.manual_seed(epoch_seed)
    run.batches.seed(epoch_seed)
    # The order goes to the device once: a copy per step would wait for the GPU every step, and
    # so would reading the loss; both add up on the device and are read once an epoch.
    order = torch.randperm(run.train_count, generator=gen).to(run.device)
    t_epoch, seen = time.time(), 0
    total_loss = torch.zeros((), dtype=torch.float64, device=run.device)
    correct = torch.zeros((), dtype=torch.int64, device=run.device)
    for step in range(steps):
        x, y, teacher_x = run.batches(order[step * bs:(step + 1) * bs])
        logits, loss = train_step(model, opt, sched, x, y, run.weights, run.smoothing, run.teachers,
                                  run.autocast, teacher_x)
        total_loss += loss.detach().double() * len(y)
        target = y.dominant() if isinstance(y, aug.MixedTargets) else y
        correct += (logits.argmax(1) == target).sum()
        seen += len(y)
        if step % 50 == 0:
            print(f"  epoch {epoch + 1} step {step}/{steps} loss {loss.item():.3f} "
                  f"({time.time() - t_epoch:.0f}s)", flush=True)
    total_loss, correct = total_loss.item(), correct.item()
    train_s = time.time() - t_epoch
    yva = run.val_labels
    probs = predict(model, run.val_images, run.batches.size, run.batches.mean, run.batches.std, run.eval_batch,
                    tta_flip=run.tta)
    rep = metrics.report(yva, probs, run.classes)
    val_loss = float(-np.log(np.maximum(probs[np.arange(len(yva)), yva], 1e-12)).mean())
    lr = opt.param_groups[0]["lr"]
    if len({g["lr"] for g in opt.param_groups}) > 1:  # per-layer rates (the paper's recipe)
        lr = {g["name"]: round(g["lr"], 8) for g in opt.param_groups}
    row = {"epoch": epoch + 1, "train_loss": total_loss / seen, "train_acc": correct / seen,
           "val_loss": val_loss, "val_acc": rep["accuracy"], "val_f1": rep["weighted"]["f1"],
           "val_auc": rep["macro_auc"],
           "val_recall": {c: round(v["recall"], 4) for c, v in rep["per_class"].items()},
           "lr": lr, "train_seconds": train_s, "seconds": time.time() - t_epoch, "epochs": epochs,
           "device": run.device_name}
    if run.teachers:
        # train_loss is then the mix of cross-entropy and the teachers' KL term, not on the scale
        # of a plain run's; report.py leaves these rows out of the train-loss curve.
        row["distill"] = {"teachers": run.teachers.names, "weight": run.teachers.weight,
                          "temperature": run.teachers.temperature}
        if run.batches.teacher_view:
            row["distill"]["teachers_see"] = "fer"
    return row


def record_epoch(run, row, model, history, best):
    """Log an epoch's row and keep the best weights (in memory until the next checkpoint); the
    best so far."""
    history.append(row)
    print(json.dumps(row), flush=True)
    with open(run.run_dir / "log.jsonl", "a") as f:
        f.write(json.dumps(row) + "\n")
    if best is None or row["val_acc"] > best["val_acc"]:
        best = {"epoch": row["epoch"], "val_acc": row["val_acc"]}
        run.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    return best


def save_checkpoint(run, model, opt, sched, history, best, epochs):
    """Write the best weights (`best.pt`, if they changed) and the run's state (`last.pt`)."""
    if run.best_state is not None:
        torch.save(run.best_state, run.run_dir / "best.pt")
        run.best_state = None
    ckpt_path = run.run_dir / "last.pt"
    tmp = ckpt_path.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                "schedule": sched.state_dict(), "epoch": history[-1]["epoch"], "epochs": epochs,
                "history": history, "best": best}, tmp)
    os.replace(tmp, ckpt_path)


def export_best(run, model, history, best, target, force, config_path):
    """Export the best epoch to `target` unless a model already there scores as well (or `force`)."""
    mcfg, dcfg, cfg = run.cfg["model"], run.cfg["data"], run.cfg
    model.load_state_dict(torch.load(run.run_dir / "best.pt", map_location=run.device, weights_only=True))
    target = resolve(target)
    if target.exists() and not force:
        old = float(export.read_metadata(target).get("val_accuracy", "0") or 0)
        if old >= best["val_acc"]:
            print(f"not exported: {target} scores {old:.4f} on val, this run {best['val_acc']:.4f} "
                  f"(use --force to replace it)")
            return
    train_hours = sum(r["seconds"] for r in history) / 3600
    meta = export.metadata(
        mcfg["arch"], int(mcfg["input_size"]), run.classes, dcfg["mean"], dcfg["std"],
        recipe=cfg.get("name", Path(config_path).stem) + ": " + cfg.get("description", ""),
        epochs=str(best["epoch"]), val_accuracy=f"{best['val_acc']:.4f}",
        tta_flip="true" if run.tta else "false", train_hours=f"{train_hours:.2f}",
        trained_on=run.device_name)
    export.export(model.float().to(memory_format=torch.contiguous_format), target, meta)
    print(f"exported epoch {best['epoch']} (val accuracy {best['val_acc']:.4f}) to {target}")


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config)
    tcfg = cfg["train"]
    device, device_name = choose_device(tcfg, args.threads)
    started = time.time()
    run_dir = Path(args.run_dir) if args.run_dir else resolve(cfg["output"]["dir"])
    run = prepare_run(cfg, run_dir, device, device_name, args.data_pack)

    epochs = int(args.epochs or tcfg["epochs"])
    ckpt_path = run_dir / "last.pt"
    resuming = ckpt_path.exists() and not args.fresh
    if args.budget_seconds and not resuming and not args.export_only:
        epochs = fit_to_budget(run, epochs, args.budget_seconds, started)

    model, opt = build_training(cfg, run.classes, device)
    configured = [g["lr"] for g in opt.param_groups]  # the config's rates: a schedule's peak
    sched = make_schedule(opt, tcfg, epochs * run.steps_per_epoch)
    start, history, best = 0, [], None
    if resuming:
        sched, start, history, best, epochs = resume(run, ckpt_path, model, opt, configured, epochs, args.epochs)

    gen = torch.Generator()
    every = int(tcfg.get("checkpoint_every", 1))
    most = int(args.epochs or tcfg["epochs"])  # a budget may lengthen a run up to this
    done = saved = start
    durations, tick = [], time.time()  # an epoch's duration includes the last one's checkpoint
    while done < epochs and not args.export_only:  # `epochs` may change as the budget is fitted
        row = train_epoch(run, model, opt, sched, done, epochs, gen)
        best = record_epoch(run, row, model, history, best)
        done += 1
        durations.append(time.time() - tick)
        tick = time.time()
        stop = False
        if args.budget_seconds and done < epochs:
            left = args.budget_seconds - (time.time() - started) - budget_reserve(args.budget_seconds)
            fits = refit_to_budget(done, epochs, most, durations, left, float(tcfg.get("warmup", 0.15)))
            if fits <= done:
                print(f"budget: {time.time() - started:.0f}s spent, stopping after epoch {done} of {epochs}",
                      flush=True)
                stop = True
            elif fits != epochs:
                print(f"budget: epochs take ~{durations[-1]:.1f}s, {left:.0f}s left: {fits} epochs in all "
                      f"instead of {epochs}, schedule rebuilt", flush=True)
                epochs = fits
                sched = reschedule(opt, tcfg, configured, epochs, run.steps_per_epoch, done * run.steps_per_epoch)
        pause = args.stop_after and done >= args.stop_after and done < epochs
        if done % every == 0 or stop or pause:
            save_checkpoint(run, model, opt, sched, history, best, epochs)
            saved = done
        if stop:
            break
        if pause:
            print(f"stopped after epoch {done} of {epochs}; run again to resume", flush=True)
            return 0
    if saved < done:
        save_checkpoint(run, model, opt, sched, history, best, epochs)

    with open(run_dir / "history.json", "w") as f:
        json.dump({"config": cfg, "history": history, "best": best}, f, indent=1)
    target = args.export or cfg["output"].get("export")
    if target and best:
        export_best(run, model, history, best, target, args.force, args.config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
