"""Square crops by bilinear resampling, differentiable in the pixels and in the crop's centre and size."""

import torch
import torch.nn.functional as F


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
