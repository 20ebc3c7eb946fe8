#!/usr/bin/env python3
"""Build Assets/models/REPORT.md and its figures from what training and evaluation wrote.

    python Training/report.py

Reads, for each shipped model: Assets/models/<name>.safetensors (metadata),
Assets/models/logs/<name>.jsonl (train.py's per-epoch log) and Assets/models/eval/<name>.json
(`evaluate.py --json` on the validation set). Writes figures/*.png and the tables of REPORT.md
between the markers, leaving the hand-written text around them alone.
"""
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fertrain import CLASSES, export  # noqa: E402

MODELS = Path(__file__).resolve().parent.parent / "Assets" / "models"
PAPER = {  # Sheng & Lau 2024, Table 1 (test set, weighted averages; AUC mean one-vs-rest)
    "resnet18": {"precision": 0.648, "recall": 0.650, "f1": 0.646, "auc": 0.898},
    "resnet34": {"precision": 0.652, "recall": 0.651, "f1": 0.650, "auc": 0.893},
    "resnet50": {"precision": 0.664, "recall": 0.654, "f1": 0.658, "auc": 0.885},
}
BEGIN, END = "<!-- report.py: begin -->", "<!-- report.py: end -->"



def trained_on(run):
    """The devices a run's log names, in order (logs from before they were recorded are the
    2-core CPU's)."""
    names = []
    for row in run["log"]:
        name = {"cpu": "2-core CPU"}.get(row.get("device", "cpu"), row.get("device"))
        if name not in names:
            names.append(name)
    return ", then ".join(names)


def shipped_epoch(log):
    """The exported epoch: the best of the last round (rows sharing the last row's `stage`), since
    a round is exported at its own best epoch even when an earlier round scored higher in fp32."""
    last_round = [row for row in log if row.get("stage") == log[-1].get("stage")]
    return max(last_round, key=lambda row: row["val_acc"])["epoch"]


def load(name):
    log = MODELS / "logs" / f"{name}.jsonl"
    ev = MODELS / "eval" / f"{name}.json"
    weights = MODELS / f"{name}.safetensors"
    if not (log.exists() and ev.exists() and weights.exists()):
        return None
    return {"log": [json.loads(line) for line in open(log)], "eval": json.load(open(ev)),
            "meta": export.read_metadata(weights)}


def figures(runs, out):
    out.mkdir(exist_ok=True)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for name, r in runs.items():
        ep = [row["epoch"] for row in r["log"]]
        # A distilling epoch's train loss mixes in the teachers' KL term: not on this scale.
        axes[0].plot(ep, [np.nan if "distill" in row else row["train_loss"] for row in r["log"]],
                     label=f"{name} train")
        axes[0].plot(ep, [row["val_loss"] for row in r["log"]], "--", label=f"{name} val")
        axes[1].plot(ep, [row["train_acc"] for row in r["log"]], label=f"{name} train")
        axes[1].plot(ep, [row["val_acc"] for row in r["log"]], "--", label=f"{name} val")
    axes[0].set(title="loss per epoch", xlabel="epoch")
    axes[1].set(title="accuracy per epoch", xlabel="epoch")
    for a in axes:
        a.legend(fontsize=7)
        a.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "training-curves.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5, 3))
    names = list(runs)
    minutes = [sum(row["seconds"] for row in runs[n]["log"]) / 60 for n in names]
    ax.bar([f"{n}\n{trained_on(runs[n])}" for n in names], minutes, color="#4c72b0")
    ax.tick_params(axis="x", labelsize=7)
    ax.set(title="training time (wall clock)", ylabel="minutes")
    fig.tight_layout()
    fig.savefig(out / "training-time.png", dpi=110)
    plt.close(fig)

    for name, r in runs.items():
        cm = np.array(r["eval"]["confusion"], dtype=float)
        norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
        fig, ax = plt.subplots(figsize=(5.2, 4.4))
        ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
        for i in range(len(CLASSES)):
            for j in range(len(CLASSES)):
                ax.text(j, i, f"{int(cm[i, j])}", ha="center", va="center", fontsize=7,
                        color="white" if norm[i, j] > 0.5 else "black")
        ax.set_xticks(range(len(CLASSES)), CLASSES, rotation=45, fontsize=8)
        ax.set_yticks(range(len(CLASSES)), CLASSES, fontsize=8)
        ax.set(xlabel="predicted", ylabel="true", title=f"{name} confusion (val)")
        fig.tight_layout()
        fig.savefig(out / f"confusion-{name}.png", dpi=110)
        plt.close(fig)


def tables(runs):
    lines = ["### Table 1: weighted averages and mean one-vs-rest AUC",
             "",
             "| model | source | data | accuracy | precision | recall | F1 | AUC |",
             "|---|---|---|---|---|---|---|---|"]
    for name in PAPER:
        p = PAPER[name]
        lines.append(f"| {name} | paper | test (7,178) | – | {p['precision']:.3f} | {p['recall']:.3f} | "
                     f"{p['f1']:.3f} | {p['auc']:.3f} |")
        if name in runs:
            e = runs[name]["eval"]
            w = e["weighted"]
            lines.append(f"| {name} | fertui | val (3,589) | {e['accuracy']:.3f} | {w['precision']:.3f} | "
                         f"{w['recall']:.3f} | {w['f1']:.3f} | {e['macro_auc']:.3f} |")
        else:
            lines.append(f"| {name} | fertui | – | not trained yet | | | | |")
    lines += ["", "### Table 2: per-class precision / recall / F1 / AUC (fertui, val)", "",
              "| model | " + " | ".join(CLASSES) + " |", "|---|" + "---|" * len(CLASSES)]
    for name, r in runs.items():
        pc = r["eval"]["per_class"]
        cells = [f"{pc[c]['precision']:.2f} / {pc[c]['recall']:.2f} / {pc[c]['f1']:.2f} / {pc[c]['auc']:.2f}"
                 for c in CLASSES]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "### How each model was trained", "",
              "| model | recipe | input | trained on | shipped epoch | epochs run | minutes | val acc (train.py) |",
              "|---|---|---|---|---|---|---|---|"]
    for name, r in runs.items():
        m = r["meta"]
        minutes = sum(row["seconds"] for row in r["log"]) / 60
        lines.append(f"| {name} | {m.get('recipe', '')} | {m['input_size']} | {trained_on(r)} | "
                     f"{shipped_epoch(r['log'])} | {len(r['log'])} | {minutes:.0f} | "
                     f"{m.get('val_accuracy', '')} |")
    lines += ["", "![training curves](figures/training-curves.png)",
              "![training time](figures/training-time.png)", ""]
    lines += [f"![{n} confusion](figures/confusion-{n}.png)" for n in runs]
    return "\n".join(lines)


def main():
    runs = {n: r for n in PAPER if (r := load(n))}
    if not runs:
        raise SystemExit("no model with a log and an evaluation in Assets/models: train and evaluate first")
    figures(runs, MODELS / "figures")
    report = MODELS / "REPORT.md"
    text = report.read_text() if report.exists() else f"# fertui models\n\n{BEGIN}\n{END}\n"
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    report.write_text(head + BEGIN + "\n" + tables(runs) + "\n" + END + tail)
    print(f"wrote {report} and {MODELS / 'figures'}")


if __name__ == "__main__":
    main()
