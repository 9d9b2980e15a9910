"""Would a running average of the template keep unseen people better than pysot's fixed frame-0 template?

.venv/bin/python scripts/template-update-probe.py NAME=WEIGHTS [NAME=WEIGHTS ...]

After every frame whose chosen score is at least ``MIN_SCORE``, the template features become
``(1 - gamma) * z + gamma * z_new``, ``z_new`` cropped at the new box as frame 0's template is (UpdateNet's
"linear update" baseline). The probe tracks the held-out run's validation split of
``../shared/data/train-person`` (never the evaluation videos; ``baselines-on-training-people.py``'s
``targets``) with the shipped files and each given file, in the setting each records, for every gamma in
``GAMMAS`` (0: the package's tracker), and prints the mean mIoU of the tails, the unseen sequences and all 14
targets, the frames that updated the template and each target's mIoU. A probe, benign only: the update is
not part of the package's tracker. Output in docs/results/training/template_update_probe.md.
"""

import runpy
import sys
import time
from pathlib import Path

import numpy as np
import torch

from armory_siammtl.armory.scenarios import MODELS
from armory_siammtl.experiment.spec import recorded_tracking
from armory_siammtl.models.loading import load_model, variant_from_file
from armory_siammtl.models.manifest import SHIPPED_WEIGHTS
from armory_siammtl.tracking.metrics import video_mean_iou
from armory_siammtl.tracking.tracker import SiamRPNTracker, _corners

GAMMAS = (0.0, 0.01, 0.05)
MIN_SCORE = 0.5


def track_updating(tracker, frames, box, gamma: float):
    """(boxes, frames that updated the template) of one video with the running-average template."""
    video, box = tracker._prepare(torch.from_numpy(frames), box)
    center, size, fill, z_f, boxes, _ = tracker._start(video, box)
    updates = 0
    for t in range(len(boxes), video.num_frames):
        _, (center, size, score, _) = tracker._step(video, t, z_f, center, size, fill)
        if gamma > 0 and score >= MIN_SCORE:
            z_f = (1 - gamma) * z_f + gamma * tracker.template_features(video.frame(t), center, size, fill)
            updates += 1
        boxes.append(_corners(center, size))
    return torch.stack(boxes).numpy(), updates


def main():
    torch.set_num_threads(2)
    targets = runpy.run_path(str(Path(__file__).with_name("baselines-on-training-people.py")))["targets"]
    videos = targets()
    unseen = np.array([group == "unseen" for group, _, _, _ in videos])
    weights = {
        f"{kind} shipped": SHIPPED_WEIGHTS / MODELS[key].weights for kind, key in (("STL", "stl"), ("MTL", "mtl_l02"))
    }
    weights.update(arg.split("=", 1) for arg in sys.argv[1:])
    print("targets: " + " ".join(f"{name}{'*' if group == 'unseen' else ''}" for group, name, _, _ in videos))
    print(f"template updated after frames with chosen score >= {MIN_SCORE}")
    print("| weights | gamma | tails | unseen* | all | frames updating | per target |")
    print("|---|---|---|---|---|---|---|")
    for name, path in weights.items():
        tracker = SiamRPNTracker(load_model(variant_from_file(path)), recorded_tracking(path))
        for gamma in GAMMAS:
            start, mious, updates = time.time(), [], 0
            for _, _, frames, boxes in videos:
                with torch.no_grad():
                    pred, updated = track_updating(tracker, frames, boxes[0], gamma)
                mious.append(100 * video_mean_iou(boxes, pred))
                updates += updated
            mious = np.array(mious)
            print(
                f"| {name} | {gamma:g} | {mious[~unseen].mean():.1f} | {mious[unseen].mean():.1f} | {mious.mean():.1f} "
                f"| {updates} | " + " ".join(f"{v:.0f}" for v in mious) + " |",
                flush=True,
            )
            sys.stderr.write(f"{name} gamma {gamma:g}: {time.time() - start:.0f} s\n")


if __name__ == "__main__":
    main()
