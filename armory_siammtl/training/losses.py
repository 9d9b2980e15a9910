"""Anchor targets and the tracking/keypoint losses: L_MTL = lambda_C L_cls + lambda_R L_reg + lambda_K L_KPT."""

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from armory_siammtl.models.keypoint_head import keypoint_loss

THR_HIGH, THR_LOW = 0.6, 0.3  # pysot's positive / negative IoU thresholds
POS_NUM, TOTAL_NUM = 16, 64  # pysot's sampled positives / samples per pair


def iou_cxcywh_xyxy(anchors: torch.Tensor, box: torch.Tensor) -> torch.Tensor:
    """IoU of (N, 4) anchors (cx, cy, w, h) with one box (x1, y1, x2, y2)."""
    ax1, ay1 = anchors[:, 0] - anchors[:, 2] / 2, anchors[:, 1] - anchors[:, 3] / 2
    ax2, ay2 = anchors[:, 0] + anchors[:, 2] / 2, anchors[:, 1] + anchors[:, 3] / 2
    iw = (torch.minimum(ax2, box[2]) - torch.maximum(ax1, box[0])).clamp(min=0)
    ih = (torch.minimum(ay2, box[3]) - torch.maximum(ay1, box[1])).clamp(min=0)
    inter = iw * ih
    union = anchors[:, 2] * anchors[:, 3] + (box[2] - box[0]) * (box[3] - box[1]) - inter
    return inter / union


def anchor_targets(anchors: torch.Tensor, box, generator: torch.Generator = None, negatives=None):
    """Labels (N,) in {1, 0, -1 ignore} and box deltas (N, 4) for one search image's target ``box``.

    Positives: IoU > 0.6, at most 16 sampled; negatives: IoU < 0.3, sampled to 64 in all, or exactly
    ``negatives`` of them (pysot's AnchorTarget: 48, whatever the number of positives).
    ``box`` None is a negative pair: 16 sampled negatives, no positives.
    """
    if box is None:
        labels = torch.full((anchors.shape[0],), -1, dtype=torch.long)
        labels[torch.randperm(anchors.shape[0], generator=generator)[:POS_NUM]] = 0
        return labels, torch.zeros(anchors.shape[0], 4)
    box = torch.as_tensor(box, dtype=anchors.dtype)
    iou = iou_cxcywh_xyxy(anchors, box)
    labels = torch.full((anchors.shape[0],), -1, dtype=torch.long)
    pos = torch.nonzero(iou > THR_HIGH).flatten()
    neg = torch.nonzero(iou < THR_LOW).flatten()
    pos = pos[torch.randperm(pos.numel(), generator=generator)[:POS_NUM]]
    neg = neg[torch.randperm(neg.numel(), generator=generator)[: negatives or TOTAL_NUM - pos.numel()]]
    labels[pos], labels[neg] = 1, 0
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    w, h = box[2] - box[0], box[3] - box[1]
    deltas = torch.stack(
        [
            (cx - anchors[:, 0]) / anchors[:, 2],
            (cy - anchors[:, 1]) / anchors[:, 3],
            torch.log(w / anchors[:, 2]),
            torch.log(h / anchors[:, 3]),
        ],
        dim=1,
    )
    return labels, deltas


def classification_loss(cls: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy on sampled anchors, positives and negatives weighted half each (as pysot).

    ``cls`` is (B, 2K, S, S), ``labels`` (B, K*S*S) in anchor-major order.
    """
    batch = cls.shape[0]
    logits = cls.view(batch, 2, -1).permute(0, 2, 1).reshape(-1, 2)
    labels = labels.reshape(-1)
    loss = cls.new_zeros(())
    for value in (1, 0):
        chosen = labels == value
        if chosen.any():
            loss = loss + 0.5 * F.cross_entropy(logits[chosen], labels[chosen])
    return loss


BOX_LOSSES = ("smooth_l1", "l1")


def regression_loss(
    loc: torch.Tensor, deltas: torch.Tensor, labels: torch.Tensor, kind: str = "smooth_l1"
) -> torch.Tensor:
    """The box-delta loss of positive anchors; ``loc`` (B, 4K, S, S), ``deltas`` (B, N, 4).

    "smooth_l1": smooth-L1 averaged over positive anchors and coordinates. "l1": pysot's weighted L1 (the
    reference recipe): per pair, |error| summed over the 4 coordinates and averaged over its positive
    anchors; averaged over the batch.
    """
    batch = loc.shape[0]
    pred = loc.view(batch, 4, -1).permute(0, 2, 1)
    positive = labels == 1
    if not positive.any():
        return loc.sum() * 0.0
    if kind == "smooth_l1":
        return F.smooth_l1_loss(pred[positive], deltas[positive].to(pred.dtype))
    weight = positive.to(pred.dtype) / positive.sum(dim=1, keepdim=True).clamp(min=1).to(pred.dtype)
    return ((pred - deltas.to(pred.dtype)).abs().sum(dim=2) * weight).sum() / batch


@dataclass
class LossWeights:
    """lambda_C and lambda_R are pysot's CLS_WEIGHT 1.0 and LOC_WEIGHT 1.2; lambda_K = 0 is STL."""

    cls: float = 1.0
    reg: float = 1.2
    kpt: float = 0.0


def mtl_loss(
    outputs: dict,
    labels,
    deltas,
    weights: LossWeights,
    keypoints=None,
    visibility=None,
    kpt_loss: str = "heatmap_bce",
    box_loss: str = "smooth_l1",
) -> dict:
    """Weighted sum of the task losses (``kpt_loss``: the keypoint loss's kind, ``keypoint_head.keypoint_loss``;
    ``box_loss``: ``regression_loss``'s); returns each term and ``total``."""
    terms = {
        "cls": classification_loss(outputs["cls"], labels),
        "reg": regression_loss(outputs["loc"], deltas, labels, box_loss),
    }
    total = weights.cls * terms["cls"] + weights.reg * terms["reg"]
    if weights.kpt > 0:
        if "kpt" not in outputs or keypoints is None:
            raise ValueError("lambda_K > 0 needs a model with a keypoint head and keypoint targets")
        terms["kpt"] = keypoint_loss(outputs["kpt"], keypoints, visibility, kind=kpt_loss)
        total = total + weights.kpt * terms["kpt"]
    terms["total"] = total
    return terms
