#!/usr/bin/env python3
"""One training round on a lent GPU (the device tool): data in one pack, every model trained at
once, the round's best ensemble distilled into each, the weights back in pieces, shipped here only
where they beat the shipped files on val. Assets/models/REPORT.md, "Next GPU round", has the
exact tool calls.

Here, before (packs FER-2013 into .gpu-round/, which travels as `carry`; moves the shipped weights
into .gpu-stash/ and out of git's index, so the 111 MB of them stay behind):
    python3 Training/gpu_round.py prepare
On the GPU machine (the round, within --budget seconds, then the pieces that did not fit):
    python3 Training/gpu_round.py run --budget 480 --out $OUT
    python3 Training/gpu_round.py send --batch 2 --out $OUT
Here, after (weights put back, pieces reassembled and checked, better models shipped):
    python3 Training/gpu_round.py fetch /work/.device/... [more folders]
    python3 Training/gpu_round.py restore          # only if fetch was not run

`run` phases, all within the budget: unpack the data; phase 1 trains configs/gpu-round.yaml's
`train:` models as parallel processes (train.py --budget-seconds); each export is evaluated on val;
the best-scoring ensemble of them becomes phase 2's teachers, distilled into each `distill:`
model; the better phase of each model is kept; summary.json, logs.tar.gz and batch 1 of the
weights go to --out, later batches wait in the work folder for `send`.
"""
import argparse
import itertools
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fertrain import CLASSES, export, metrics, pack, parcel  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
TRAIN = REPO / "Training" / "train.py"
PLAN = REPO / "Training" / "configs" / "gpu-round.yaml"
KIT = ".gpu-round"  # travels (named in `carry`): the data pack and the shipped models' facts
STASH = ".gpu-stash"  # stays here: the shipped weights while a round is out
PACK_NAME = "fer2013.ferpack"
SHIPPED_NAME = "shipped.json"
WEIGHTS = "Assets/models"
TRAVEL_LIMIT = 64 * parcel.MIB
WORK = "/tmp/fertui-round"
TARGETS = {"best_single": 0.71, "ensemble": 0.72, "disgust_recall": 0.60}


# ---- here: before and after ------------------------------------------------------------------

def git(repo, *args):
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} in {repo} failed: {done.stderr.strip()}")
    return done.stdout


def shipped_facts(repo):
    """{name: {val_accuracy, input_size, sha256}} of the shipped weights, for the device to know
    what a new model must beat without the files travelling."""
    facts = {}
    for path in sorted((repo / WEIGHTS).glob("*.safetensors")):
        meta = export.read_metadata(path)
        facts[path.stem] = {"val_accuracy": float(meta.get("val_accuracy") or 0),
                            "input_size": int(meta.get("input_size", 48)),
                            "sha256": parcel.sha256(path.read_bytes())}
    return facts


def stash_weights(repo):
    """Move the tracked Assets/models/*.safetensors into .gpu-stash/ and out of git's index, so no
    way of copying the working tree takes them along. Returns the paths moved ([] if stashed)."""
    stash = repo / STASH
    record = stash / "stashed.json"
    if record.exists():
        return []
    paths = [p for p in git(repo, "ls-files", "-z", "--", f"{WEIGHTS}/*.safetensors").split("\0") if p]
    stash.mkdir(exist_ok=True)
    record.write_text(json.dumps({"paths": paths, "head": git(repo, "rev-parse", "HEAD").strip()}, indent=1))
    for rel in paths:
        git(repo, "rm", "--cached", "-q", "--", rel)
        if (repo / rel).exists():
            os.replace(repo / rel, stash / Path(rel).name)
    return paths


