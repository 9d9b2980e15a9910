"""Is the gap to OpenCV MIL there on the real people of ``train-person/`` too, or only on the evaluation videos?

.venv/bin/python scripts/baselines-on-training-people.py [NAME=WEIGHTS ...]

Tracks, on ../shared/data/train-person only (never the evaluation videos), the held-out run's validation
set: the three sequences that run never trained on (Subway, group1_3, wakeboard5, whole) and the last 20 %
of the other 11 targets, with the shipped STL and MTL weights and any further NAME=WEIGHTS given (e.g. the
held-out run's best.pth files), each in the tracking setting its file records, OpenCV MIL (seed 0),
NanoTrack (../shared/models/nanotrack) and the static box. Prints mIoU x100 per target, the mean of each
group and the mean difference to MIL with a 95 % bootstrap interval over targets; then where each tracker
loses its IoU: the mean mIoU with each box moved to the true centre (its size error alone) and with the true
size at its centre (its position error alone). Frames without a box are left out, as training's validation
does. Output of the run in
docs/results/training/baselines_on_training_people.md.
"""

import sys
import time
from pathlib import Path

import numpy as np
import torch

from armory_siammtl.armory.scenarios import MODELS
from armory_siammtl.data.splits import otb_layout_tracks
from armory_siammtl.data.video import read_rgb
from armory_siammtl.evaluation.real_video import baselines, siamrpn
from armory_siammtl.evaluation.statistics import mean_interval
from armory_siammtl.experiment.spec import recorded_tracking
from armory_siammtl.models.loading import load_model, variant_from_file
from armory_siammtl.models.manifest import SHIPPED_WEIGHTS
from armory_siammtl.tracking.metrics import position_and_size_miou

ROOT = Path("../shared/data/train-person")
HELD_OUT = ("Subway", "group1_3", "wakeboard5")  # the held-out run's rule (docs/results/training/heldout_run.md)
NANOTRACK = Path("../shared/models/nanotrack")


def targets():
    """(group, name, frames, boxes) of every validation track of the held-out run's split."""
    _, val = otb_layout_tracks(ROOT, held_out=HELD_OUT)
    out = []
    for track in val:
        folder = Path(track.files[0]).parent.parent
        group = "unseen" if folder.name in HELD_OUT else "tail"
        frames = np.stack([read_rgb(f) for f in track.files]).astype(np.float32) / 255.0
        out.append((group, folder.name, frames, np.asarray(track.boxes, np.float64)))
    return out


def main():
    torch.set_num_threads(2)
    weights = {
        f"{kind} shipped": str(SHIPPED_WEIGHTS / MODELS[key].weights)
        for kind, key in (("STL", "stl"), ("MTL", "mtl_l02"))
    }
    weights.update(arg.split("=", 1) for arg in sys.argv[1:])
    trackers = {
        name: siamrpn(load_model(variant_from_file(path)), recorded_tracking(path)) for name, path in weights.items()
    }
    trackers.update(baselines(NANOTRACK)[0])
    videos = targets()
    names = [f"{name}{'*' if group == 'unseen' else ''}" for group, name, _, _ in videos]
    names = [f"{n}-{names[:i].count(n) + 1}" if names.count(n) > 1 else n for i, n in enumerate(names)]
    print("weights: " + ", ".join(f"{k} = {v}" for k, v in weights.items()))
    print("\n| tracker | " + " | ".join(names) + " | tails | unseen* | all | all − MIL [95 % CI] |")
    print("|---" * (len(names) + 5) + "|")
    split = {}
    for label, track in trackers.items():
        start = time.time()
        split[label] = [position_and_size_miou(boxes, track(frames, boxes[0])) for _, _, frames, boxes in videos]
        sys.stderr.write(f"{label}: {time.time() - start:.0f} s\n")
    scores = {label: np.array([row["miou"] for row in rows]) for label, rows in split.items()}
    unseen = np.array([group == "unseen" for group, _, _, _ in videos])
    for label, values in scores.items():
        mean, low, high = mean_interval(values - scores["OpenCV MIL"])
        print(
            f"| {label} | "
            + " | ".join(f"{v:.1f}" for v in values)
            + f" | {values[~unseen].mean():.1f} | {values[unseen].mean():.1f} | {values.mean():.1f} | "
            + (f"{mean:+.1f} [{low:+.1f}, {high:+.1f}] |" if label != "OpenCV MIL" else "– |")
        )
    columns = ("miou", "true_centre", "true_size")
    print("\nmIoU / with the true centre (size error alone) / with the true size (position error alone)\n")
    print("| tracker | tails | unseen* | all |\n|---|---|---|---|")
    for label, rows in split.items():
        table = np.array([[row[c] for c in columns] for row in rows])
        cells = (table[~unseen].mean(0), table[unseen].mean(0), table.mean(0))
        print(f"| {label} | " + " | ".join(" / ".join(f"{v:.1f}" for v in cell) for cell in cells) + " |")


if __name__ == "__main__":
    main()
