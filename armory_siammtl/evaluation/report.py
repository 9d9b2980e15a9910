"""Tables and plots of a sweep's results CSV, shaped like the paper's Table 1 and Figure 6."""

from pathlib import Path
from typing import List, Optional

import numpy as np
import pandas as pd

from armory_siammtl.evaluation.sweep import COLUMNS

BEST, BEATS_STL = "**", "†"


def read_results(path, dataset: Optional[str] = None) -> pd.DataFrame:
    """The results CSV, checked, optionally restricted to one dataset."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no sweep results at {path}")
    frame = pd.read_csv(path, dtype={"head": str, "step_size": str}, keep_default_na=False)
    if list(frame.columns) != COLUMNS:
        raise ValueError(f"{path} is not a sweep results file: columns {list(frame.columns)}, expected {COLUMNS}")
    if frame.empty:
        raise ValueError(f"{path} holds no results yet")
    if dataset is not None:
        frame = frame[frame["dataset"] == dataset]
        if frame.empty:
            raise ValueError(f"{path} has no results for dataset {dataset!r}")
    elif frame["dataset"].nunique() > 1:
        raise ValueError(f"{path} mixes datasets {sorted(frame['dataset'].unique())}: choose one")
    return frame


def model_order(frame: pd.DataFrame) -> List[str]:
    """Models in the order the sweep ran them."""
    return list(dict.fromkeys(frame["model"]))


def stl_model(frame: pd.DataFrame) -> Optional[str]:
    stl = frame.loc[frame["kpt_weight"].astype(float) == 0, "model"]
    return stl.iloc[0] if len(stl) else None


def paper_table(frame: pd.DataFrame) -> pd.DataFrame:
    """mIoU averaged over videos; rows ("benign", "") then (step size, steps); one column per model.
    Only videos every model has finished for a step size are averaged, so columns stay comparable."""
    models = model_order(frame)
    complete = frame.groupby(["step_size", "video"])["model"].transform("nunique") == len(models)
    frame = frame[complete]
    benign = frame[frame["steps"] == 0].drop_duplicates(["model", "video"])
    rows = {("benign", ""): benign.groupby("model")["miou"].mean()}
    attacked = frame[frame["steps"] > 0]
    for (step_size, steps), group in attacked.groupby(["step_size", "steps"], sort=False):
        rows[(step_size, int(steps))] = group.groupby("model")["miou"].mean()
    table = pd.DataFrame(rows).T.reindex(columns=models)
    order = sorted(table.index, key=lambda k: (k[0] != "benign", float(k[0]) if k[0] != "benign" else 0, k[1] or 0))
    table = table.loc[order]
    table.index = pd.MultiIndex.from_tuples(table.index, names=["step size", "steps"])
    return table


def markdown_table(table: pd.DataFrame, stl: Optional[str]) -> str:
    """Markdown with the best mIoU of each row in bold and MTL cells above STL marked with a dagger."""
    header = "| δ | steps | " + " | ".join(table.columns) + " |"
    lines = [header, "|" + "---|" * (len(table.columns) + 2)]
    for (step_size, steps), row in table.iterrows():
        best = row.max()
        cells = []
        for model, value in row.items():
            if np.isnan(value):
                cells.append("–")
                continue
            text = f"{value:.1f}"
            if stl is not None and model != stl and value > row[stl]:
                text += BEATS_STL
            cells.append(f"{BEST}{text}{BEST}" if value == best else text)
        lines.append(f"| {step_size} | {steps} | " + " | ".join(cells) + " |")
    note = "mIoU ×100 over videos; **bold**: best of the row"
    if stl:
        note += f"; {BEATS_STL}: MTL above STL" + ("" if stl == "STL" else f" (column {stl})")
    return "\n".join(lines) + "\n\n" + note + "\n"


def _step_axis(ax, steps: List[int]):
    ax.set_xticks(range(len(steps) + 1), ["benign"] + [str(s) for s in steps])
    ax.set_xlabel("attack steps")
    ax.set_ylabel("mIoU")
    ax.grid(alpha=0.3)


def plot_robustness(table: pd.DataFrame, stl: Optional[str], path) -> Path:
    """mIoU vs steps, one panel per step size: STL as a line, MTL models as points (the paper's Fig. 6)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    step_sizes = [s for s in dict.fromkeys(table.index.get_level_values(0)) if s != "benign"]
    fig, axes = plt.subplots(1, len(step_sizes), figsize=(5 * len(step_sizes), 4), squeeze=False, sharey=True)
    markers = "osD^v<>p*h"
    for ax, step_size in zip(axes[0], step_sizes):
        steps = [int(s) for s in table.loc[step_size].index]
        values = pd.concat([table.loc[[("benign", "")]], table.loc[[step_size]]])
        for i, model in enumerate(table.columns):
            if model == stl:
                label = model if "STL" in model.upper() else f"{model} (STL)"
                ax.plot(range(len(values)), values[model], "k-", lw=2, label=label)
            else:
                ax.plot(range(len(values)), values[model], markers[i % len(markers)], ms=7, label=model)
        _step_axis(ax, steps)
        ax.set_title(f"δ = {step_size}")
    axes[0][0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def plot_per_video(frame: pd.DataFrame, path) -> Path:
    """One panel per (model, step size): a mIoU-vs-steps curve per video."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = model_order(frame)
    step_sizes = list(dict.fromkeys(frame["step_size"]))
    steps = sorted(int(s) for s in frame["steps"].unique() if s > 0)
    fig, axes = plt.subplots(len(models), len(step_sizes), figsize=(5 * len(step_sizes), 3.5 * len(models)),
                             squeeze=False, sharey=True)
    for r, model in enumerate(models):
        for c, step_size in enumerate(step_sizes):
            ax = axes[r][c]
            cell = frame[(frame["model"] == model) & (frame["step_size"] == step_size)]
            for video, group in cell.groupby("video"):
                group = group.sort_values("steps")
                ax.plot([0] + [steps.index(s) + 1 for s in group["steps"] if s > 0], group["miou"], "-o", ms=3,
                        label=video)
            _step_axis(ax, steps)
            ax.set_title(f"{model}, δ = {step_size}")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def write_report(results_path, out_dir, dataset: Optional[str] = None) -> dict:
    """table.md, robustness.png and per_video.png under ``out_dir``; returns their paths and the table."""
    frame = read_results(results_path, dataset)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stl = stl_model(frame)
    table = paper_table(frame)
    videos = frame["video"].nunique()
    text = (f"# Sweep results: {frame['dataset'].iloc[0]}, {videos} videos\n\n" + markdown_table(table, stl))
    (out_dir / "table.md").write_text(text)
    return {"table": table, "markdown": text, "table_md": out_dir / "table.md",
            "robustness": plot_robustness(table, stl, out_dir / "robustness.png"),
            "per_video": plot_per_video(frame, out_dir / "per_video.png")}
