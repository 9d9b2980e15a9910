"""Videos as the tracker reads them: a frame's crop windows and frame 0's mean colour (its padding fill).

``TensorFrames`` reads a (T, 3, H, W) tensor (with its graph, when it has one); ``WindowedFrames`` reads a
video without a graph and makes every window read with gradients enabled a leaf of its own, so a backward
pass computes the gradient of the pixels the tracker read, not of whole frames, and ``add_gradient_to``
adds them into a whole-video array: its cost grows with the number of frames alone. The attack's
``PatchedVideo`` answers the same calls.
"""

from typing import List, Tuple

import numpy as np
import torch

from armory_siammtl.tracking.crop import FrameReader, as_reader


class TensorFrames:
    """A (T, 3, H, W) video as the tracker reads it: frame ``t``'s crop windows and frame 0's mean colour.
    (The attack's ``PatchedVideo`` answers the same calls without building whole attacked frames.)"""

    def __init__(self, frames: torch.Tensor):
        self.num_frames, _, self.height, self.width = frames.shape
        self.dtype, self.device = frames.dtype, frames.device
        # unbind, not frames[t]: the backward of indexing allocates a whole-video zero tensor per frame (cost
        # quadratic in the video's length); unbind's backward stacks the frames' gradients once
        self.per_frame = frames.unbind(0)

    def frame(self, t: int) -> FrameReader:
        return as_reader(self.per_frame[t])

    def first_frame_mean(self) -> torch.Tensor:
        return self.per_frame[0].mean(dim=(1, 2))


class WindowedFrames:
    """A (T, 3, H, W) video read a window at a time, each window read with gradients enabled a leaf; frame
    0's mean colour (the crops' padding) is a leaf over frame 0, as its gradient reaches every pixel there."""

    def __init__(self, frames: torch.Tensor):
        self.frames = frames.detach()
        self.num_frames, _, self.height, self.width = frames.shape
        self.dtype, self.device = frames.dtype, frames.device
        self.leaves: List[Tuple[int, int, int, int, int, torch.Tensor]] = []  # (t, y0, y1, x0, x1, leaf)

    def _leaf(self, t: int, y0: int, y1: int, x0: int, x1: int) -> torch.Tensor:
        window = self.frames[t, :, y0:y1, x0:x1]
        if not torch.is_grad_enabled():
            return window
        leaf = window.clone().requires_grad_(True)
        self.leaves.append((t, y0, y1, x0, x1, leaf))
        return leaf

    def frame(self, t: int) -> FrameReader:
        return FrameReader(lambda y0, y1, x0, x1: self._leaf(t, y0, y1, x0, x1), self.height, self.width)

    def first_frame_mean(self) -> torch.Tensor:
        return self._leaf(0, 0, self.height, 0, self.width).mean(dim=(1, 2))

    def add_gradient_to(self, out: np.ndarray) -> np.ndarray:
        """Add every leaf's gradient into ``out`` (T, H, W, 3, channels last, as ARMORY's videos) where it
        was read. Only the windows read are touched, so an ``out`` from ``np.zeros`` costs memory and time
        in proportion to what the tracker read, not to the whole video."""
        for t, y0, y1, x0, x1, leaf in self.leaves:
            if leaf.grad is not None:
                window = torch.from_numpy(out[t, y0:y1, x0:x1, :])  # a view: added in place, no copy
                window.add_(leaf.grad.detach().permute(1, 2, 0).cpu())
        return out
