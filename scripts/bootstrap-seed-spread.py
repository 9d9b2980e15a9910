"""How far the ends of a 95 % bootstrap interval over videos move with the resampling seed alone.

.venv/bin/python scripts/bootstrap-seed-spread.py docs/results/real_video/real_video.csv [--seeds 30]

Reads an ``evaluate-real`` results CSV (video, tracker, miou, ...) and, per tracker, draws the interval of
its per-video mean mIoU with seeds 0..N-1 of ``statistics.mean_interval``.
"""

import argparse

import numpy as np
import pandas as pd

from armory_siammtl.evaluation.statistics import RESAMPLES, mean_interval


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("results")
    parser.add_argument("--seeds", type=int, default=30)
    args = parser.parse_args()
    results = pd.read_csv(args.results)
    videos = results["video"].nunique()
    print(f"# {args.results}: {videos} videos, {RESAMPLES} resamples, seeds 0-{args.seeds - 1}")
    print("| tracker | mean | low end: mean, sd, range | high end: mean, sd, range |")
    print("|---|---|---|---|")
    for tracker, rows in results.groupby("tracker", sort=False):
        values = rows.groupby("video")["miou"].mean().to_numpy()
        ends = np.array([mean_interval(values, seed=seed)[1:] for seed in range(args.seeds)])
        cells = [f"{e.mean():.2f}, {e.std():.2f}, {e.min():.1f}–{e.max():.1f}" for e in ends.T]
        print(f"| {tracker} | {values.mean():.1f} | {cells[0]} | {cells[1]} |")


if __name__ == "__main__":
    main()
