"""Learning curves of training runs from their ``metrics.csv``: training and validation loss and validation
mIoU per epoch (the ``init`` row is the starting weights), as a figure and a markdown table."""

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
    return ("Validation mIoU per epoch (init: the starting weights; bold: the highest)\n\n" + "\n".join(lines)
            + "\n")


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
