"""AlexNet backbone in pysot's "legacy" layout (one ``features`` Sequential)."""

import torch
from torch import nn


class Recomputed(torch.autograd.Function):
    """``block(x)`` whose activations are not kept: the backward pass runs the block again on ``x``. (Not
    ``torch.utils.checkpoint``: on torch 2.x it imports the compiler stack, which segfaults in a process
    that loaded TensorFlow first, as ARMORY's does; on torch 1.x it warns about CUDA on every backward.)"""

    @staticmethod
    def forward(ctx, block, x, *params):
        ctx.block = block
        ctx.save_for_backward(x, *params)
        with torch.no_grad():
            return block(x)

    @staticmethod
    def backward(ctx, grad):
        x, *params = ctx.saved_tensors
        x = x.detach().requires_grad_(ctx.needs_input_grad[1])
        wanted = [t for t, needed in zip([x, *params], ctx.needs_input_grad[1:]) if needed]
        with torch.enable_grad():
            out = ctx.block(x)
        grads = iter(torch.autograd.grad(out, wanted, grad, allow_unused=True))
        return (None, *(next(grads) if needed else None for needed in ctx.needs_input_grad[1:]))


ALEXNET_CHANNELS = (96, 256, 384, 384, 256)


class AlexNetLegacy(nn.Module):
    """Five conv layers, 96-256-384-384-256 channels times ``width_mult``; 127 -> 6x6, 255 -> 22x22."""

    def __init__(self, width_mult: float = 1.0):
        super().__init__()
        c1, c2, c3, c4, c5 = (int(c * width_mult) for c in ALEXNET_CHANNELS)
        self.features = nn.Sequential(
            nn.Conv2d(3, c1, kernel_size=11, stride=2),
            nn.BatchNorm2d(c1),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.ReLU(inplace=True),
            nn.Conv2d(c1, c2, kernel_size=5),
            nn.BatchNorm2d(c2),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.ReLU(inplace=True),
            nn.Conv2d(c2, c3, kernel_size=3),
            nn.BatchNorm2d(c3),
            nn.ReLU(inplace=True),
            nn.Conv2d(c3, c4, kernel_size=3),
            nn.BatchNorm2d(c4),
            nn.ReLU(inplace=True),
            nn.Conv2d(c4, c5, kernel_size=3),
            nn.BatchNorm2d(c5),
        )
        self.feature_size = c5

    STEM = 4  # conv1, its batch norm, max pool and ReLU: half the activations, an eighth of the compute

    def forward(self, x, recompute_stem: bool = False):
        """``recompute_stem``: keep only the input of the first block for the backward pass and run the
        block again there (the same gradient, about half the activation memory of a search crop)."""
        if not recompute_stem:
            return self.features(x)
        stem = self.features[: self.STEM]
        return self.features[self.STEM :](Recomputed.apply(stem, x, *stem.parameters()))
