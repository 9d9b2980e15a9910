"""IoU-based tracking metrics, frame 0 (the given box) excluded as ARMORY does."""

import numpy as np

SUCCESS_THRESHOLDS = np.arange(0.0, 1.0, 0.05)  # ARMORY's video_tracking_mean_success_rate thresholds


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


def frame_ious(gt_boxes, pred_boxes) -> np.ndarray:
    """IoU of every frame after the first."""
    gt, pred = np.asarray(gt_boxes), np.asarray(pred_boxes)
    if len(gt) < 2:
        raise ValueError("a video needs at least 2 frames to be scored (frame 0 is the given box)")
    return box_iou(gt[1:], pred[1:])


def video_mean_iou(gt_boxes, pred_boxes) -> float:
    return float(frame_ious(gt_boxes, pred_boxes).mean())


def video_success_rate(gt_boxes, pred_boxes) -> float:
    """Fraction of frames with IoU above each threshold in {0, 0.05, ..., 0.95}, averaged."""
    ious = frame_ious(gt_boxes, pred_boxes)
    return float(np.mean([(ious > t).mean() for t in SUCCESS_THRESHOLDS]))


def miou_percent(per_video_mean_ious) -> float:
    """The paper's mIoU: mean over videos of the per-video mean IoU, times 100."""
    values = np.asarray(list(per_video_mean_ious), dtype=np.float64)
    if values.size == 0:
        raise ValueError("no videos to average")
    return float(100.0 * values.mean())
