"""Do the tracker's settings explain the shipped weights' gap to OpenCV MIL on real people?

.venv/bin/python scripts/tracking-settings-on-validation.py [NAME:key=value[,key=value] ...]

Tracks the held-out last 20 % of every target of ../shared/data/train-person (the part training never sees;
never the evaluation videos) with the shipped STL and MTL weights, in the tracking setting the weights
record (``default``) and in each given change of it, and prints mIoU per target and the mean. One thread.
Output of the run in docs/results/training/tracking_settings.txt.
"""

import sys
import time
from dataclasses import replace

import numpy as np
import torch

from armory_siammtl.armory.scenarios import MODELS
from armory_siammtl.data.otb import otb_targets, read_otb_boxes, sequence_folders_in
from armory_siammtl.data.video import frame_files, read_rgb
from armory_siammtl.evaluation.real_video import siamrpn
from armory_siammtl.experiment.spec import recorded_tracking
from armory_siammtl.models.loading import load_model, variant_from_file
from armory_siammtl.models.manifest import SHIPPED_WEIGHTS
from armory_siammtl.tracking.metrics import video_scores


def held_out_tails(root="../shared/data/train-person"):
    """(target, frames, boxes) of the last 20 % of each target, from its first frame where the target is."""
    videos = []
    for folder in sequence_folders_in(root):
        files = frame_files(folder / "img")
        for target, box_file in otb_targets(folder.parent, folder.name):
            boxes = read_otb_boxes(box_file)[: len(files)]
            first = int(0.8 * len(boxes))
            while not np.isfinite(boxes[first]).all():
                first += 1
            frames = np.stack([read_rgb(f) for f in files[first : len(boxes)]]).astype(np.float32) / 255.0
            videos.append((target, frames, boxes[first:]))
    return videos


def main():
    torch.set_num_threads(1)
    shipped = {name: SHIPPED_WEIGHTS / MODELS[name].weights for name in ("stl", "mtl_l02")}
    models = {name: load_model(variant_from_file(path)) for name, path in shipped.items()}
    recorded = recorded_tracking(shipped["stl"])
    grid = {"default": {}}
    for arg in sys.argv[1:]:
        name, _, changes = arg.partition(":")
        pairs = (pair.split("=") for pair in changes.split(","))
        grid[name] = {key: float(value) if "." in value else int(value) for key, value in pairs}
    videos = held_out_tails()
    print("targets: " + " ".join(target for target, _, _ in videos))
    for name, change in grid.items():
        setting = replace(recorded, **change)
        for model_name, model in models.items():
            start = time.time()
            track = siamrpn(model, setting)
            scores = [video_scores(boxes, track(frames, boxes[0]))["miou"] for _, frames, boxes in videos]
            print(
                f"{name:>12} {model_name:8} mean {np.mean(scores):6.2f}  {time.time() - start:5.0f}s  "
                + " ".join(f"{s:5.1f}" for s in scores),
                flush=True,
            )


if __name__ == "__main__":
    main()
