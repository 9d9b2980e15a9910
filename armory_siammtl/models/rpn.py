"""Depth-wise cross-correlation RPN head (pysot's ``DepthwiseRPN``)."""

import torch.nn.functional as F
from torch import nn


def xcorr_depthwise(search, kernel):
    """Correlate each channel of ``search`` (B,C,H,W) with the same channel of ``kernel`` (B,C,h,w)."""
    batch, channels = kernel.shape[:2]
    x = search.reshape(1, batch * channels, search.shape[2], search.shape[3])
    k = kernel.reshape(batch * channels, 1, kernel.shape[2], kernel.shape[3])
    out = F.conv2d(x, k, groups=batch * channels)
    return out.reshape(batch, channels, out.shape[2], out.shape[3])


def _conv_bn_relu(in_channels, out_channels, kernel_size):
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=kernel_size, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class DepthwiseXCorr(nn.Module):
    """Adjust template and search features, correlate them depth-wise, map to ``out_channels``."""

    def __init__(self, in_channels: int, hidden: int, out_channels: int, kernel_size: int = 3):
        super().__init__()
        self.conv_kernel = _conv_bn_relu(in_channels, hidden, kernel_size)
        self.conv_search = _conv_bn_relu(in_channels, hidden, kernel_size)
        self.head = nn.Sequential(
            nn.Conv2d(hidden, hidden, kernel_size=1, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, out_channels, kernel_size=1),
        )

    def forward(self, kernel, search):
        """``kernel`` (B or 1, C, h, w): one template's features serve a batch of ``search`` images."""
        kernel = self.conv_kernel(kernel)
        if kernel.shape[0] == 1 < search.shape[0]:
            kernel = kernel.expand(search.shape[0], -1, -1, -1)
        return self.head(xcorr_depthwise(self.conv_search(search), kernel))


class DepthwiseRPN(nn.Module):
    """Classification (2 per anchor) and box-delta (4 per anchor) branches."""

    def __init__(self, anchor_num: int = 5, in_channels: int = 256, out_channels: int = 256):
        super().__init__()
        self.cls = DepthwiseXCorr(in_channels, out_channels, 2 * anchor_num)
        self.loc = DepthwiseXCorr(in_channels, out_channels, 4 * anchor_num)

    def forward(self, z_f, x_f):
        return self.cls(z_f, x_f), self.loc(z_f, x_f)
