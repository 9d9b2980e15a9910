"""Learning curves of training runs from their ``metrics.csv``: training and validation loss and validation
mIoU per epoch (the ``init`` row is the starting weights), as a figure and a markdown table; and every
candidate of several runs ranked, for choosing between runs validated alike."""

import json
from pathlib import Path
from typing import Dict, Sequence

import pandas as pd

from armory_siammtl.atomic import write_text


def read_curves(runs: Sequence) -> Dict[str, pd.DataFrame]:
    """Each run folder's ``metrics.csv`` by the folder's name; FileNotFoundError naming a folder without one."""
    curves = {}
    for run in map(Path, runs):
        path = run / "metrics.csv"
        if not path.is_file():
            raise FileNotFoundError(f"{run} holds no metrics.csv (not a training run folder?)")
        curves[run.name] = pd.read_csv(path, dtype={"epoch": str})
    return curves


def curves_markdown(curves: Dict[str, pd.DataFrame]) -> str:
    """Validation mIoU per epoch, one column per run, the best epoch of each marked."""
    epochs = list(dict.fromkeys(e for table in curves.values() for e in table["epoch"]))
    lines = ["| epoch | " + " | ".join(curves) + " |", "|---|" + "---|" * len(curves)]
    best = {name: table.loc[table["val_miou"].idxmax(), "epoch"] for name, table in curves.items()}
    for epoch in epochs:
        cells = []
        for name, table in curves.items():
            row = table[table["epoch"] == epoch]
            value = f"{row['val_miou'].iloc[0]:.2f}" if len(row) else "–"
            cells.append(f"**{value}**" if epoch == best[name] else value)
        lines.append(f"| {epoch} | " + " | ".join(cells) + " |")
    return "Validation mIoU per epoch (init: the starting weights; bold: the highest)\n\n" + "\n".join(lines) + "\n"


def plot_curves(curves: Dict[str, pd.DataFrame], path) -> Path:
    """Training and validation total loss (left) and validation mIoU (right) per epoch, a colour per run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (loss_ax, miou_ax) = plt.subplots(1, 2, figsize=(11, 4))
    for index, (name, table) in enumerate(curves.items()):
        colour = f"C{index}"
        x = range(len(table))
        loss_ax.plot(x, table["train_total"], color=colour, label=f"{name} train")
        loss_ax.plot(x, table["val_total"], color=colour, linestyle="--", label=f"{name} validation")
        miou_ax.plot(x, table["val_miou"], color=colour, marker="o", label=name)
    for ax, label in ((loss_ax, "total loss"), (miou_ax, "validation mIoU")):
        longest = max(curves.values(), key=len)
        ax.set_xticks(range(len(longest)), list(longest["epoch"]), fontsize=7)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_curves(runs: Sequence, out) -> str:
    """``armory-siammtl curves``: the table printed and written with the figure and each run's metrics.csv
    under ``out``."""
    curves = read_curves(runs)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    text = curves_markdown(curves)
    write_text(out / "learning_curves.md", text)
    for name, table in curves.items():
        write_text(out / f"{name}_metrics.csv", table.to_csv(index=False))
    plot_curves(curves, out / "learning_curves.png")
    return text


VALIDATION_KEYS = ("seed", "val_pairs", "val_videos", "instance_size", "tracking", "data")


def rank_candidates(runs: Sequence, top: int = 10) -> str:
    """``armory-siammtl compare-runs``: every candidate (epochs, start weights, averages, interpolations) of
    the run folders ranked by validation mIoU, and the file holding the best; ValueError when the runs
    validate on different data (their numbers would not compare)."""
    rows, validation = [], {}
    for run in map(Path, runs):
        path = run / "metrics.json"
        if not path.is_file():
            raise FileNotFoundError(f"{run} holds no metrics.json (not a training run folder?)")
        log = json.loads(path.read_text())
        config = log["config"]
        data = config.get("data") or {}
        validation[str(run)] = {
            k: (data.get("otb_train"), data.get("otb_val_sequence"), data.get("val_videos"))
            if k == "data"
            else config.get(k)
            for k in VALIDATION_KEYS
        }
        rows += [{"run": str(run), **row} for row in log["epochs"]]
    if len({json.dumps(v, sort_keys=True, default=str) for v in validation.values()}) > 1:
        raise ValueError(f"these runs validate on different data: {validation}")
    table = pd.DataFrame(rows).sort_values("val_miou", ascending=False, kind="stable")
    lines = ["| run | row | val mIoU | val loss |", "|---|---|---|---|"]
    lines += [f"| {r.run} | {r.epoch} | {r.val_miou:.2f} | {r.val_total:.4f} |" for r in table.head(top).itertuples()]
    best = table.iloc[0]
    lines += ["", f"best: {best['run']} row {best['epoch']} (val mIoU {best['val_miou']:.2f})"]
    return "\n".join(lines) + "\n"
