"""The package's tracking metrics, in one place and as ARMORY defines them (``tests/test_metrics.py`` checks
them against ARMORY's own functions): per video, over frames 1..T-1 (frame 0 is the given box).

- ``miou``: mean IoU (ARMORY's ``video_tracking_mean_iou``);
- ``success``: the success rate averaged over the IoU thresholds 0, 0.05, ..., 0.95, the area under the
  success plot (ARMORY's ``video_tracking_mean_success_rate``);
- ``precision20``: the fraction of frames whose box centre lies within 20 px of the ground truth's (OTB's
  precision at 20 px; ARMORY has no such metric).

Frames whose ground truth is absent (an all-NaN row, as UAV123 writes it, or a row without area, as OTB's
0,0,0,0; ``input_checks.check_boxes``) are left out of every metric; ARMORY's own functions score no such
rows, since its datasets have none.
"""

from typing import Dict

import numpy as np

SUCCESS_THRESHOLDS = np.arange(0.0, 1.0, 0.05)  # ARMORY's video_tracking_mean_success_rate thresholds
PRECISION_PX = 20.0
METRICS = ("miou", "success", "precision20")  # the results files' metric columns, x 100


def box_iou(boxes_a, boxes_b) -> np.ndarray:
    """Element-wise IoU of (T, 4) [x1, y1, x2, y2] arrays."""
    a, b = np.asarray(boxes_a, dtype=np.float64), np.asarray(boxes_b, dtype=np.float64)
    if a.shape != b.shape or a.shape[-1] != 4:
        raise ValueError(f"box arrays must have the same (T, 4) shape, got {a.shape} and {b.shape}")
    iw = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    ih = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = iw * ih
    area = lambda c: (c[..., 2] - c[..., 0]) * (c[..., 3] - c[..., 1])  # noqa: E731
    union = area(a) + area(b) - inter
    return np.where(inter > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def box_centres(boxes) -> np.ndarray:
    """(T, 2) centres of (T, 4) [x1, y1, x2, y2] boxes."""
    boxes = np.asarray(boxes, np.float64)
    return (boxes[:, :2] + boxes[:, 2:]) / 2


def scored_frames(gt_boxes) -> np.ndarray:
    """Indices of the frames that are scored: 1..T-1 where the ground truth is present."""
    gt = np.asarray(gt_boxes, dtype=np.float64)
    if len(gt) < 2:
        raise ValueError("a video needs at least 2 frames to be scored (frame 0 is the given box)")
    present = np.isfinite(gt).all(axis=1) & (gt[:, 2] > gt[:, 0]) & (gt[:, 3] > gt[:, 1])
    frames = np.nonzero(present[1:])[0] + 1
    if frames.size == 0:
        raise ValueError("the ground truth is absent from every frame after the first: nothing to score")
    return frames


def frame_ious(gt_boxes, pred_boxes) -> np.ndarray:
    """IoU of every scored frame (``scored_frames``)."""
    gt, pred = np.asarray(gt_boxes, np.float64), np.asarray(pred_boxes, np.float64)
    frames = scored_frames(gt)
    return box_iou(gt[frames], pred[frames])


def video_mean_iou(gt_boxes, pred_boxes) -> float:
    return float(frame_ious(gt_boxes, pred_boxes).mean())


def video_success_rate(gt_boxes, pred_boxes) -> float:
    """Fraction of scored frames with IoU above each threshold in {0, 0.05, ..., 0.95}, averaged."""
    ious = frame_ious(gt_boxes, pred_boxes)
    return float(np.mean([(ious > t).mean() for t in SUCCESS_THRESHOLDS]))


def video_precision(gt_boxes, pred_boxes, pixels: float = PRECISION_PX) -> float:
    """Fraction of scored frames whose predicted centre lies within ``pixels`` of the ground truth's."""
    gt, pred = np.asarray(gt_boxes, np.float64), np.asarray(pred_boxes, np.float64)
    frames = scored_frames(gt)
    return float((np.linalg.norm(box_centres(gt[frames]) - box_centres(pred[frames]), axis=1) <= pixels).mean())


def video_scores(gt_boxes, pred_boxes) -> Dict[str, float]:
    """Every metric of ``METRICS`` for one video, x 100."""
    return {
        "miou": 100 * video_mean_iou(gt_boxes, pred_boxes),
        "success": 100 * video_success_rate(gt_boxes, pred_boxes),
        "precision20": 100 * video_precision(gt_boxes, pred_boxes),
    }


def moved_to(boxes, centres) -> np.ndarray:
    """(T, 4) [x1, y1, x2, y2] ``boxes`` of the same size, moved so that their centres are ``centres``."""
    boxes = np.asarray(boxes, np.float64)
    half = (boxes[:, 2:] - boxes[:, :2]) / 2
    centres = np.asarray(centres, np.float64)
    return np.c_[centres - half, centres + half]


def position_and_size_miou(gt_boxes, pred_boxes) -> Dict[str, float]:
    """Where a video's IoU is lost, x 100: ``miou``; ``true_centre``, the predicted sizes moved to the ground
    truth's centres (what the size error alone leaves); ``true_size``, the ground truth's sizes moved to the
    predicted centres (what the position error alone leaves)."""
    gt, pred = np.asarray(gt_boxes, np.float64), np.asarray(pred_boxes, np.float64)
    frames = scored_frames(gt)
    gt, pred = gt[frames], pred[frames]
    return {
        "miou": 100 * float(box_iou(gt, pred).mean()),
        "true_centre": 100 * float(box_iou(gt, moved_to(pred, box_centres(gt))).mean()),
        "true_size": 100 * float(box_iou(gt, moved_to(gt, box_centres(pred))).mean()),
    }


def miou_percent(per_video_mean_ious) -> float:
    """The paper's mIoU: mean over videos of the per-video mean IoU, times 100."""
    values = np.asarray(list(per_video_mean_ious), dtype=np.float64)
    if values.size == 0:
        raise ValueError("no videos to average")
    return float(100.0 * values.mean())
