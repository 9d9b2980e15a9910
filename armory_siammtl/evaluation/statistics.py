"""A sweep's numbers as distributions: per-cell means with bootstrap confidence intervals over videos x
seeds, and paired STL-vs-MTL differences (same video, same seed) with a Wilcoxon signed-rank test,
Holm-corrected over the grid. scipy and statsmodels do the statistics."""

import warnings
from typing import Optional

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

CONFIDENCE, ALPHA, RESAMPLES = 0.95, 0.05, 4000
ROW = ["step_size", "steps"]


def samples(frame: pd.DataFrame) -> pd.DataFrame:
    """The independent samples of each cell: attacked rows per (video, seed); benign rows (steps 0) per
    video only, since benign tracking does not depend on the attack seed."""
    benign = frame[frame["steps"] == 0].drop_duplicates(["model", "video"]).assign(step_size="benign", seed=0)
    return pd.concat([benign, frame[frame["steps"] > 0]], ignore_index=True)


def mean_interval(values, seed: int = 0):
    """(mean, low, high): the mean and its 95 % percentile-bootstrap interval (low = high = mean for a
    single value or identical values). The values are sorted first, so the interval depends on the values
    alone, not on the order a results file happens to hold them in."""
    values = np.sort(np.asarray(values, dtype=np.float64))
    mean = float(values.mean())
    if len(values) < 2 or np.ptp(values) == 0:
        return mean, mean, mean
    result = stats.bootstrap(
        (values,),
        np.mean,
        confidence_level=CONFIDENCE,
        n_resamples=RESAMPLES,
        method="percentile",
        random_state=np.random.default_rng(seed),
    )
    return mean, float(result.confidence_interval.low), float(result.confidence_interval.high)


def cell_statistics(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (step size, steps, model): n, mean, ci_low, ci_high (mIoU x 100)."""
    rows = []
    for (step_size, steps, model), group in samples(frame).groupby(ROW + ["model"], sort=False):
        mean, low, high = mean_interval(group["miou"])
        rows.append(
            {
                "step_size": step_size,
                "steps": int(steps),
                "model": model,
                "n": len(group),
                "mean": mean,
                "ci_low": low,
                "ci_high": high,
            }
        )
    return pd.DataFrame(rows)


def _wilcoxon(differences: np.ndarray) -> float:
    if len(differences) == 0 or not np.any(differences):
        return 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small samples: scipy warns that the p-value is exact or approximate
        return float(stats.wilcoxon(differences).pvalue)


def paired_comparisons(frame: pd.DataFrame, stl: Optional[str]) -> pd.DataFrame:
    """Each MTL model against ``stl`` in every (step size, steps): the paired difference MTL - STL over the
    shared (video, seed) samples, its bootstrap interval, the Wilcoxon p-value, the Holm-adjusted p-value
    over the whole grid, and the verdict at ALPHA."""
    columns = ["model", "step_size", "steps", "n", "mean_diff", "ci_low", "ci_high", "p", "p_holm", "verdict"]
    if stl is None:
        return pd.DataFrame(columns=columns)
    data = samples(frame)
    base = data[data["model"] == stl][ROW + ["video", "seed", "miou"]]
    rows = []
    for model in dict.fromkeys(data.loc[data["model"] != stl, "model"]):
        paired = data[data["model"] == model].merge(base, on=ROW + ["video", "seed"], suffixes=("", "_stl"))
        for (step_size, steps), group in paired.groupby(ROW, sort=False):
            diff = (group["miou"] - group["miou_stl"]).to_numpy()
            mean, low, high = mean_interval(diff)
            rows.append(
                {
                    "model": model,
                    "step_size": step_size,
                    "steps": int(steps),
                    "n": len(diff),
                    "mean_diff": mean,
                    "ci_low": low,
                    "ci_high": high,
                    "p": _wilcoxon(diff),
                }
            )
    result = pd.DataFrame(rows, columns=columns[:-2])
    if result.empty:
        return pd.DataFrame(columns=columns)
    result["p_holm"] = multipletests(result["p"], alpha=ALPHA, method="holm")[1]
    significant = result["p_holm"] < ALPHA
    result["verdict"] = np.where(
        significant & (result["mean_diff"] > 0),
        "MTL > STL",
        np.where(significant & (result["mean_diff"] < 0), "MTL < STL", "no difference shown"),
    )
    return result
