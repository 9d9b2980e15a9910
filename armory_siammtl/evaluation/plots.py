"""The report's plots: mIoU vs attack steps with intervals (the paper's Figure 6 with its spread) and every
(video, seed) attack run on its own."""

from pathlib import Path
from typing import List, Optional

import pandas as pd

from armory_siammtl.evaluation.tables import model_order


def _step_axis(ax, steps: List[int]):
    ax.set_xticks(range(len(steps) + 1), ["benign"] + [str(s) for s in steps])
    ax.set_xlabel("attack steps")
    ax.set_ylabel("mIoU")
    ax.grid(alpha=0.3)


def plot_robustness(
    table: pd.DataFrame,
    stl: Optional[str],
    path,
    low: Optional[pd.DataFrame] = None,
    high: Optional[pd.DataFrame] = None,
) -> Path:
    """mIoU vs steps, one panel per step size, a line per model (STL black) with its 95 % interval as a
    band (the paper's Fig. 6 with the spread it leaves out)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    step_sizes = [s for s in dict.fromkeys(table.index.get_level_values(0)) if s != "benign"]
    fig, axes = plt.subplots(1, len(step_sizes), figsize=(5 * len(step_sizes), 4), squeeze=False, sharey=True)
    markers = "osD^v<>p*h"
    for ax, step_size in zip(axes[0], step_sizes):
        steps = [int(s) for s in table.loc[step_size].index]
        rows = [("benign", "")] + [(step_size, s) for s in steps]
        x = range(len(rows))
        for i, model in enumerate(table.columns):
            style = dict(color="k", lw=2) if model == stl else dict(marker=markers[i % len(markers)], ms=6)
            label = model if model != stl or "STL" in model.upper() else f"{model} (STL)"
            (line,) = ax.plot(x, table.loc[rows, model], "-", label=label, **style)
            if low is not None and high is not None:
                ax.fill_between(x, low.loc[rows, model], high.loc[rows, model], color=line.get_color(), alpha=0.15)
        _step_axis(ax, steps)
        ax.set_title(f"δ = {step_size}")
    axes[0][0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def plot_per_video(frame: pd.DataFrame, path) -> Path:
    """One panel per (model, step size): a mIoU-vs-steps curve per (video, attack seed); colour names the
    video, line style the seed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = model_order(frame)
    step_sizes = list(dict.fromkeys(frame["step_size"]))
    steps = sorted(int(s) for s in frame["steps"].unique() if s > 0)
    videos, seeds = sorted(frame["video"].unique()), sorted(frame["seed"].unique())
    colours, styles = plt.get_cmap("tab10"), ["-", "--", ":", "-."]  # colour: video; line style: seed
    fig, axes = plt.subplots(
        len(models), len(step_sizes), figsize=(5 * len(step_sizes), 3.5 * len(models)), squeeze=False, sharey=True
    )
    for r, model in enumerate(models):
        for c, step_size in enumerate(step_sizes):
            ax = axes[r][c]
            cell = frame[(frame["model"] == model) & (frame["step_size"] == step_size)]
            for (video, seed), group in cell.groupby(["video", "seed"]):
                group = group.sort_values("steps")
                ax.plot(
                    [0] + [steps.index(s) + 1 for s in group["steps"] if s > 0],
                    group["miou"],
                    marker="o",
                    ms=3,
                    color=colours(videos.index(video) % 10),
                    linestyle=styles[seeds.index(seed) % len(styles)],
                    label=f"{video} seed {seed}",
                )
            _step_axis(ax, steps)
            ax.set_title(f"{model}, δ = {step_size}")
    axes[0][0].legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)
