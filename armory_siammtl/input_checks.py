"""Input checks shared by the tracker, the estimator and the attack; each error names the problem."""

from typing import Optional

import numpy as np
import torch


def check_video(video, channels_first: Optional[bool] = None, check_values: bool = True) -> torch.Tensor:
    """Return frames as a (T, 3, H, W) float tensor; accept (T, H, W, 3) or (T, 3, H, W) in [0, 1].
    ``check_values=False`` skips the pass over every pixel for NaN/inf (for callers that checked already)."""
    frames = torch.as_tensor(video)
    if frames.ndim != 4:
        raise ValueError(f"a video must have 4 dimensions (T, H, W, 3) or (T, 3, H, W), got shape "
                         f"{tuple(frames.shape)}")
    if frames.shape[0] == 0:
        raise ValueError("the video is empty (0 frames)")
    if channels_first is None:
        channels_first = frames.shape[1] == 3 and frames.shape[-1] != 3
    if channels_first and frames.shape[1] != 3 or not channels_first and frames.shape[-1] != 3:
        raise ValueError(f"video frames must have 3 colour channels, got shape {tuple(frames.shape)} "
                         f"(channels_first={channels_first})")
    if not channels_first:
        frames = frames.permute(0, 3, 1, 2)
    if not frames.is_floating_point():
        raise ValueError(f"video must hold floats in [0, 1], got dtype {frames.dtype}")
    if check_values and not torch.isfinite(frames.detach()).all():
        bad = (~torch.isfinite(frames.detach())).nonzero()[0].tolist()
        raise ValueError(f"video holds NaN or infinite pixels (first at frame {bad[0]})")
    return frames


def check_box(box, height: int, width: int) -> torch.Tensor:
    """A finite [x1, y1, x2, y2] box with positive size that overlaps the frame."""
    box = torch.as_tensor(box, dtype=torch.float64 if not torch.is_tensor(box) else None).reshape(-1)
    if box.numel() != 4:
        raise ValueError(f"a box must have 4 numbers [x1, y1, x2, y2], got {box.numel()}")
    if not torch.isfinite(box).all():
        raise ValueError(f"box {box.tolist()} holds NaN or infinite values")
    x1, y1, x2, y2 = box.tolist()
    if x2 <= x1 or y2 <= y1:
        raise ValueError(f"box {[x1, y1, x2, y2]} has no area: expected x2 > x1 and y2 > y1")
    if x2 <= 0 or y2 <= 0 or x1 >= width or y1 >= height:
        raise ValueError(f"box {[x1, y1, x2, y2]} lies outside the {width}x{height} frame")
    return box


def as_numpy_boxes(boxes, num_frames: int) -> np.ndarray:
    """(T, 4) float array of boxes, checked against the number of frames."""
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"boxes must have shape (T, 4), got {arr.shape}")
    if arr.shape[0] != num_frames:
        raise ValueError(f"{arr.shape[0]} boxes for {num_frames} frames")
    return arr


PIXEL_TOLERANCE = 1e-6  # float round-off allowed outside [0, 1]


def check_pixels(x, what: str = "video") -> None:
    """Floats in [0, 1] (numpy or torch, any shape); the error names the dtype or the range found, so a
    uint8 or 0-255 video is refused instead of tracked into NaN boxes."""
    values = x.detach() if torch.is_tensor(x) else np.asarray(x)
    dtype = values.dtype
    floating = values.is_floating_point() if torch.is_tensor(values) else np.issubdtype(dtype, np.floating)
    if not floating:
        raise ValueError(f"{what} must hold floats in [0, 1], got dtype {dtype}"
                         + (" (divide 0-255 pixels by 255)" if "int" in str(dtype) else ""))
    if values.size == 0 if isinstance(values, np.ndarray) else values.numel() == 0:
        return
    low, high = float(values.min()), float(values.max())
    if low != low or high != high:  # NaN
        raise ValueError(f"{what} holds NaN pixels")
    if low < -PIXEL_TOLERANCE or high > 1 + PIXEL_TOLERANCE:
        hint = " (0-255 values: divide by 255)" if high > 2 else ""
        raise ValueError(f"{what} pixels must lie in [0, 1], found values from {low:g} to {high:g}{hint}")


def check_boxes_per_video(boxes, num_videos: int, what: str = "y_init") -> np.ndarray:
    """(N, 4) float boxes, one [x1, y1, x2, y2] per video; a (4,) box is taken for a single video."""
    arr = np.asarray(boxes.detach().cpu() if torch.is_tensor(boxes) else boxes, dtype=np.float64)
    if arr.shape == (4,) and num_videos == 1:
        arr = arr[None]
    if arr.ndim != 2 or arr.shape != (num_videos, 4):
        raise ValueError(f"{what} must hold one [x1, y1, x2, y2] box per video, shape ({num_videos}, 4); "
                         f"got shape {arr.shape}")
    return arr


def read_box_file(path, xywh: bool, frames: int) -> np.ndarray:
    """Ground-truth boxes from a comma-separated file, one x1,y1,x2,y2 (or x,y,w,h) line per frame."""
    try:
        boxes = np.loadtxt(path, delimiter=",", ndmin=2)
    except (OSError, ValueError) as exc:
        raise ValueError(f"--boxes {path}: not a comma-separated file of numbers: {exc}") from exc
    if boxes.shape[1] != 4:
        raise ValueError(f"--boxes {path}: {boxes.shape[1]} numbers per line, expected 4 "
                         f"({'x,y,w,h' if xywh else 'x1,y1,x2,y2'})")
    if len(boxes) < frames:
        raise ValueError(f"--boxes {path}: {len(boxes)} lines for {frames} frames; every frame needs a box")
    if not np.isfinite(boxes).all():
        raise ValueError(f"--boxes {path}: holds NaN or infinite values")
    if xywh:
        boxes[:, 2:] += boxes[:, :2]
    return boxes[:frames]
