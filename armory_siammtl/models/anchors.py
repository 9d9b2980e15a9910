"""Anchor boxes on the RPN score map, as pysot lays them out (anchor-major, then rows, then columns)."""

import math

import torch

DEFAULT_RATIOS = (0.33, 0.5, 1.0, 2.0, 3.0)


def base_anchors(stride: int = 8, ratios=DEFAULT_RATIOS, scales=(8,)) -> torch.Tensor:
    """(K, 2) anchor widths and heights, K = len(ratios) * len(scales), with pysot's integer rounding."""
    area = stride * stride
    sizes = []
    for ratio in ratios:
        ws = int(math.sqrt(area / ratio))
        hs = int(ws * ratio)
        for scale in scales:
            sizes.append((ws * scale, hs * scale))
    return torch.tensor(sizes, dtype=torch.float32)


def score_size(instance_size: int, exemplar_size: int = 127, stride: int = 8) -> int:
    """Side of the RPN score map for an AlexNet SiamRPN (base size 0): 255 -> 17, 287 -> 21."""
    return (instance_size - exemplar_size) // stride + 1


def anchor_grid(size: int, stride: int = 8, ratios=DEFAULT_RATIOS, scales=(8,), center: float = 0.0):
    """(K*size*size, 4) anchors as (cx, cy, w, h), centred on ``center`` (0 for tracking, 127 for training)."""
    wh = base_anchors(stride, ratios, scales)
    offsets = (torch.arange(size, dtype=torch.float32) - size // 2) * stride + center
    yy, xx = torch.meshgrid(offsets, offsets, indexing="ij")
    k = wh.shape[0]
    cx = xx.reshape(1, -1).expand(k, -1).reshape(-1)
    cy = yy.reshape(1, -1).expand(k, -1).reshape(-1)
    w = wh[:, 0:1].expand(-1, size * size).reshape(-1)
    h = wh[:, 1:2].expand(-1, size * size).reshape(-1)
    return torch.stack([cx, cy, w, h], dim=1)


def decode_deltas(loc: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
    """RPN ``loc`` output (1, 4K, S, S) -> (N, 4) boxes (cx, cy, w, h) relative to the crop centre."""
    delta = loc.permute(1, 2, 3, 0).reshape(4, -1)
    cx = delta[0] * anchors[:, 2] + anchors[:, 0]
    cy = delta[1] * anchors[:, 3] + anchors[:, 1]
    w = torch.exp(delta[2]) * anchors[:, 2]
    h = torch.exp(delta[3]) * anchors[:, 3]
    return torch.stack([cx, cy, w, h], dim=1)


def foreground_scores(cls: torch.Tensor) -> torch.Tensor:
    """RPN ``cls`` output (1, 2K, S, S) -> (N,) softmax foreground probabilities."""
    logits = cls.permute(1, 2, 3, 0).reshape(2, -1).permute(1, 0)
    return torch.softmax(logits, dim=1)[:, 1]
