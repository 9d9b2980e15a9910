"""The report's tables from a sweep's rows: per-cell means and intervals, today's table (every step size in
one), the paper's layout (one table per step size, its Tables 1-3) and the paired comparisons, as Markdown."""

from typing import List, Optional

import numpy as np
import pandas as pd

from armory_siammtl.evaluation.statistics import ALPHA, ROW, cell_statistics

BEST, BEATS_STL, BELOW_STL = "**", "†", "‡"


def model_order(frame: pd.DataFrame) -> List[str]:
    """Models by λK (STL first), those of the same λK in the order the file first lists them: columns that
    do not change places when a resumed sweep writes its rows in another order."""
    first = frame.drop_duplicates("model")
    return list(first.assign(kpt=first["kpt_weight"].astype(float)).sort_values("kpt", kind="stable")["model"])


def stl_model(frame: pd.DataFrame) -> Optional[str]:
    stl = frame.loc[frame["kpt_weight"].astype(float) == 0, "model"]
    return stl.iloc[0] if len(stl) else None


def complete_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Only the (step size, video, seed, steps) samples every model has, so models stay comparable (a sweep
    whose ``max_iter`` was raised has the new step counts for some cells only until it finishes)."""
    models = model_order(frame)
    done = frame.groupby(["step_size", "video", "seed", "steps"])["model"].transform("nunique") == len(models)
    return frame[done]


def unfinished_rows(stats: pd.DataFrame) -> str:
    """A line naming the attacked rows of ``cell_statistics`` that hold fewer samples than the fullest one (a
    sweep still under way), or "" when every row is whole (benign rows count videos, not seeds: left out)."""
    attacked = stats[stats["step_size"] != "benign"] if len(stats) else stats
    full = attacked["n"].max() if len(attacked) else 0
    short = attacked[attacked["n"] < full].groupby(["step_size", "steps"], sort=False)["n"].min()
    if short.empty:
        return ""
    rows = [f"δ {step_size}, {steps} steps: {n} of {full}" for (step_size, steps), n in short.items()]
    return (
        "\n**Unfinished rows** (samples every model has so far, of the "
        f"{full} videos × seeds of the other rows): " + "; ".join(rows) + ".\n"
    )


def wide(stats: pd.DataFrame, column: str, models: List[str]) -> pd.DataFrame:
    """Rows ("benign", "") then (step size, steps) in order; one column per model."""
    table = stats.pivot_table(index=ROW, columns="model", values=column, aggfunc="first", sort=False)
    keys = [(s, "" if s == "benign" else int(n)) for s, n in table.index]
    table.index = pd.MultiIndex.from_tuples(keys, names=["step size", "steps"])
    order = sorted(keys, key=lambda k: (k[0] != "benign", float(k[0]) if k[0] != "benign" else 0, k[1] or 0))
    return table.loc[order].reindex(columns=models)


def paper_table(frame: pd.DataFrame, column: str = "mean") -> pd.DataFrame:
    """mIoU (``column`` of ``cell_statistics``: mean, ci_low or ci_high) over videos x seeds; rows
    ("benign", "") then (step size, steps); one column per model."""
    return wide(cell_statistics(complete_cells(frame)), column, model_order(frame))


def verdict_table(comparisons: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """The paired verdicts shaped like ``table`` (empty strings where there is none)."""
    verdicts = pd.DataFrame("", index=table.index, columns=table.columns)
    if len(comparisons):
        marks = wide(comparisons.rename(columns={"verdict": "v"}), "v", list(table.columns))
        verdicts.update(marks.astype(object).where(marks.notna(), ""))
    return verdicts


def markdown_table(
    table: pd.DataFrame,
    stl: Optional[str],
    low: Optional[pd.DataFrame] = None,
    high: Optional[pd.DataFrame] = None,
    verdicts: Optional[pd.DataFrame] = None,
) -> str:
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
        note += (
            f"; {BEATS_STL} / {BELOW_STL}: MTL significantly above / below STL{column} (paired Wilcoxon "
            f"signed-rank over the same videos and seeds, Holm-corrected over the table, α = {ALPHA})"
        )
    return "\n".join(lines) + "\n\n" + note + "\n"


def comparisons_markdown(comparisons: pd.DataFrame) -> str:
    """The paired STL-vs-MTL differences, one row per (model, step size, steps)."""
    lines = [
        "| model | δ | steps | n pairs | MTL − STL [95 % interval] | p | p (Holm) | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in comparisons.itertuples():
        lines.append(
            f"| {r.model} | {r.step_size} | {'' if r.step_size == 'benign' else r.steps} | {r.n} | "
            f"{r.mean_diff:+.1f} [{r.ci_low:+.1f}, {r.ci_high:+.1f}] | {r.p:.3g} | {r.p_holm:.3g} | "
            f"{r.verdict} |"
        )
    return "\n".join(lines) + "\n"


def _paper_value(paper: Optional[pd.DataFrame], model: str, key: tuple) -> Optional[float]:
    if paper is None:
        return None
    step_size, steps = key
    rows = paper[
        (paper["model"] == model)
        & (paper["step_size"].astype(str) == str(step_size))
        & (paper["steps"] == (0 if step_size == "benign" else int(steps)))
    ]
    return float(rows["miou"].iloc[0]) if len(rows) else None


def paper_layout(
    table: pd.DataFrame,
    low: pd.DataFrame,
    high: pd.DataFrame,
    verdicts: pd.DataFrame,
    stl: Optional[str],
    paper: Optional[pd.DataFrame] = None,
) -> str:
    """The paper's layout: one Markdown table per step size δ (its Tables 1-3), rows benign then each step
    count, a column per model, cells mean [95 % interval] with † / ‡ only where the paired test finds MTL
    above / below STL, and, given ``paper`` (``report.read_paper_values``), the paper's own value after ours."""
    parts = []
    step_sizes = [s for s in dict.fromkeys(table.index.get_level_values(0)) if s != "benign"]
    for step_size in step_sizes:
        keys = [("benign", "")] + [(step_size, n) for n in table.loc[step_size].index]
        lines = [
            f"**δ = {step_size}**",
            "",
            "| steps | " + " | ".join(table.columns) + " |",
            "|---|" + "---|" * len(table.columns),
        ]
        for key in keys:
            cells = []
            for model in table.columns:
                value = table.loc[key, model]
                if np.isnan(value):
                    cells.append("–")
                    continue
                verdict = verdicts.loc[key, model]
                mark = BEATS_STL if verdict == "MTL > STL" else BELOW_STL if verdict == "MTL < STL" else ""
                text = f"{value:.1f}{mark} [{low.loc[key, model]:.1f}, {high.loc[key, model]:.1f}]"
                reference = _paper_value(paper, model, key)
                cells.append(text + (f" (paper {reference:.1f})" if reference is not None else ""))
            lines.append(f"| {'benign' if key[0] == 'benign' else key[1]} | " + " | ".join(cells) + " |")
        parts.append("\n".join(lines))
    note = (
        "mIoU ×100, mean over videos × seeds [95 % bootstrap interval]"
        + (
            f"; {BEATS_STL} / {BELOW_STL}: MTL significantly above / below STL (paired Wilcoxon signed-rank, "
            f"Holm-corrected, α = {ALPHA})"
            if stl
            else ""
        )
        + ("; (paper x): the paper's own value for that cell" if paper is not None else "")
    )
    return "\n\n".join(parts) + "\n\n" + note + "\n"
