"""Input checks shared by the tracker, the estimator and the attack; each error names the problem."""

from typing import Optional

import numpy as np
import torch


def check_video(video, channels_first: Optional[bool] = None) -> torch.Tensor:
    """Return frames as a (T, 3, H, W) float tensor; accept (T, H, W, 3) or (T, 3, H, W) in [0, 1]."""
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
    if not torch.isfinite(frames.detach()).all():
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
