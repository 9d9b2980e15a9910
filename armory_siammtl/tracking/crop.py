"""Square crops by bilinear resampling, differentiable in the pixels (and, for sub-pixel crops, in the
crop's centre and size).

Three crop geometries (``TrackingConfig.crop``, ``CROPS``): "subpixel" centres a ``size``-pixel square
exactly on the box centre; "integer" is pysot's ``get_subwindow`` arithmetic: the size rounded to whole
pixels, the window's first pixel ``floor(centre - (size + 1) / 2 + 0.5)``; "skelevision" is the paper's
reference code's: centre and size truncated to whole pixels first (torch ``.long()``), the first pixel
``int(centre - (size + 1) / 2 + 0.5)`` (truncated towards zero). The two whole-pixel geometries carry no
gradient through the window's position.
"""

import math
from dataclasses import dataclass
from typing import Callable, Union

import torch
import torch.nn.functional as F

CROPS = ("subpixel", "integer", "skelevision")


@dataclass
class FrameReader:
    """One frame that is read a window at a time: ``read(y0, y1, x0, x1)`` -> (3, y1 - y0, x1 - x0)."""

    read: Callable[[int, int, int, int], torch.Tensor]
    height: int
    width: int


def as_reader(frame: Union[torch.Tensor, FrameReader]) -> FrameReader:
    """A (3, H, W) tensor as a ``FrameReader`` (a reader is returned as is)."""
    if isinstance(frame, FrameReader):
        return frame
    return FrameReader(lambda y0, y1, x0, x1: frame[:, y0:y1, x0:x1], frame.shape[1], frame.shape[2])


def integer_window(center, size) -> tuple:
    """pysot's crop window: (first column, first row, side) in whole pixels for a crop of ``size`` around
    ``center`` (x, y)."""
    side = int(round(float(size)))
    first = [math.floor(float(c) - (side + 1) / 2 + 0.5) for c in center]
    return first[0], first[1], side


def skelevision_window(center, size) -> tuple:
    """The reference code's crop window: (first column, first row, side) with centre and size truncated."""
    side = int(float(size))
    first = [int(int(float(c)) - (side + 1) / 2 + 0.5) for c in center]
    return first[0], first[1], side


def fixed_position(geometry: str) -> bool:
    """Whether crops of ``geometry`` take no gradient through their position (whole-pixel windows)."""
    return geometry != "subpixel"


def crop_window(center: torch.Tensor, size, geometry: str = "subpixel") -> tuple:
    """(centre, side) of the square that ``geometry`` (one of CROPS) crops for ``center`` and ``size``:
    the same for "subpixel" (differentiable), a whole-pixel window for the others (constants)."""
    if not fixed_position(geometry):
        return center, size
    window = integer_window if geometry == "integer" else skelevision_window
    x0, y0, side = window(center.detach(), torch.as_tensor(size).detach())
    return torch.tensor([x0 + side / 2, y0 + side / 2], dtype=center.dtype, device=center.device), side


def crop_square(
    frame: Union[torch.Tensor, FrameReader],
    center: torch.Tensor,
    size,
    out_size: int,
    fill: torch.Tensor,
    geometry: str = "subpixel",
) -> torch.Tensor:
    """``crop_subwindow`` on the window that ``geometry`` (one of CROPS) gives for ``center`` and ``size``."""
    return crop_subwindow(frame, *crop_window(center.to(fill.dtype), size, geometry), out_size, fill)


def crop_subwindow(
    frame: Union[torch.Tensor, FrameReader], center: torch.Tensor, size, out_size: int, fill: torch.Tensor
) -> torch.Tensor:
    """Crop a ``size``-pixel square centred on ``center`` (x, y) from ``frame`` (3, H, W, or a
    ``FrameReader``), resample to
    ``out_size`` and return (1, 3, out_size, out_size).

    Coordinates are continuous: pixel i covers [i, i+1). Output pixel j samples the source at
    ``center - size/2 + (j + 0.5) * size / out_size`` (the half-pixel rule of cv2.resize), so a crop whose
    corner falls on a pixel boundary with ``size == out_size`` is an exact copy. Outside the frame the
    crop shows ``fill`` (3,), the way pysot pads with the frame's mean colour. Only the pixels the samples
    read (plus a one-pixel margin) are touched, forward and backward, not the whole frame.
    """
    frame = as_reader(frame)
    height, width, dtype, device = frame.height, frame.width, fill.dtype, fill.device
    steps = (torch.arange(out_size, dtype=dtype, device=device) + 0.5) / out_size
    size = torch.as_tensor(size, dtype=dtype, device=device)
    xs = center[0] - size / 2 + steps * size
    ys = center[1] - size / 2 + steps * size
    fill = fill.view(3, 1, 1)
    # the pixels bilinear sampling reads: a sample at p reads pixels floor(p - 0.5) and the one after
    with torch.no_grad():
        bounds = torch.stack([xs[0], xs[-1], ys[0], ys[-1]]).cpu().tolist()
    if all(math.isfinite(b) for b in bounds):
        x0, x1 = max(0, math.floor(bounds[0] - 0.5) - 1), min(width, math.floor(bounds[1] - 0.5) + 3)
        y0, y1 = max(0, math.floor(bounds[2] - 0.5) - 1), min(height, math.floor(bounds[3] - 0.5) + 3)
    else:  # a diverged track (NaN/inf box): sample the whole frame, the NaN propagates to the crop
        x0, x1, y0, y1 = 0, width, 0, height
    if x0 >= x1 or y0 >= y1:  # the crop lies wholly outside the frame
        return (fill + 0 * frame.read(0, 1, 0, 1)).expand(3, out_size, out_size).unsqueeze(0)
    window = frame.read(y0, y1, x0, x1)
    gx = (2 * (xs - x0) / (x1 - x0) - 1).view(1, out_size).expand(out_size, out_size)
    gy = (2 * (ys - y0) / (y1 - y0) - 1).view(out_size, 1).expand(out_size, out_size)
    grid = torch.stack([gx, gy], dim=-1).unsqueeze(0)
    sampled = F.grid_sample(
        (window - fill).unsqueeze(0), grid, mode="bilinear", padding_mode="zeros", align_corners=False
    )
    return sampled + fill.unsqueeze(0)
