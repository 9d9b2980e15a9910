"""SiamRPN with the AlexNet backbone (pysot ``siamrpn_alex_dwxcorr``) and an optional keypoint head."""

from dataclasses import asdict, dataclass, field
from typing import Optional, Tuple

import torch
from torch import nn

from armory_siammtl.models.anchors import DEFAULT_RATIOS
from armory_siammtl.models.backbone import AlexNetLegacy
from armory_siammtl.models.keypoint_head import HEAD_CHANNELS, KeypointHead
from armory_siammtl.models.rpn import DepthwiseRPN


@dataclass
class SiamRPNConfig:
    """Architecture and tracking hyper-parameters.

    Tracking defaults are pysot's ``siamrpn_alex_dwxcorr`` (penalty_k 0.16, window_influence 0.40, lr 0.30);
    ``instance_size`` defaults to the paper's 255 (pysot's config uses 287).
    """

    width_mult: float = 1.0
    stride: int = 8
    ratios: Tuple[float, ...] = DEFAULT_RATIOS
    scales: Tuple[int, ...] = (8,)
    kpt_head: Optional[str] = None  # None (STL), "shallow" or "deep"
    exemplar_size: int = 127
    instance_size: int = 255
    context_amount: float = 0.5
    penalty_k: float = 0.16
    window_influence: float = 0.40
    lr: float = 0.30
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.kpt_head is not None and self.kpt_head not in HEAD_CHANNELS:
            raise ValueError(f"kpt_head must be None, 'shallow' or 'deep', not {self.kpt_head!r}")
        if (self.instance_size - self.exemplar_size) % self.stride:
            raise ValueError(f"instance_size - exemplar_size must be a multiple of the stride {self.stride}")
        self.ratios = tuple(float(r) for r in self.ratios)
        self.scales = tuple(int(s) for s in self.scales)

    @property
    def anchor_num(self) -> int:
        return len(self.ratios) * len(self.scales)

    def to_dict(self) -> dict:
        return asdict(self)


class SiamRPN(nn.Module):
    """Parameter names follow pysot (``backbone.features.*``, ``rpn_head.{cls,loc}.*``); head is ``kpt_head.*``.

    Inputs are pysot's convention: BGR, values 0-255, (B, 3, H, W).
    """

    def __init__(self, config: Optional[SiamRPNConfig] = None):
        super().__init__()
        self.config = config or SiamRPNConfig()
        self.backbone = AlexNetLegacy(self.config.width_mult)
        channels = self.backbone.feature_size
        self.rpn_head = DepthwiseRPN(self.config.anchor_num, channels, channels)
        self.kpt_head = (KeypointHead.named(self.config.kpt_head, in_channels=channels,
                                            out_size=self.config.exemplar_size)
                         if self.config.kpt_head else None)

    def template_features(self, z: torch.Tensor) -> torch.Tensor:
        return self.backbone(z)

    def track_outputs(self, z_f: torch.Tensor, x: torch.Tensor):
        """(cls, loc) RPN maps for search images ``x`` against template features ``z_f``."""
        return self.rpn_head(z_f, self.backbone(x))

    def forward(self, template: torch.Tensor, search: torch.Tensor) -> dict:
        """Training forward pass: RPN maps and, with a head, keypoint heatmap logits of the template."""
        z_f = self.backbone(template)
        cls, loc = self.rpn_head(z_f, self.backbone(search))
        out = {"cls": cls, "loc": loc}
        if self.kpt_head is not None:
            out["kpt"] = self.kpt_head(z_f)
        return out