def restore_weights(repo):
    """Undo stash_weights: files back in place, index entries back from HEAD. Returns the paths."""
    stash = repo / STASH
    record = stash / "stashed.json"
    if not record.exists():
        return []
    paths = json.loads(record.read_text())["paths"]
    for rel in paths:
        kept, home = stash / Path(rel).name, repo / rel
        if kept.exists():
            if home.exists():
                raise SystemExit(f"{home} exists and its stashed copy {kept} too: move one away, then "
                                 f"run `gpu_round.py restore` again")
            os.replace(kept, home)
        git(repo, "reset", "-q", "--", rel)
        if not git(repo, "ls-files", "--", rel).strip():
            print(f"warning: HEAD no longer tracks {rel}: was a commit made while the weights were "
                  f"stashed? `git log -- {rel}` shows it; undo it before going on", file=sys.stderr)
    record.unlink()
    if not any(stash.iterdir()):
        stash.rmdir()
    return paths


def travelling_bytes(repo, carried):
    """Bytes the device tool sends: tracked and untracked-not-ignored files, plus `carried`."""
    names = git(repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    total = sum((repo / n).stat().st_size for n in names if n and (repo / n).is_file())
    for c in carried:
        c = repo / c
        total += sum(p.stat().st_size for p in c.rglob("*") if p.is_file()) if c.is_dir() else c.stat().st_size
    return total


def prepare(args):
    repo = Path(args.repo)
    kit = repo / KIT
    kit.mkdir(exist_ok=True)
    target = kit / PACK_NAME
    if args.repack or not target.exists():
        data_root = Path(args.data)
        t = time.time()
        pack.write(target, {"train": data_root / "train", "val": data_root / "val"}, CLASSES)
        print(f"packed {data_root} into {target}: {target.stat().st_size / parcel.MIB:.1f} MiB "
              f"({time.time() - t:.0f}s)")
    else:
        print(f"{target} is there ({target.stat().st_size / parcel.MIB:.1f} MiB; --repack to pack again)")
    facts = shipped_facts(repo) if not (repo / STASH / "stashed.json").exists() else None
    if facts is not None:
        (kit / SHIPPED_NAME).write_text(json.dumps(facts, indent=1))
        print("shipped: " + ", ".join(f"{k} {v['val_accuracy']:.4f}" for k, v in facts.items()))
    moved = stash_weights(repo)
    if moved:
        print(f"moved {', '.join(moved)} to {STASH}/ and out of git's index: do not commit until "
              f"`gpu_round.py fetch` (or `restore`) puts them back")
    size = travelling_bytes(repo, [KIT])
    print(f"the working tree with {KIT} carried: {size / parcel.MIB:.1f} MiB (the tool's limit is "
          f"{TRAVEL_LIMIT // parcel.MIB} MiB)")
    if size > TRAVEL_LIMIT:
        raise SystemExit("too large to travel: look for large untracked files (git status) and move them out")
    return 0


def restore(args):
    paths = restore_weights(Path(args.repo))
    print(f"put back {', '.join(paths)}" if paths else "nothing was stashed")
    return 0


def combined_log(logs_dir, name, phase):
    """train.py's per-epoch rows of a model's round, the distillation's numbered on."""
    rows = []
    for p in ("train", "distill") if phase == "distill" else ("train",):
        path = logs_dir / p / name / "log.jsonl"
        offset = rows[-1]["epoch"] if rows else 0
        for line in open(path):
            row = json.loads(line)
            row["epoch"] += offset
            rows.append(row)
    return rows


def fetch(args):
    repo = Path(args.repo)
    dest = repo / "runs" / "gpu-round"
    put_back = restore_weights(repo)
    if put_back:
        print(f"put back {', '.join(put_back)}")
    folders = [Path(f) for f in args.folders]
    rebuilt, missing = parcel.reassemble(folders, dest / "fetched")
    for name in ("summary.json", "logs.tar.gz"):
        found = [f / name for f in folders if (f / name).exists()]
        if found:
            shutil.copyfile(found[0], dest / name)
    summary = json.loads((dest / "summary.json").read_text()) if (dest / "summary.json").exists() else {}
    if (dest / "logs.tar.gz").exists():
        shutil.rmtree(dest / "logs", ignore_errors=True)
        with tarfile.open(dest / "logs.tar.gz") as tar:
            tar.extractall(dest / "logs", filter="data")
    for name, path in rebuilt.items():
        print(f"reassembled {path} (SHA-256 checked)")
    for name, batches in missing.items():
        print(f"missing: {name} needs batch {', '.join(map(str, batches))} (`gpu_round.py send --batch N`); "
              f"gone if the machine was given back")
    shipped = []
    for name, path in rebuilt.items():
        stem = Path(name).stem
        info = summary.get("models", {}).get(stem, {})
        slot = info.get("ships_as")
        new = float(export.read_metadata(path).get("val_accuracy") or 0)
        if not slot:
            print(f"{stem}: val {new:.4f}, ships as nothing (kept in {path})")
            continue
        target = repo / WEIGHTS / f"{slot}.safetensors"
        old = float(export.read_metadata(target).get("val_accuracy") or 0) if target.exists() else 0.0
        if new <= old or args.no_ship:
            print(f"{stem}: val {new:.4f} against the shipped {old:.4f}: not shipped")
            continue
        tmp = target.with_name(target.name + ".tmp")
        shutil.copyfile(path, tmp)
        os.replace(tmp, target)
        log = repo / WEIGHTS / "logs" / f"{slot}.jsonl"
        if (dest / "logs").exists():
            rows = combined_log(dest / "logs", stem, info.get("chosen", "train"))
            log.write_text("".join(json.dumps(r) + "\n" for r in rows))
        print(f"{stem}: val {new:.4f} against the shipped {old:.4f}: shipped as {target} "
              f"(its log, from scratch, replaces {log})")
        shipped.append(slot)
    if shipped:
        names = " ".join(shipped)
        print("\nNext, in this order (the shipped files must carry calibration, and the engine's "
              "fixtures record each file's SHA-256):\n"
              + "".join(f"  python3 Training/evaluate.py --data ../shared/fer2013/val "
                        f"--model {WEIGHTS}/{m}.safetensors --json > {WEIGHTS}/eval/{m}.json\n" for m in shipped)
              + f"  python3 Training/calibrate.py --data ../shared/fer2013/val --models {names} --write\n"
              "  make fixtures\n"
              "  python3 Training/report.py   # then add the round to REPORT.md's Rounds table\n"
              "  make test")
    return 0


# ---- the GPU machine: the round ----------------------------------------------------------------

def log(message):
    print(f"[{datetime.now(timezone.utc).strftime('%H:%M:%S')}] {message}", flush=True)


def load_plan(path):
    plan = yaml.safe_load(open(path))
    for key in ("train", "ships_as"):
        if key not in plan:
            raise SystemExit(f"{path}: missing `{key}:` (see Training/configs/gpu-round.yaml)")
    plan.setdefault("distill", {})
    return plan


def resolve(p):
    return Path(p) if Path(p).is_absolute() else REPO / p


def fill_round(value, work):
    """A config value with `{round}` (the round's work folder) filled in, in strings and lists."""
    if isinstance(value, str):
        return value.replace("{round}", str(work))
    if isinstance(value, list):
        return [fill_round(v, work) for v in value]
    return value


class Trainers:
    """train.py processes, one per model, all on the one GPU, each told its time budget and ended
    if it overruns the phase's end by more than `grace` seconds."""

    def __init__(self, args, work, env):
        self.args, self.work, self.env = args, Path(work), env

    def run(self, phase, configs, end):
        """Train every (name, config path) until `end` (a time.time()); {name: outcome}."""
        procs, outcome = {}, {}
        for name, cfg_path in configs.items():
            run_dir = self.work / phase / name
            run_dir.mkdir(parents=True, exist_ok=True)
            budget = end - time.time() - self.args.startup_seconds
            if budget < self.args.min_seconds:
                outcome[name] = {"status": "skipped", "why": f"{budget:.0f}s left"}
                continue
            target = self.work / phase / f"{name}.safetensors"
            cmd = [sys.executable, str(TRAIN), "--config", str(cfg_path), "--run-dir", str(run_dir),
                   "--export", str(target), "--force", "--fresh", "--budget-seconds", f"{budget:.0f}",
                   "--data-pack", str(self.args.pack), "--threads", str(self.args.threads)]
            out = open(run_dir / "stdout.log", "w")
            procs[name] = (subprocess.Popen(cmd, cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT),
                           out, target, time.time(), budget)
            log(f"{phase} {name}: started, {budget:.0f}s")
        while any(p.poll() is None for p, *_ in procs.values()):
            if time.time() > end + self.args.grace:
                for name, (p, *_rest) in procs.items():
                    if p.poll() is None:
                        log(f"{phase} {name}: past the phase's end, stopped")
                        p.terminate()
                deadline = time.time() + 10
                while time.time() < deadline and any(p.poll() is None for p, *_ in procs.values()):
                    time.sleep(0.2)
                for p, *_rest in procs.values():
                    if p.poll() is None:
                        p.kill()
                break
            time.sleep(0.5)
        for name, (p, out, target, started, budget) in procs.items():
            p.wait()
            out.close()
            status = "ok" if p.returncode == 0 and target.exists() else f"failed (exit {p.returncode})"
            outcome[name] = {"status": status, "seconds": round(time.time() - started, 1),
                             "budget_seconds": round(budget), "export": str(target) if target.exists() else None}
            log(f"{phase} {name}: {status} after {outcome[name]['seconds']:.0f}s")
            if status != "ok":
                tail = (self.work / phase / name / "stdout.log").read_text().splitlines()[-15:]
                outcome[name]["log_tail"] = tail
                print("\n".join(tail), flush=True)
        return outcome


def run_facts(run_dir):
    """What a run's log.jsonl says: epochs run and planned, the best epoch, seconds per epoch."""
    path = Path(run_dir) / "log.jsonl"
    if not path.exists():
        return {}
    rows = [json.loads(line) for line in open(path)]
    if not rows:
        return {}
    best = max(rows, key=lambda r: r["val_acc"])
    return {"epochs_run": len(rows), "epochs_planned": rows[-1]["epochs"], "best_epoch": best["epoch"],
            "best_val_acc": best["val_acc"], "epoch_seconds_median": float(np.median([r["seconds"] for r in rows])),
            "train_seconds": round(sum(r["seconds"] for r in rows), 1), "device": rows[-1].get("device")}


class Evaluator:
    """Exports scored on val, as train.py and fertui score them (the mirror averaged when the
    metadata says so); keeps each model's probabilities for the ensembles."""

    def __init__(self, images, labels, threads):
        import torch
        torch.set_num_threads(threads)
        self.torch = torch
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.images = torch.from_numpy(images).to(self.device)
        self.labels = labels
        self.probs = {}

    def __call__(self, key, path):
        import train
        model, meta = export.load(path)
        probs = train.predict(model.to(self.device), self.images, int(meta["input_size"]),
                              [float(v) for v in meta["mean"].split(",")], [float(v) for v in meta["std"].split(",")],
                              batch=1024, tta_flip=meta.get("tta_flip") == "true")
        del model
        self.probs[key] = probs
        return brief(metrics.report(self.labels, probs, CLASSES), meta)

    def ensemble(self, keys):
        probs = np.mean([self.probs[k] for k in keys], axis=0)
        return brief(metrics.report(self.labels, probs, CLASSES)), probs

    def best_ensemble(self, keys, most):
        """The subset of `keys` (two or more when there are) whose averaged probabilities score
        best on val: accuracy, then the lower log-loss."""
        keys = list(keys)
        sizes = range(2, min(most, len(keys)) + 1) if len(keys) > 1 else [1]
        best = None
        for k in sizes:
            for members in itertools.combinations(keys, k):
                rep, probs = self.ensemble(members)
                nll = -np.log(np.maximum(probs[np.arange(len(self.labels)), self.labels], 1e-12)).mean()
                score = (rep["accuracy"], -nll)
                if best is None or score > best[0]:
                    best = (score, list(members), rep)
        return (best[1], best[2]) if best else ([], None)


def brief(rep, meta=None):
    """The report's headline figures (what the summary keeps of metrics.report)."""
    out = {"accuracy": rep["accuracy"], "weighted": rep["weighted"], "macro_auc": rep["macro_auc"], "ece": rep["ece"],
           "recall": {c: round(v["recall"], 4) for c, v in rep["per_class"].items()},
           "disgust_recall": rep["per_class"]["disgust"]["recall"], "confusion": rep["confusion"]}
    if meta is not None:
        out["metadata_val_accuracy"] = float(meta.get("val_accuracy") or 0)
        out["input_size"] = int(meta["input_size"])
    return out


def write_json(path, value):
    tmp = Path(str(path) + ".tmp")
    tmp.write_text(json.dumps(value, indent=1))
    os.replace(tmp, path)


def run_round(args):
    t0 = time.time()
    deadline = t0 + args.budget
    work, out = Path(args.work), Path(args.out)
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    out.mkdir(parents=True, exist_ok=True)
    plan = load_plan(args.plan)
    threads = args.threads or int(plan.get("threads", 3))
    args.threads = threads
    env = dict(os.environ, XDG_CACHE_HOME=str(work / "cache"), PYTHONUNBUFFERED="1")
    os.environ["XDG_CACHE_HOME"] = env["XDG_CACHE_HOME"]
    shipped = json.loads(Path(args.shipped).read_text()) if args.shipped and Path(args.shipped).exists() else None
    summary = {"started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "budget_seconds": args.budget,
               "plan": str(args.plan), "shipped": shipped, "phases": {}, "models": {}}

    log(f"unpacking {args.pack}")
    xtr, ytr, same_train = pack.load(args.pack, "train", CLASSES)
    xva, yva, same_val = pack.load(args.pack, "val", CLASSES)
    summary["data"] = {"train": len(ytr), "val": len(yva), "pixels_as_packed": bool(same_train and same_val),
                       "seconds": round(time.time() - t0, 1)}
    del xtr, ytr
    log(f"data: {summary['data']}")

    trainers = Trainers(args, work, env)
    evaluate = Evaluator(xva, yva, threads)
    summary["device"] = (evaluate.torch.cuda.get_device_name(0) if evaluate.device.type == "cuda" else "cpu")
    training_end = deadline - args.final_seconds
    share = float(plan.get("distill_share", 0.3)) if plan["distill"] else 0.0
    phase1_end = time.time() + (training_end - time.time()) * (1 - share)

    configs = {name: resolve(p) for name, p in plan["train"].items()}
    summary["phases"]["train"] = trainers.run("train", configs, phase1_end)
    scored = {}
    for name, outcome in summary["phases"]["train"].items():
        if outcome.get("export"):
            scored[("train", name)] = evaluate(("train", name), outcome["export"])
            summary["models"].setdefault(name, {})["train"] = {**scored[("train", name)],
                                                               **run_facts(work / "train" / name)}
    write_json(out / "summary.json", summary)  # a first look, should the rest not finish

    teachers, teacher_rep = evaluate.best_ensemble([k for k in scored if k[0] == "train"],
                                                    int(plan.get("teachers_at_most", 4)))
    summary["teachers"] = {"members": [k[1] for k in teachers], "val": teacher_rep}
    if teachers and plan["distill"] and time.time() < training_end - args.min_seconds:
        log(f"teachers: {', '.join(k[1] for k in teachers)} (val {teacher_rep['accuracy']:.4f})")
        configs = {}
        for name, p in plan["distill"].items():
            if ("train", name) not in scored:
                continue
            cfg = yaml.safe_load(open(resolve(p)))
            cfg["model"]["pretrained"] = fill_round(cfg["model"]["pretrained"], work)
            cfg["distill"]["teachers"] = [str(work / "train" / f"{k[1]}.safetensors") for k in teachers]
            cfg["output"] = {"dir": str(work / "distill" / name), "export": None}
            (work / "configs").mkdir(exist_ok=True)
            configs[name] = work / "configs" / f"{name}-distill.yaml"
            configs[name].write_text(yaml.safe_dump(cfg, sort_keys=False))
        summary["phases"]["distill"] = trainers.run("distill", configs, training_end)
        for name, outcome in summary["phases"]["distill"].items():
            if outcome.get("export"):
                scored[("distill", name)] = evaluate(("distill", name), outcome["export"])
                summary["models"][name]["distill"] = {**scored[("distill", name)],
                                                      **run_facts(work / "distill" / name)}

    # Each model's better phase (by train.py's val accuracy in the export, what fetch compares).
    finals = {}
    for name, info in summary["models"].items():
        phases = [p for p in ("train", "distill") if p in info]
        chosen = max(phases, key=lambda p: (info[p]["metadata_val_accuracy"], p == "train"))
        slot = plan["ships_as"].get(name)
        bar = (shipped or {}).get(slot, {}).get("val_accuracy") if slot else None
        gain = info[chosen]["metadata_val_accuracy"] - bar if bar is not None else None
        info.update({"chosen": chosen, "val_accuracy": info[chosen]["metadata_val_accuracy"], "ships_as": slot,
                     "shipped_val_accuracy": bar, "beats_shipped": None if gain is None else gain > 0})
        finals[name] = (chosen, name)
    if finals:
        members, rep = evaluate.best_ensemble(finals.values(), len(finals))
        summary["ensemble"] = {"members": [f"{k[1]} ({k[0]})" for k in members], "val": rep}
        slots = [finals[n] for n in finals if plan["ships_as"].get(n)]
        if len(slots) > 1:
            summary["ensemble_shipped_slots"] = {"members": [f"{k[1]} ({k[0]})" for k in slots],
                                                 "val": evaluate.ensemble(slots)[0]}
        best_name = max(finals, key=lambda n: summary["models"][n]["val_accuracy"])
        best = summary["models"][best_name][finals[best_name][0]]
        summary["targets"] = {
            "best_single": {"model": best_name, "accuracy": best["accuracy"],
                            "met": best["accuracy"] >= TARGETS["best_single"]},
            "ensemble": {"accuracy": rep["accuracy"], "met": rep["accuracy"] >= TARGETS["ensemble"]},
            "disgust_recall": {"best_single": best["disgust_recall"], "ensemble": rep["disgust_recall"],
                               "met": best["disgust_recall"] >= TARGETS["disgust_recall"]}}

    # What comes back: models that beat what they would replace (most gain first), then models
    # that ship as nothing; with no shipped facts, every model.
    def wanted(name):
        info = summary["models"][name]
        return shipped is None or info["beats_shipped"] or not info["ships_as"]

    def gain(name):
        info = summary["models"][name]
        return info["val_accuracy"] - (info["shipped_val_accuracy"] or 0)

    order = sorted((n for n in finals if wanted(n)), key=lambda n: (not summary["models"][n]["ships_as"], -gain(n)))
    files = [(f"{n}.safetensors", work / finals[n][0] / f"{n}.safetensors") for n in order]
    logs = out / "logs.tar.gz"
    with tarfile.open(logs, "w:gz") as tar:
        for phase in ("train", "distill"):
            for run_dir in sorted((work / phase).glob("*/")) if (work / phase).exists() else []:
                for f in ("log.jsonl", "stdout.log"):
                    if (run_dir / f).exists():
                        tar.add(run_dir / f, arcname=f"{phase}/{run_dir.name}/{f}")
        if (work / "configs").exists():
            tar.add(work / "configs", arcname="configs")
    limits = parcel.Limits(chunk_bytes=int(args.chunk_mib * parcel.MIB))
    # Batch 1 shares the first command's return with summary.json, logs.tar.gz and the round's own
    # output, which the runbook tees into $OUT/round.log.
    manifest = parcel.deal(files, work / "outbox", limits, first_files=3, first_bytes=logs.stat().st_size,
                           round_id=summary["started"])
    parcel.send(work / "outbox", 1, out)
    summary["returned"] = {e["name"]: {"bytes": e["bytes"], "sha256": e["sha256"],
                                       "batches": sorted({c["batch"] for c in e["chunks"]})} for e in manifest["files"]}
    summary["batches"] = manifest["batches"]
    summary["seconds"] = round(time.time() - t0, 1)
    write_json(out / "summary.json", summary)
    log(f"done in {summary['seconds']:.0f}s of {args.budget}; batches to fetch: {manifest['batches']} "
        f"(send --batch 2..{manifest['batches']})" if manifest["batches"] > 1 else
        f"done in {summary['seconds']:.0f}s of {args.budget}; everything came back in this batch")
    print(json.dumps({k: summary.get(k) for k in ("targets", "teachers", "batches")}, indent=1)[:4000])
    for name, info in summary["models"].items():
        print(f"{name}: " + ", ".join(f"{p} {info[p]['accuracy']:.4f} ({info[p].get('epochs_run', '?')} epochs)"
                                      for p in ("train", "distill") if p in info)
              + f"; chosen {info['chosen']}, shipped {info['shipped_val_accuracy']}")
    return 0


def send(args):
    sent = parcel.send(Path(args.work) / "outbox", args.batch, args.out)
    if not sent:
        print(f"batch {args.batch}: nothing to send (none in {args.work}/outbox; the machine may be a fresh one)")
        return 1
    print(f"batch {args.batch}: " + ", ".join(sent))
    return 0


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help="here: pack the data, keep the shipped weights from travelling")
    p.add_argument("--data", default=str(REPO.parent / "shared" / "fer2013"),
                   help="class-folder FER-2013 (train/, val/)")
    p.add_argument("--repack", action="store_true", help="pack the data again even if the pack is there")
    p.add_argument("--repo", default=str(REPO), help=argparse.SUPPRESS)
    p = sub.add_parser("restore", help="here: put the stashed shipped weights back")
    p.add_argument("--repo", default=str(REPO), help=argparse.SUPPRESS)
    p = sub.add_parser("fetch", help="here: reassemble the returned weights, restore, ship the better ones")
    p.add_argument("folders", nargs="+", help="the folders the device tool put each command's files in")
    p.add_argument("--no-ship", action="store_true", help="reassemble and report only")
    p.add_argument("--repo", default=str(REPO), help=argparse.SUPPRESS)
    p = sub.add_parser("run", help="GPU machine: the whole round within --budget seconds")
    p.add_argument("--budget", type=float, required=True, help="seconds for everything, unpacking to the last file")
    p.add_argument("--out", default=os.environ.get("OUT"), help="where the first batch goes (default $OUT)")
    p.add_argument("--work", default=WORK, help="the round's work folder (outside the repository; wiped first)")
    p.add_argument("--plan", default=str(PLAN))
    p.add_argument("--pack", default=str(REPO / KIT / PACK_NAME))
    p.add_argument("--shipped", default=str(REPO / KIT / SHIPPED_NAME), help="the shipped models' facts (prepare)")
    p.add_argument("--threads", type=int, help="PyTorch CPU threads per process (default: the plan's)")
    p.add_argument("--final-seconds", type=float, default=35, help="kept for evaluation and packing at the end")
    p.add_argument("--startup-seconds", type=float, default=10, help="a training process's start, before its budget")
    p.add_argument("--min-seconds", type=float, default=20, help="no training process for less than this")
    p.add_argument("--grace", type=float, default=15,
                   help="seconds past a phase's end before its processes are stopped")
    p.add_argument("--chunk-mib", type=float, default=15, help="size of the pieces the weights come back in")
    p = sub.add_parser("send", help="GPU machine: a later batch of the weights into --out")
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--out", default=os.environ.get("OUT"))
    p.add_argument("--work", default=WORK)
    args = ap.parse_args(argv)
    if args.command in ("run", "send") and not args.out:
        ap.error(f"{args.command}: give --out (or set OUT, as the device tool does)")
    return args


def main(argv=None):
    args = parse_args(argv)
    return {"prepare": prepare, "restore": restore, "fetch": fetch, "run": run_round, "send": send}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
