"""How far a sweep's cells move when run again under other conditions (CPU kernels, threads, machine): the
cells two results files share, each metric in both, their difference, and whether the paired MTL − STL
sign of each (video, step size, seed, steps) survives."""

from pathlib import Path

import pandas as pd

from armory_siammtl.atomic import write_text
from armory_siammtl.evaluation.report import read_results
from armory_siammtl.evaluation.tables import stl_model

KEYS = ["model", "video", "step_size", "seed", "steps"]


def shared_cells(reference, rerun) -> pd.DataFrame:
    """One row per cell in both files: mIoU of each, rerun − reference, and the runtimes."""
    a, b = read_results(reference), read_results(rerun)
    both = a.merge(b, on=KEYS, suffixes=("_reference", "_rerun"))
    if both.empty:
        raise ValueError(f"{reference} and {rerun} share no cell")
    both["difference"] = both["miou_rerun"] - both["miou_reference"]
    both["kpt_weight"] = both["kpt_weight_reference"]
    columns = KEYS + ["kpt_weight", "miou_reference", "miou_rerun", "difference", "runtime_reference", "runtime_rerun"]
    return both[columns].sort_values(KEYS, kind="stable").reset_index(drop=True)


def gap_signs(cells: pd.DataFrame) -> pd.DataFrame:
    """Per (video, step size, seed, steps): the MTL − STL gap in each run, for each MTL model."""
    stl = stl_model(cells)
    rows = []
    for keys, group in cells.groupby(["video", "step_size", "seed", "steps"], sort=False):
        by_model = group.set_index("model")
        if stl not in by_model.index:
            continue
        for model in by_model.index.drop(stl):
            gaps = [
                by_model.loc[model, f"miou_{run}"] - by_model.loc[stl, f"miou_{run}"] for run in ("reference", "rerun")
            ]
            rows.append(
                dict(
                    zip(["video", "step_size", "seed", "steps"], keys),
                    model=model,
                    gap_reference=gaps[0],
                    gap_rerun=gaps[1],
                    same_sign=(gaps[0] > 0) == (gaps[1] > 0),
                )
            )
    return pd.DataFrame(rows)


def compare(reference, rerun, out=None) -> str:
    """Markdown: every shared cell, the largest move, and the MTL − STL gaps in both runs; written to
    ``out/rerun.md`` (and the cells to ``out/rerun.csv``) when ``out`` is given."""
    cells = shared_cells(reference, rerun)
    attacked = cells[cells["steps"] > 0]
    lines = [
        f"Cells of {reference} run again ({rerun}); mIoU x100",
        "",
        f"reference runtime: {', '.join(sorted(cells['runtime_reference'].unique()))}; "
        f"rerun: {', '.join(sorted(cells['runtime_rerun'].unique()))}",
        "",
        "| model | video | δ | steps | reference | rerun | rerun − reference |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in cells.itertuples():
        steps = "benign" if r.steps == 0 else r.steps
        lines.append(
            f"| {r.model} | {r.video} | {r.step_size} | {steps} | {r.miou_reference:.1f} | {r.miou_rerun:.1f} | "
            f"{r.difference:+.1f} |"
        )
    benign = cells[cells["steps"] == 0]["difference"].abs()
    lines += [
        "",
        f"largest move: benign {benign.max():.2f}, attacked {attacked['difference'].abs().max():.1f} "
        f"(mean absolute move of attacked cells {attacked['difference'].abs().mean():.1f})",
    ]
    gaps = gap_signs(cells)
    if not gaps.empty:
        gaps = gaps[gaps["steps"] > 0]
        lines += [
            "",
            "| video | δ | steps | model | MTL − STL (reference) | MTL − STL (rerun) | same sign |",
            "|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {g.video} | {g.step_size} | {g.steps} | {g.model} | {g.gap_reference:+.1f} | {g.gap_rerun:+.1f} | "
            f"{'yes' if g.same_sign else 'no'} |"
            for g in gaps.itertuples()
        ]
    text = "\n".join(lines) + "\n"
    if out is not None:
        write_text(Path(out) / "rerun.md", text)
        write_text(Path(out) / "rerun.csv", cells.to_csv(index=False))
    return text
