"""Square crops by bilinear resampling, differentiable in the pixels (and, for sub-pixel crops, in the
crop's centre and size).

Two crop geometries (``TrackingConfig.crop``): "subpixel" centres a ``size``-pixel square exactly on the
box centre; "integer" is pysot's ``get_subwindow`` arithmetic, which the paper's reference ran: the size
rounded to whole pixels, the window's first pixel ``floor(centre - (size + 1) / 2 + 0.5)``, and no gradient
through the window's position.
"""

import math

import torch
import torch.nn.functional as F

CROPS = ("subpixel", "integer")


def integer_window(center, size) -> tuple:
    """pysot's crop window: (first column, first row, side) in whole pixels for a crop of ``size`` around
    ``center`` (x, y)."""
    side = int(round(float(size)))
    first = [math.floor(float(c) - (side + 1) / 2 + 0.5) for c in center]
    return first[0], first[1], side


def crop_square(frame: torch.Tensor, center: torch.Tensor, size, out_size: int, fill: torch.Tensor,
                geometry: str = "subpixel") -> torch.Tensor:
    """``crop_subwindow`` on the window that ``geometry`` (one of CROPS) gives for ``center`` and ``size``."""
    if geometry == "subpixel":
        return crop_subwindow(frame, center, size, out_size, fill)
    x0, y0, side = integer_window(center.detach(), torch.as_tensor(size).detach())
    snapped = torch.tensor([x0 + side / 2, y0 + side / 2], dtype=frame.dtype, device=frame.device)
    return crop_subwindow(frame, snapped, side, out_size, fill)


def crop_subwindow(frame: torch.Tensor, center: torch.Tensor, size, out_size: int,
                   fill: torch.Tensor) -> torch.Tensor:
    """Crop a ``size``-pixel square centred on ``center`` (x, y) from ``frame`` (3, H, W), resample to
    ``out_size`` and return (1, 3, out_size, out_size).

    Coordinates are continuous: pixel i covers [i, i+1). Output pixel j samples the source at
    ``center - size/2 + (j + 0.5) * size / out_size`` (the half-pixel rule of cv2.resize), so a crop whose
    corner falls on a pixel boundary with ``size == out_size`` is an exact copy. Outside the frame the
    crop shows ``fill`` (3,), the way pysot pads with the frame's mean colour.
    """
    _, height, width = frame.shape
    steps = (torch.arange(out_size, dtype=frame.dtype, device=frame.device) + 0.5) / out_size
    size = torch.as_tensor(size, dtype=frame.dtype, device=frame.device)
    xs = center[0] - size / 2 + steps * size
    ys = center[1] - size / 2 + steps * size
    gx = (2 * xs / width - 1).view(1, out_size).expand(out_size, out_size)
    gy = (2 * ys / height - 1).view(out_size, 1).expand(out_size, out_size)
    grid = torch.stack([gx, gy], dim=-1).unsqueeze(0)
    fill = fill.view(3, 1, 1)
    sampled = F.grid_sample((frame - fill).unsqueeze(0), grid, mode="bilinear", padding_mode="zeros",
                            align_corners=False)
    return sampled + fill.unsqueeze(0)
