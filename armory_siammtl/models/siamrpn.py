"""SiamRPN with the AlexNet backbone (pysot ``siamrpn_alex_dwxcorr``) and an optional keypoint head."""

from dataclasses import asdict, dataclass
from typing import Optional, Tuple

import torch
from torch import nn

from armory_siammtl.models.anchors import DEFAULT_RATIOS
from armory_siammtl.models.backbone import AlexNetLegacy
from armory_siammtl.models.keypoint_head import HEAD_CHANNELS, HEAD_STYLES, KeypointHead
from armory_siammtl.models.rpn import DepthwiseRPN


@dataclass
class NetworkConfig:
    """The network's architecture: backbone width, anchors, template size and keypoint head.

    Saved in every checkpoint the project writes (``as_dict``), so a file names the network it fits.
    The tracker's hyper-parameters (search size, penalties) are ``tracking.TrackingConfig``.
    """

    width_mult: float = 1.0
    stride: int = 8
    ratios: Tuple[float, ...] = DEFAULT_RATIOS
    scales: Tuple[int, ...] = (8,)
    head: Optional[str] = None  # None (STL), "shallow" or "deep"
    exemplar_size: int = 127
    head_style: str = "batchnorm"  # or "skelevision", the reference code's head (models.keypoint_head)

    def __post_init__(self):
        if self.head is not None and self.head not in HEAD_CHANNELS:
            raise ValueError(f"head must be None, 'shallow' or 'deep', not {self.head!r}")
        if self.head_style not in HEAD_STYLES:
            raise ValueError(f"head_style must be one of {HEAD_STYLES}, not {self.head_style!r}")
        self.ratios = tuple(float(r) for r in self.ratios)
        self.scales = tuple(int(s) for s in self.scales)

    @property
    def anchor_num(self) -> int:
        return len(self.ratios) * len(self.scales)

    def as_dict(self) -> dict:
        """Plain values only (lists, numbers, strings), so ``torch.load(weights_only=True)`` reads them back."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


CHANNEL_ORDERS = ("bgr", "rgb")


def to_model_input(images: torch.Tensor, channel_order: str = "bgr") -> torch.Tensor:
    """The model's input convention (pysot's): RGB in [0, 1] (B, 3, H, W) -> BGR in [0, 255]; with
    ``channel_order="rgb"`` the channels stay as they are (what the reference code fed on CARLA)."""
    if channel_order == "bgr":
        return images.flip(1) * 255.0
    if channel_order == "rgb":
        return images * 255.0
    raise ValueError(f"channel_order must be one of {CHANNEL_ORDERS}, not {channel_order!r}")


class SiamRPN(nn.Module):
    """Parameter names follow pysot (``backbone.features.*``, ``rpn_head.{cls,loc}.*``); head is ``kpt_head.*``.

    Inputs are pysot's convention (``to_model_input``): BGR, values 0-255, (B, 3, H, W).
    """

    def __init__(self, config: Optional[NetworkConfig] = None):
        super().__init__()
        self.config = config or NetworkConfig()
        self.backbone = AlexNetLegacy(self.config.width_mult)
        channels = self.backbone.feature_size
        self.rpn_head = DepthwiseRPN(self.config.anchor_num, channels, channels)
        self.kpt_head = (
            KeypointHead.named(
                self.config.head, in_channels=channels, out_size=self.config.exemplar_size, style=self.config.head_style
            )
            if self.config.head
            else None
        )

    def template_features(self, z: torch.Tensor) -> torch.Tensor:
        return self.backbone(z)

    def track_outputs(self, z_f: torch.Tensor, x: torch.Tensor, recompute_stem: bool = False):
        """(cls, loc) RPN maps for search images ``x`` against template features ``z_f``
        (``recompute_stem``: see ``AlexNetLegacy.forward``)."""
        return self.rpn_head(z_f, self.backbone(x, recompute_stem))

    def forward(self, template: torch.Tensor, search: torch.Tensor) -> dict:
        """Training forward pass: RPN maps and, with a head, keypoint heatmap logits of the template."""
        z_f = self.backbone(template)
        cls, loc = self.rpn_head(z_f, self.backbone(search))
        out = {"cls": cls, "loc": loc}
        if self.kpt_head is not None:
            out["kpt"] = self.kpt_head(z_f)
        return out
