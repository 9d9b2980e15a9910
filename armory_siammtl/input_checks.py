"""Input checks shared by the tracker, the estimator and the attack; each error names the problem."""

from pathlib import Path
from typing import Optional

import numpy as np
import torch

PIXEL_TOLERANCE = 1e-6  # float round-off allowed outside [0, 1]


def check_video(video, channels_first: Optional[bool] = None, check_values: bool = True) -> torch.Tensor:
    """Return frames as a (T, 3, H, W) float tensor; accept (T, H, W, 3) or (T, 3, H, W) in [0, 1].
    ``check_values=False`` skips the pass over every pixel for NaN/inf and the range (for callers that
    checked already)."""
    frames = torch.as_tensor(video)
    if frames.ndim != 4:
        raise ValueError(
            f"a video must have 4 dimensions (T, H, W, 3) or (T, 3, H, W), got shape {tuple(frames.shape)}"
        )
    if frames.shape[0] == 0:
        raise ValueError("the video is empty (0 frames)")
    if channels_first is None:
        channels_first = frames.shape[1] == 3 and frames.shape[-1] != 3
    if channels_first and frames.shape[1] != 3 or not channels_first and frames.shape[-1] != 3:
        raise ValueError(
            f"video frames must have 3 colour channels, got shape {tuple(frames.shape)} "
            f"(channels_first={channels_first})"
        )
    if not channels_first:
        frames = frames.permute(0, 3, 1, 2)
    if not frames.is_floating_point():
        raise ValueError(f"video must hold floats in [0, 1], got dtype {frames.dtype}")
    if check_values and not torch.isfinite(frames.detach()).all():
        bad = (~torch.isfinite(frames.detach())).nonzero()[0].tolist()
        raise ValueError(f"video holds NaN or infinite pixels (first at frame {bad[0]})")
    if check_values:
        low, high = float(frames.detach().min()), float(frames.detach().max())
        if low < -PIXEL_TOLERANCE or high > 1 + PIXEL_TOLERANCE:
            hint = " (0-255 values: divide by 255, or check the estimator's preprocessing)" if high > 2 else ""
            raise ValueError(f"the tracker's pixels must lie in [0, 1], found values from {low:g} to {high:g}{hint}")
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


def check_pixels(x, what: str = "video") -> None:
    """Floats in [0, 1] (numpy or torch, any shape); the error names the dtype or the range found, so a
    uint8 or 0-255 video is refused instead of tracked into NaN boxes."""
    values = x.detach() if torch.is_tensor(x) else np.asarray(x)
    dtype = values.dtype
    floating = values.is_floating_point() if torch.is_tensor(values) else np.issubdtype(dtype, np.floating)
    if not floating:
        raise ValueError(
            f"{what} must hold floats in [0, 1], got dtype {dtype}"
            + (" (divide 0-255 pixels by 255)" if "int" in str(dtype) else "")
        )
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
        raise ValueError(
            f"{what} must hold one [x1, y1, x2, y2] box per video, shape ({num_videos}, 4); got shape {arr.shape}"
        )
    return arr


def check_boxes(
    boxes, num_frames: int, height: Optional[int] = None, width: Optional[int] = None, what: str = "ground-truth boxes"
) -> np.ndarray:
    """Ground truth (T, 4) [x1, y1, x2, y2] under the package's one rule for absent targets: a row that is
    all NaN (UAV123's mark) or has no area (OTB's 0,0,0,0) means the target is absent from that frame; it
    comes back as a NaN row and is left out of every score and attack loss (``tracking.metrics``). Frame 0
    must hold the target (it starts the tracker). Any other NaN or infinite value, and a present box wholly
    outside a ``height`` x ``width`` frame, is refused."""
    arr = np.array(boxes.detach().cpu() if torch.is_tensor(boxes) else boxes, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"{what} must have shape (T, 4), got {arr.shape}")
    if arr.shape[0] != num_frames:
        raise ValueError(f"{what}: {arr.shape[0]} boxes for {num_frames} frames")
    all_nan = np.isnan(arr).all(axis=1)
    broken = ~all_nan & ~np.isfinite(arr).all(axis=1)
    if broken.any():
        raise ValueError(
            f"{what}: row {int(np.argmax(broken))} holds NaN or infinite values "
            "(an absent target is a row of NaN or of zeros)"
        )
    absent = all_nan | (arr[:, 2] <= arr[:, 0]) | (arr[:, 3] <= arr[:, 1])
    if absent[0]:
        raise ValueError(f"{what}: frame 0 has no box ({arr[0].tolist()}); the tracker starts from it")
    if height is not None and width is not None:
        present = arr[~absent]
        outside = (present[:, 2] <= 0) | (present[:, 3] <= 0) | (present[:, 0] >= width) | (present[:, 1] >= height)
        if outside.any():
            row = int(np.nonzero(~absent)[0][np.argmax(outside)])
            raise ValueError(
                f"{what}: the box of frame {row} {arr[row].tolist()} lies outside the {width}x{height} frame"
            )
    arr[absent] = np.nan
    return arr


def parse_box_text(text: str, path) -> np.ndarray:
    """(T, 4) numbers of a box file: one line per frame, four numbers separated by commas, tabs or spaces
    (``nan`` allowed: an absent target); each error names ``path`` and the line."""
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.replace(",", " ").replace("\t", " ").split()
        if not fields:
            continue
        try:
            row = [float(v) for v in fields]
        except ValueError:
            raise ValueError(f"{path}, line {number}: {line.strip()[:60]!r} is not four numbers") from None
        if len(row) != 4:
            raise ValueError(f"{path}, line {number}: {len(row)} numbers, expected 4 per line")
        rows.append(row)
    if not rows:
        raise ValueError(f"{path} holds no boxes (it is empty)")
    return np.asarray(rows, dtype=np.float64)


def read_box_file(path, xywh: bool, frames: int) -> np.ndarray:
    """Ground-truth boxes from a file of one x1,y1,x2,y2 (or x,y,w,h) line per frame, separated by commas,
    tabs or spaces; absent targets as ``check_boxes`` says (NaN or zero rows)."""
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"--boxes {path}: not readable: {exc}") from None
    boxes = parse_box_text(text, path)
    if len(boxes) < frames:
        raise ValueError(f"--boxes {path}: {len(boxes)} lines for {frames} frames; every frame needs a line")
    if xywh:
        boxes[:, 2:] += boxes[:, :2]
    return check_boxes(boxes[:frames], frames, what=f"--boxes {path}")
