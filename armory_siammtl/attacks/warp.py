"""Placement of a texture into video frames, differentiable in the texture: by perspective onto the
patch's corners (``place``), or upright, texel for pixel, in the corners' bounding rectangle
(``place_rectangle``, how the paper's reference attack placed it)."""

from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F


def homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """3x3 matrix H with dst ~ H @ [src, 1] for 4 point pairs (4, 2) (direct linear transform)."""
    rows = []
    for (x, y), (u, v) in zip(np.asarray(src, float), np.asarray(dst, float)):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    try:
        h = np.linalg.solve(np.array(rows), np.asarray(dst, float).reshape(-1))
    except np.linalg.LinAlgError as exc:
        raise ValueError(f"degenerate patch corners {np.asarray(dst).tolist()}: three are collinear") from exc
    return np.append(h, 1.0).reshape(3, 3)


@dataclass
class Placement:
    """Where a warped texture lands in one frame: a pixel window and its texture sampling grid."""

    y0: int
    y1: int
    x0: int
    x1: int
    grid: Optional[torch.Tensor]  # (1, h, w, 2) normalised texture coordinates for grid_sample
    coverage: torch.Tensor  # (h, w) in [0, 1]: how much of each pixel the texture covers
    texels: Optional[tuple] = None  # (rows, cols) slices of the texture pasted as is, instead of a grid


def place(corners, texture_hw, frame_hw, device=None, dtype=torch.float32):
    """Placement of a (th, tw) texture whose corners go to ``corners`` (4, 2) [x, y] in the order
    top-left, top-right, bottom-right, bottom-left (ARMORY's ``gs_coords``); None if off-frame."""
    corners = np.asarray(corners, dtype=np.float64)
    th, tw = texture_hw
    height, width = frame_hw
    tex_corners = np.array([[0, 0], [tw, 0], [tw, th], [0, th]], dtype=np.float64)
    inverse = homography(corners, tex_corners)  # frame -> texture
    x0, y0 = np.floor(corners.min(axis=0)).astype(int)
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    if x1 <= x0 or y1 <= y0:
        return None
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float64) + 0.5
    pts = inverse @ np.stack([xs.ravel(), ys.ravel(), np.ones(xs.size)])
    u, v = pts[0] / pts[2], pts[1] / pts[2]
    grid = np.stack([2 * u / tw - 1, 2 * v / th - 1], axis=-1).reshape(1, y1 - y0, x1 - x0, 2)
    grid_t = torch.as_tensor(grid, dtype=dtype, device=device)
    ones = torch.ones((1, 1, th, tw), dtype=dtype, device=device)
    coverage = F.grid_sample(ones, grid_t, mode="bilinear", padding_mode="zeros", align_corners=False)[0, 0]
    return Placement(int(y0), int(y1), int(x0), int(x1), grid_t, coverage)


def place_rectangle(corners, texture_hw, frame_hw, device=None, dtype=torch.float32):
    """Placement of a (th, tw) texture pasted upright, one texel per pixel, from the top-left of the
    axis-aligned rectangle around ``corners`` (floor of their minimum), cut to that rectangle and the
    frame; None if off-frame."""
    corners = np.asarray(corners, dtype=np.float64)
    th, tw = texture_hw
    height, width = frame_hw
    left, top = np.floor(corners.min(axis=0)).astype(int)
    right, bottom = np.ceil(corners.max(axis=0)).astype(int)
    x0, y0 = max(left, 0), max(top, 0)
    x1, y1 = min(right, left + tw, width), min(bottom, top + th, height)
    if x1 <= x0 or y1 <= y0:
        return None
    coverage = torch.ones((y1 - y0, x1 - x0), dtype=dtype, device=device)
    texels = (slice(y0 - top, y1 - top), slice(x0 - left, x1 - left))
    return Placement(int(y0), int(y1), int(x0), int(x1), None, coverage, texels)


def warp_texture(texture: torch.Tensor, placement: Placement) -> torch.Tensor:
    """Sample a (th, tw, 3) texture on ``placement``'s window -> (h, w, 3)."""
    if placement.texels is not None:
        return texture[placement.texels]
    image = texture.permute(2, 0, 1).unsqueeze(0)
    out = F.grid_sample(
        image, placement.grid.to(texture.dtype), mode="bilinear", padding_mode="border", align_corners=False
    )
    return out[0].permute(1, 2, 0)
