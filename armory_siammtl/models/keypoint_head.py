"""Keypoint head on the template features and its visibility-masked heatmap loss."""

import torch
import torch.nn.functional as F
from torch import nn

NUM_KEYPOINTS = 17
HEAD_CHANNELS = {"shallow": (128, 64), "deep": (128, 128, 64, 64)}


class KeypointHead(nn.Module):
    """Conv(3x3)-BN-ReLU blocks, a transposed conv to 17 channels, bilinear resize to ``out_size``.

    ``channels`` is the block widths: (128, 64) is the paper's shallow head, (128, 128, 64, 64) the deep one.
    Returns logits (B, 17, out_size, out_size).
    """

    def __init__(self, in_channels: int = 256, channels=HEAD_CHANNELS["shallow"],
                 num_keypoints: int = NUM_KEYPOINTS, out_size: int = 127):
        super().__init__()
        if not channels:
            raise ValueError("KeypointHead needs at least one conv block width")
        layers, previous = [], in_channels
        for width in channels:
            layers += [nn.Conv2d(previous, width, 3, padding=1, bias=False), nn.BatchNorm2d(width),
                       nn.ReLU(inplace=True)]
            previous = width
        self.blocks = nn.Sequential(*layers)
        self.deconv = nn.ConvTranspose2d(previous, num_keypoints, kernel_size=4, stride=2, padding=1)
        self.out_size = out_size

    @classmethod
    def named(cls, kind: str, **kwargs) -> "KeypointHead":
        if kind not in HEAD_CHANNELS:
            raise ValueError(f"unknown keypoint head {kind!r}; expected one of {sorted(HEAD_CHANNELS)}")
        return cls(channels=HEAD_CHANNELS[kind], **kwargs)

    def forward(self, z_f):
        y = self.deconv(self.blocks(z_f))
        return F.interpolate(y, size=(self.out_size, self.out_size), mode="bilinear", align_corners=False)


def keypoint_heatmaps(keypoints: torch.Tensor, size: int = 127, sigma: float = 3.0) -> torch.Tensor:
    """Gaussian target heatmaps (B, K, size, size) in [0, 1] for keypoints (B, K, 2) in crop pixels (x, y)."""
    coords = torch.arange(size, dtype=keypoints.dtype, device=keypoints.device) + 0.5
    dx = coords.view(1, 1, 1, size) - keypoints[..., 0, None, None]
    dy = coords.view(1, 1, size, 1) - keypoints[..., 1, None, None]
    return torch.exp(-(dx * dx + dy * dy) / (2 * sigma * sigma))


def keypoint_loss(logits: torch.Tensor, keypoints: torch.Tensor, visibility: torch.Tensor,
                  sigma: float = 3.0) -> torch.Tensor:
    """Binary cross-entropy per keypoint channel, averaged over the visible ones (visibility > 0).

    Channels of invisible keypoints get zero weight, so their coordinates have no effect on the loss.
    Returns 0 (with a graph) when no keypoint is visible.
    """
    if logits.shape[:2] != keypoints.shape[:2] or keypoints.shape[-1] != 2:
        raise ValueError(f"keypoints {tuple(keypoints.shape)} do not match heatmap logits {tuple(logits.shape)}")
    visible = (visibility > 0).to(logits.dtype)
    target = keypoint_heatmaps(keypoints.to(logits.dtype), logits.shape[-1], sigma)
    target = target * visible[..., None, None]  # invisible channels: constant target, zero weight below
    per_channel = F.binary_cross_entropy_with_logits(logits, target, reduction="none").mean(dim=(2, 3))
    return (per_channel * visible).sum() / visible.sum().clamp(min=1.0)
