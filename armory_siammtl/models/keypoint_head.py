"""Keypoint head on the template features and its keypoint losses, in two named styles each.

Head ``style``: "batchnorm" (this package's first cut: conv-BN-ReLU blocks, a kernel-4 transposed conv to
12x12) or "skelevision" (the paper's reference code: conv-ReLU blocks with bias and no batch norm, Kaiming
fan-out init, a kernel-8 stride-2 padding-1 transposed conv to 16x16). Both resize bilinearly to the
template size. Loss ``kind``: "heatmap_bce" (per-pixel binary cross-entropy against Gaussian heatmaps) or
"softmax_ce" (the reference: a spatial softmax over each keypoint's logits, cross-entropy against the one
pixel holding the keypoint).
"""

import torch
import torch.nn.functional as F
from torch import nn

NUM_KEYPOINTS = 17
HEAD_CHANNELS = {"shallow": (128, 64), "deep": (128, 128, 64, 64)}
HEAD_STYLES = ("batchnorm", "skelevision")
KEYPOINT_LOSSES = ("heatmap_bce", "softmax_ce")
DECONV = {
    "batchnorm": dict(kernel_size=4, stride=2, padding=1),
    "skelevision": dict(kernel_size=8, stride=2, padding=1),
}


class KeypointHead(nn.Module):
    """Conv(3x3) blocks of widths ``channels``, a transposed conv to 17 channels, bilinear resize to
    ``out_size``. (128, 64) is the paper's shallow head, (128, 128, 64, 64) the deep one; ``style`` as in the
    module. Returns logits (B, 17, out_size, out_size)."""

    def __init__(
        self,
        in_channels: int = 256,
        channels=HEAD_CHANNELS["shallow"],
        num_keypoints: int = NUM_KEYPOINTS,
        out_size: int = 127,
        style: str = "batchnorm",
    ):
        super().__init__()
        if not channels:
            raise ValueError("KeypointHead needs at least one conv block width")
        if style not in HEAD_STYLES:
            raise ValueError(f"keypoint head style must be one of {HEAD_STYLES}, not {style!r}")
        layers, previous = [], in_channels
        for width in channels:
            if style == "batchnorm":
                layers += [nn.Conv2d(previous, width, 3, padding=1, bias=False), nn.BatchNorm2d(width)]
            else:
                layers += [nn.Conv2d(previous, width, 3, padding=1)]
            layers.append(nn.ReLU(inplace=True))
            previous = width
        self.blocks = nn.Sequential(*layers)
        self.deconv = nn.ConvTranspose2d(previous, num_keypoints, **DECONV[style])
        self.out_size = out_size
        if style == "skelevision":
            for module in self.modules():
                if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
                    nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                    nn.init.zeros_(module.bias)

    @classmethod
    def named(cls, kind: str, **kwargs) -> "KeypointHead":
        if kind not in HEAD_CHANNELS:
            raise ValueError(f"unknown keypoint head {kind!r}; expected one of {sorted(HEAD_CHANNELS)}")
        return cls(channels=HEAD_CHANNELS[kind], **kwargs)

    def raw_logits(self, z_f):
        """Logits before the resize: (B, 17, 12, 12) for "batchnorm", (B, 17, 16, 16) for "skelevision"."""
        return self.deconv(self.blocks(z_f))

    def forward(self, z_f):
        return F.interpolate(
            self.raw_logits(z_f), size=(self.out_size, self.out_size), mode="bilinear", align_corners=False
        )


def keypoint_heatmaps(keypoints: torch.Tensor, size: int = 127, sigma: float = 3.0) -> torch.Tensor:
    """Gaussian target heatmaps (B, K, size, size) in [0, 1] for keypoints (B, K, 2) in crop pixels (x, y)."""
    coords = torch.arange(size, dtype=keypoints.dtype, device=keypoints.device) + 0.5
    dx = coords.view(1, 1, 1, size) - keypoints[..., 0, None, None]
    dy = coords.view(1, 1, size, 1) - keypoints[..., 1, None, None]
    return torch.exp(-(dx * dx + dy * dy) / (2 * sigma * sigma))


def keypoint_loss(
    logits: torch.Tensor,
    keypoints: torch.Tensor,
    visibility: torch.Tensor,
    sigma: float = 3.0,
    kind: str = "heatmap_bce",
) -> torch.Tensor:
    """The keypoint loss of ``kind`` (see the module), averaged over the keypoints with visibility > 0.

    "softmax_ce" also drops keypoints outside the crop. Invisible keypoints' coordinates have no effect;
    returns 0 (with a graph) when no keypoint counts.
    """
    if logits.shape[:2] != keypoints.shape[:2] or keypoints.shape[-1] != 2:
        raise ValueError(f"keypoints {tuple(keypoints.shape)} do not match heatmap logits {tuple(logits.shape)}")
    if kind not in KEYPOINT_LOSSES:
        raise ValueError(f"keypoint loss must be one of {KEYPOINT_LOSSES}, not {kind!r}")
    visible = (visibility > 0).to(logits.dtype)
    if kind == "softmax_ce":
        return _softmax_ce(logits, keypoints, visible)
    target = keypoint_heatmaps(keypoints.to(logits.dtype), logits.shape[-1], sigma)
    target = target * visible[..., None, None]  # invisible channels: constant target, zero weight below
    per_channel = F.binary_cross_entropy_with_logits(logits, target, reduction="none").mean(dim=(2, 3))
    return (per_channel * visible).sum() / visible.sum().clamp(min=1.0)


def _softmax_ce(logits: torch.Tensor, keypoints: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of each keypoint's spatial softmax against the pixel (floor of x, y) holding it."""
    height, width = logits.shape[-2:]
    pixel = torch.floor(keypoints.detach()).long()
    inside = (pixel[..., 0] >= 0) & (pixel[..., 0] < width) & (pixel[..., 1] >= 0) & (pixel[..., 1] < height)
    counted = visible * inside.to(logits.dtype)
    index = pixel[..., 1].clamp(0, height - 1) * width + pixel[..., 0].clamp(0, width - 1)
    log_p = F.log_softmax(logits.flatten(2), dim=-1)  # (B, K, H*W)
    per_keypoint = -log_p.gather(-1, index[..., None])[..., 0]
    return (per_keypoint * counted).sum() / counted.sum().clamp(min=1.0)
