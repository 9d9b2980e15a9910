"""Tables and plots of a sweep's results CSV, shaped like the paper's Table 1 and Figure 6."""

import json
from pathlib import Path
from typing import List, Optional

import numpy as np
import pandas as pd

from armory_siammtl.atomic import write_text
from armory_siammtl.evaluation.statistics import ALPHA, ROW, cell_statistics, paired_comparisons
from armory_siammtl.evaluation.sweep import COLUMNS, settings_file

BEST, BEATS_STL, BELOW_STL = "**", "†", "‡"


def read_results(path, dataset: Optional[str] = None) -> pd.DataFrame:
    """The results CSV, checked, optionally restricted to one dataset."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no sweep results at {path}")
    frame = pd.read_csv(path, dtype={"head": str, "step_size": str, "runtime": str}, keep_default_na=False)
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


def complete_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Only the (step size, video, seed) samples every model has finished, so models stay comparable."""
    models = model_order(frame)
    done = frame.groupby(["step_size", "video", "seed"])["model"].transform("nunique") == len(models)
    return frame[done]


def _wide(stats: pd.DataFrame, column: str, models: List[str]) -> pd.DataFrame:
    """Rows ("benign", "") then (step size, steps) in order; one column per model."""
    table = stats.pivot_table(index=ROW, columns="model", values=column, aggfunc="first", sort=False)
    keys = [(s, "" if s == "benign" else int(n)) for s, n in table.index]
    table.index = pd.MultiIndex.from_tuples(keys, names=["step size", "steps"])
    order = sorted(keys, key=lambda k: (k[0] != "benign", float(k[0]) if k[0] != "benign" else 0, k[1] or 0))
    return table.loc[order].reindex(columns=models)


def paper_table(frame: pd.DataFrame, column: str = "mean") -> pd.DataFrame:
    """mIoU (``column`` of ``cell_statistics``: mean, ci_low or ci_high) over videos x seeds; rows
    ("benign", "") then (step size, steps); one column per model."""
    return _wide(cell_statistics(complete_cells(frame)), column, model_order(frame))


