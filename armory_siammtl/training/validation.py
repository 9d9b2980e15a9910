"""Validation: the loss terms on validation pairs, and whole-video tracking of every validation track in the
tracking setting the weights are meant for (``TrainConfig.tracking``), scored as evaluation scores it."""

from typing import Callable, Sequence

import torch

from armory_siammtl.tracking.metrics import miou_percent, video_mean_iou
from armory_siammtl.tracking.tracker import SiamRPNTracker
from armory_siammtl.training.config import TrainConfig


def validate(model, cfg: TrainConfig, tracks: Sequence, pair_batches: Callable, objective, device) -> dict:
    """``val_<term>`` (mean loss terms over ``cfg.val_pairs`` pairs of ``tracks``; ``pair_batches(tracks,
    steps)`` gives their batches) and ``val_miou`` (the mean over the ``tracks`` of two or more frames of
    whole-video mIoU x 100, frame 0 and frames without the target excluded), for ``model`` in eval mode."""
    totals, count = {}, 0
    steps = -(-cfg.val_pairs // cfg.batch_size)
    with torch.no_grad():
        for batch in pair_batches(tracks, steps):
            batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
            size = len(batch["labels"])
            for k, v in objective(model, batch, mixed=False).items():
                totals[k] = totals.get(k, 0.0) + float(v) * size
            count += size
        tracker = SiamRPNTracker(model, cfg.tracking)
        ious = []
        for track in (t for t in tracks if len(t) >= 2):  # a one-frame track (a COCO person) has nothing to track
            video = torch.from_numpy(track.video()).to(device).float() / 255.0
            boxes = tracker.track(video, track.boxes[0]).boxes.cpu().numpy()
            ious.append(video_mean_iou(track.boxes, boxes))
    result = {f"val_{k}": v / count for k, v in totals.items()}
    result["val_miou"] = miou_percent(ious) if ious else float("nan")
    return result
