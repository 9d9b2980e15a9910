"""How far each cell's adversarial texture moved between consecutive checkpoints, from the sweep's cell
records: it says whether a row of the mIoU table stopped moving because the attack had settled (the texture
no longer changes) or because the tracker no longer reacts to a changing texture."""

from typing import List

import numpy as np
import pandas as pd

from armory_siammtl.evaluation.cell_records import cell_path, load_cell


def texture_change(results_path, frame: pd.DataFrame, models: List[str]) -> pd.DataFrame:
    """One row per (model, step size, video, seed, pair of consecutive checkpoints) with a record: the share of
    texels (%) whose stored 8-bit colour changed, and the mean absolute change in 8-bit levels."""
    attacked = frame[frame["step_size"] != "benign"]
    cells = attacked[["model", "step_size", "video", "seed"]].drop_duplicates()
    rows = []
    for model, step_size, video, seed in cells.itertuples(index=False):
        if model not in models:
            continue
        record = load_cell(cell_path(results_path, model, step_size, video, int(seed)))
        if record is None:
            continue
        steps = [int(s) for s in record["steps"]]
        levels = np.rint(record["textures"] * 255).astype(np.int16)  # the stored 8-bit values, exactly
        for k in range(1, len(steps)):
            moved = np.abs(levels[k] - levels[k - 1])
            rows.append(
                {
                    "model": model,
                    "step_size": step_size,
                    "video": video,
                    "seed": int(seed),
                    "from_steps": steps[k - 1],
                    "to_steps": steps[k],
                    "texels_changed": 100.0 * float((moved > 0).any(axis=-1).mean()),
                    "mean_levels": float(moved.mean()),
                }
            )
    return pd.DataFrame(
        rows,
        columns=["model", "step_size", "video", "seed", "from_steps", "to_steps", "texels_changed", "mean_levels"],
    )


def texture_change_markdown(change: pd.DataFrame, models: List[str]) -> str:
    """Per model, step size and pair of checkpoints: the median [min, max] over (video, seed) cells of the
    share of texels changed and of the mean change in 8-bit levels."""
    if change.empty:
        return "no cell records with two or more checkpoints\n"

    def spread(values: pd.Series, digits: int) -> str:
        return f"{values.median():.{digits}f} [{values.min():.{digits}f}, {values.max():.{digits}f}]"

    lines = [
        "| model | δ | steps | cells | texels changed, % | mean change, 8-bit levels |",
        "|---|---|---|---|---|---|",
    ]
    order = {model: i for i, model in enumerate(models)}
    groups = change.groupby(["model", "step_size", "from_steps", "to_steps"], sort=False)
    for (model, step_size, low, high), rows in sorted(groups, key=lambda g: (order[g[0][0]], *g[0][1:])):
        lines.append(
            f"| {model} | {step_size} | {low} → {high} | {len(rows)} | {spread(rows['texels_changed'], 2)} "
            f"| {spread(rows['mean_levels'], 2)} |"
        )
    return (
        "\n".join(lines)
        + "\n\nMedian [min, max] over (video, seed) cells; a texel counts as changed when any of its three "
        "stored 8-bit channels differs between the two checkpoints (the share is of the whole texture, texels "
        "no frame shows included).\n"
    )