def verdict_table(comparisons: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """The paired verdicts shaped like ``table`` (empty strings where there is none)."""
    verdicts = pd.DataFrame("", index=table.index, columns=table.columns)
    if len(comparisons):
        wide = _wide(comparisons.rename(columns={"verdict": "v"}), "v", list(table.columns))
        verdicts.update(wide.astype(object).where(wide.notna(), ""))
    return verdicts


def markdown_table(table: pd.DataFrame, stl: Optional[str], low: Optional[pd.DataFrame] = None,
                   high: Optional[pd.DataFrame] = None, verdicts: Optional[pd.DataFrame] = None) -> str:
    """Markdown with the best mean of each row in bold, the 95 % interval beside each mean (when given),
    and MTL cells marked where the paired test finds them significantly above (†) or below (‡) STL."""
    header = "| δ | steps | " + " | ".join(table.columns) + " |"
    lines = [header, "|" + "---|" * (len(table.columns) + 2)]
    for key, row in table.iterrows():
        best = row.max()
        cells = []
        for model, value in row.items():
            if np.isnan(value):
                cells.append("–")
                continue
            text = f"{value:.1f}"
            verdict = verdicts.loc[key, model] if verdicts is not None else ""
            text += BEATS_STL if verdict == "MTL > STL" else BELOW_STL if verdict == "MTL < STL" else ""
            text = f"{BEST}{text}{BEST}" if value == best else text
            if low is not None and high is not None and low.loc[key, model] != high.loc[key, model]:
                text += f" [{low.loc[key, model]:.1f}, {high.loc[key, model]:.1f}]"
            cells.append(text)
        lines.append(f"| {key[0]} | {key[1]} | " + " | ".join(cells) + " |")
    note = "mIoU ×100, mean over videos × seeds" + (" [95 % bootstrap interval]" if low is not None else "")
    note += "; **bold**: best of the row"
    if stl:
        column = "" if stl == "STL" else f" (column {stl})"
        note += (f"; {BEATS_STL} / {BELOW_STL}: MTL significantly above / below STL{column} (paired Wilcoxon "
                 f"signed-rank over the same videos and seeds, Holm-corrected over the table, α = {ALPHA})")
    return "\n".join(lines) + "\n\n" + note + "\n"


def comparisons_markdown(comparisons: pd.DataFrame) -> str:
    """The paired STL-vs-MTL differences, one row per (model, step size, steps)."""
    lines = ["| model | δ | steps | n pairs | MTL − STL [95 % interval] | p | p (Holm) | verdict |",
             "|---|---|---|---|---|---|---|---|"]
    for r in comparisons.itertuples():
        lines.append(f"| {r.model} | {r.step_size} | {'' if r.step_size == 'benign' else r.steps} | {r.n} | "
                     f"{r.mean_diff:+.1f} [{r.ci_low:+.1f}, {r.ci_high:+.1f}] | {r.p:.3g} | {r.p_holm:.3g} | "
                     f"{r.verdict} |")
    return "\n".join(lines) + "\n"


def _step_axis(ax, steps: List[int]):
    ax.set_xticks(range(len(steps) + 1), ["benign"] + [str(s) for s in steps])
    ax.set_xlabel("attack steps")
    ax.set_ylabel("mIoU")
    ax.grid(alpha=0.3)


def plot_robustness(table: pd.DataFrame, stl: Optional[str], path, low: Optional[pd.DataFrame] = None,
                    high: Optional[pd.DataFrame] = None) -> Path:
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
            line, = ax.plot(x, table.loc[rows, model], "-", label=label, **style)
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
    fig, axes = plt.subplots(len(models), len(step_sizes), figsize=(5 * len(step_sizes), 3.5 * len(models)),
                             squeeze=False, sharey=True)
    for r, model in enumerate(models):
        for c, step_size in enumerate(step_sizes):
            ax = axes[r][c]
            cell = frame[(frame["model"] == model) & (frame["step_size"] == step_size)]
            for (video, seed), group in cell.groupby(["video", "seed"]):
                group = group.sort_values("steps")
                ax.plot([0] + [steps.index(s) + 1 for s in group["steps"] if s > 0], group["miou"], marker="o", ms=3,
                        color=colours(videos.index(video) % 10), linestyle=styles[seeds.index(seed) % len(styles)],
                        label=f"{video} seed {seed}")
            _step_axis(ax, steps)
            ax.set_title(f"{model}, δ = {step_size}")
    axes[0][0].legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def write_report(results_path, out_dir, dataset: Optional[str] = None) -> dict:
    """Everything of a sweep under ``out_dir``: table.md (means, intervals, verdict marks), comparisons.md
    (paired STL-vs-MTL tests), robustness.png and per_video.png, and, when the sweep kept cell records,
    the paper's pictures (``figures``) and showcase videos; ``report.md`` gathers them on one page.
    Returns the paths and the tables."""
    frame = read_results(results_path, dataset)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stl = stl_model(frame)
    complete, models = complete_cells(frame), model_order(frame)
    stats = cell_statistics(complete)
    table, low, high = (_wide(stats, column, models) for column in ("mean", "ci_low", "ci_high"))
    comparisons = paired_comparisons(complete, stl)
    videos, seeds = frame["video"].nunique(), frame["seed"].nunique()
    title = f"Sweep results: {frame['dataset'].iloc[0]}, {videos} videos × {seeds} attack seeds"
    text = f"# {title}\n\n" + markdown_table(table, stl, low, high, verdict_table(comparisons, table))
    (out_dir / "table.md").write_text(text)
    (out_dir / "comparisons.md").write_text("# STL vs MTL, paired by video and seed\n\n"
                                            + comparisons_markdown(comparisons))
    written = {"table": table, "comparisons": comparisons, "markdown": text, "table_md": out_dir / "table.md",
               "comparisons_md": out_dir / "comparisons.md",
               "robustness": plot_robustness(table, stl, out_dir / "robustness.png", low, high),
               "per_video": plot_per_video(frame, out_dir / "per_video.png")}
    written.update(_pictures(results_path, frame, models, stl, out_dir))
    written["report_md"] = write_page(out_dir / "report.md", title, written, comparisons)
    return written


def _pictures(results_path, frame: pd.DataFrame, models: List[str], stl: Optional[str], out_dir: Path) -> dict:
    """Figures (a), (b), (d) and the showcase videos, when the sweep kept records of the chosen cell."""
    from armory_siammtl.evaluation import figures

    settings_path = settings_file(results_path)
    if stl is None or not settings_path.is_file():
        return {}
    dataset = json.loads(settings_path.read_text())["dataset"]
    show = figures.load_showcase(results_path, frame, dataset, [stl] + [m for m in models if m != stl], stl)
    if show is None:
        return {}
    return {"rule": show.rule, "frame": figures.plot_frame(show, out_dir / "frame.png"),
            "iou_per_frame": figures.plot_iou_per_frame(show, out_dir / "iou_per_frame.png"),
            "textures": figures.plot_textures(show, out_dir / "textures.png"),
            "videos": figures.write_videos(show, out_dir)}


def write_page(path, title: str, written: dict, comparisons: pd.DataFrame) -> Path:
    """``report.md``: the table, the figures with captions saying what each shows, links to the videos,
    and the paired comparisons; relative links, so the page renders on a code host."""
    table = written["markdown"].split("\n", 2)[2]
    parts = [f"# {title}\n", "## mIoU under attack\n", table,
             "## (c) mIoU vs attack steps\n",
             "![mIoU vs steps](robustness.png)\n",
             "Mean mIoU over videos × attack seeds at each checkpoint of the attack, one panel per step size "
             "δ; the band is the 95 % bootstrap interval over (video, seed) pairs (the paper's Figure 6 with "
             "its spread).\n",
             "![per video](per_video.png)\n",
             "Every (video, seed) attack run on its own: colour names the video, line style the seed.\n"]
    if "frame" in written:
        parts += ["## (a) One frame, benign and attacked\n", "![frame](frame.png)\n",
                  "Left: the clean frame, right: the same frame with each model's own final texture on the "
                  "patch; ground truth dashed green, the tracker's box solid (blue benign, red attacked). The "
                  "frame is the one where the first model's attacked IoU is lowest. Cell: "
                  f"{written['rule']}.\n",
                  "## (b) IoU per frame under attack\n", "![IoU per frame](iou_per_frame.png)\n",
                  "IoU with the ground truth at every frame after the first, benign (dashed) and after the "
                  "attack's last checkpoint (solid), for each model on the same video and seed as (a).\n",
                  "## (d) The texture at each checkpoint\n", "![textures](textures.png)\n",
                  "The adversarial texture of each model (rows) after each checkpoint's number of steps "
                  "(columns), started from 0.5 grey, stored rounded to 8 bits; texels that stay grey were never visible "
                  "(behind an occluder in every frame).\n",
                  "## Videos\n",
                  "The cell of (a) as video, benign left and attacked right, boxes as in (a): "
                  + ", ".join(f"[{Path(v).name}]({Path(v).name})" for v in written["videos"]) + ".\n"]
    else:
        parts += ["(No cell records beside the results: figures (a), (b), (d) and the videos need a sweep "
                  "run with this version.)\n"]
    parts += ["## STL vs MTL, paired by video and seed\n", comparisons_markdown(comparisons)]
    write_text(path, "\n".join(parts))
    return Path(path)
