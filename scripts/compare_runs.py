"""Every candidate of one or more training folders (epochs, the start weights, weight averages, interpolations)
ranked by validation mIoU, and which file holds the best: for choosing between runs validated on the same
validation set (same --seed and validation flags; the script refuses runs whose validation data differ).

    .venv/bin/python scripts/compare_runs.py runs/a runs/b [--top 10]
"""

import argparse
import json
from pathlib import Path

import pandas as pd

VALIDATION_KEYS = ("seed", "val_pairs", "val_videos", "instance_size")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("runs", nargs="+", help="training folders (each with metrics.json)")
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    rows, validation = [], {}
    for run in map(Path, args.runs):
        log = json.loads((run / "metrics.json").read_text())
        validation[str(run)] = {k: log["config"].get(k) for k in VALIDATION_KEYS}
        rows += [{"run": str(run), **row} for row in log["epochs"]]
    if len({json.dumps(v, sort_keys=True) for v in validation.values()}) > 1:
        raise SystemExit(f"these runs validate on different data: {validation}")
    table = pd.DataFrame(rows).sort_values("val_miou", ascending=False, kind="stable")
    print("| run | row | val mIoU | val loss |\n|---|---|---|---|")
    for r in table.head(args.top).itertuples():
        print(f"| {r.run} | {r.epoch} | {r.val_miou:.2f} | {r.val_total:.4f} |")
    best = table.iloc[0]
    print(f"\nbest: {best['run']} row {best['epoch']!r} (val mIoU {best['val_miou']:.2f}), in {best['run']}/best.pth")


if __name__ == "__main__":
    main()
