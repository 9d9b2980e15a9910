"""Would re-detecting a lost person (pysot's long-term rule) close the gap to OpenCV MIL on unseen people?

.venv/bin/python scripts/longterm-probe.py NAME=WEIGHTS [NAME=WEIGHTS ...]

pysot's ``SiamRPNLTTracker`` (its ``*_lt`` experiments) changes the tracking loop in three ways: after a
frame whose chosen score is below ``CONFIDENCE_LOW`` (0.85) it searches a wider window (``LOST_INSTANCE_SIZE``
831 instead of 255) with almost no cosine window (0.001) until a score above ``CONFIDENCE_HIGH`` (0.998), and
a frame below ``CONFIDENCE_LOW`` keeps the previous box. Its thresholds belong to its ResNet-50 model's
scores; this package's fine-tuned AlexNet models choose a median score near 0.5-0.7, so pysot's values would
keep them in the wide search almost always. The probe tracks the held-out run's validation split of
``../shared/data/train-person`` (never the evaluation videos; ``baselines-on-training-people.py``'s
``targets``) with each given weights file in the setting it records, without the rule and with it at two
threshold pairs chosen for these scores, and prints the mean mIoU of the tails, the unseen sequences and
all 14 targets, the chosen scores' 10 % and 50 % quantiles, the frames searched wide and each target's mIoU.
A probe, benign only: the rule is not part of the package's tracker. Output in
docs/results/training/longterm_probe.md.
"""

import runpy
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from armory_siammtl.experiment.spec import recorded_tracking
from armory_siammtl.models.loading import load_model, variant_from_file
from armory_siammtl.tracking.metrics import video_mean_iou
from armory_siammtl.tracking.tracker import SiamRPNTracker, _corners

LOST_INSTANCE_SIZE = 831  # pysot's TRACK.LOST_INSTANCE_SIZE
LOST_WINDOW_INFLUENCE = 0.001  # pysot's long-term tracker's window weight while lost
THRESHOLDS = {"default": None, "lost<0.05, found>0.5": (0.05, 0.5), "lost<0.2, found>0.6": (0.2, 0.6)}


def near_and_wide(model, tracking):
    """The tracker in ``tracking`` and the same with the long-term rule's wide search."""
    wide = replace(tracking, instance_size=LOST_INSTANCE_SIZE, window_influence=LOST_WINDOW_INFLUENCE)
    return SiamRPNTracker(model, tracking), SiamRPNTracker(model, wide)


def track_longterm(near, wide, frames, box, low: float, high: float):
    """(boxes, chosen scores, frames searched wide) of one video under the long-term rule (``near_and_wide``)."""
    video, box = near._prepare(torch.from_numpy(frames), box)
    center, size, fill, z_f, boxes, scores = near._start(video, box)
    lost, searched_wide = False, 0
    for t in range(len(boxes), video.num_frames):
        tracker = wide if lost else near
        searched_wide += lost
        _, (new_center, new_size, score, _) = tracker._step(video, t, z_f, center, size, fill)
        if score >= low:  # below it, the previous box stays
            center, size = new_center, new_size
        lost = bool(score < low) or (lost and bool(score <= high))
        boxes.append(_corners(center, size))
        scores.append(score)
    return torch.stack(boxes).numpy(), torch.stack(scores).numpy(), searched_wide


def main():
    torch.set_num_threads(2)
    targets = runpy.run_path(str(Path(__file__).with_name("baselines-on-training-people.py")))["targets"]
    videos = targets()
    unseen = np.array([group == "unseen" for group, _, _, _ in videos])
    print("targets: " + " ".join(f"{name}{'*' if group == 'unseen' else ''}" for group, name, _, _ in videos))
    print("| weights | rule | tails | unseen* | all | score q10 / q50 | frames searched wide | per target |")
    print("|---|---|---|---|---|---|---|---|")
    for name, path in (arg.split("=", 1) for arg in sys.argv[1:]):
        near, wide = near_and_wide(load_model(variant_from_file(path)), recorded_tracking(path))
        for rule, thresholds in THRESHOLDS.items():
            start, mious, chosen, searched_wide = time.time(), [], [], 0
            for _, _, frames, boxes in videos:
                with torch.no_grad():
                    low, high = thresholds or (-1.0, 2.0)  # never lost: the package's tracker
                    pred, scores, searched = track_longterm(near, wide, frames, boxes[0], low, high)
                mious.append(100 * video_mean_iou(boxes, pred))
                chosen.append(scores[1:])
                searched_wide += searched
            mious, chosen = np.array(mious), np.concatenate(chosen)
            print(
                f"| {name} | {rule} | {mious[~unseen].mean():.1f} | {mious[unseen].mean():.1f} | {mious.mean():.1f} "
                f"| {np.quantile(chosen, 0.1):.2f} / {np.quantile(chosen, 0.5):.2f} | {searched_wide} | "
                + " ".join(f"{v:.0f}" for v in mious)
                + " |",
                flush=True,
            )
            sys.stderr.write(f"{name} {rule}: {time.time() - start:.0f} s\n")


if __name__ == "__main__":
    main()
