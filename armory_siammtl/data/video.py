"""Reading videos (files or folders of frames) as float RGB arrays, and writing annotated videos."""

from pathlib import Path
from typing import List, Optional

import cv2
import numpy as np

FRAME_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


def frame_files(folder) -> List[Path]:
    """The frames of a folder of images, sorted by name (``*_mask`` images, the patch masks of the CARLA
    raw layout, are not frames)."""
    return sorted(
        p for p in Path(folder).iterdir() if p.suffix.lower() in FRAME_SUFFIXES and not p.stem.endswith("_mask")
    )


def read_rgb(path) -> np.ndarray:
    """One image file as (H, W, 3) uint8 RGB; a file that does not decode raises naming it."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"cannot decode image {path}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_video(path, max_frames: Optional[int] = None) -> np.ndarray:
    """(T, H, W, 3) float32 RGB in [0, 1] from a video file or a folder of frames (``frame_files``)."""
    path = Path(path)
    frames = []
    if path.is_dir():
        frames = [read_rgb(file) for file in frame_files(path)[:max_frames]]
    elif path.is_file():
        capture = cv2.VideoCapture(str(path))
        while max_frames is None or len(frames) < max_frames:
            ok, image = capture.read()
            if not ok:
                break
            frames.append(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
        capture.release()
    else:
        raise FileNotFoundError(f"no video file or frame folder at {path}")
    if not frames:
        raise ValueError(f"{path} holds no readable frames")
    shapes = {f.shape for f in frames}
    if len(shapes) > 1:
        raise ValueError(f"frames of {path} differ in size: {sorted(shapes)}")
    return np.stack(frames).astype(np.float32) / 255.0


def draw_boxes(video: np.ndarray, boxes_by_colour: dict) -> np.ndarray:
    """uint8 BGR frames with each (T, 4) box array drawn in its (B, G, R) colour."""
    out = []
    for t, frame in enumerate(video):
        image = cv2.cvtColor((np.clip(frame, 0, 1) * 255).astype(np.uint8), cv2.COLOR_RGB2BGR)
        for colour, boxes in boxes_by_colour.items():
            x1, y1, x2, y2 = (int(round(v)) for v in boxes[t])
            cv2.rectangle(image, (x1, y1), (x2, y2), colour, 2)
        out.append(image)
    return np.stack(out)


def write_video(path, video: np.ndarray, boxes_by_colour: Optional[dict] = None, fps: float = 10.0) -> Path:
    """Write an .mp4/.avi of ``video`` (T, H, W, 3) in [0, 1], with boxes drawn when given."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = draw_boxes(video, boxes_by_colour or {})
    fourcc = cv2.VideoWriter_fourcc(*("mp4v" if path.suffix.lower() == ".mp4" else "MJPG"))
    writer = cv2.VideoWriter(str(path), fourcc, fps, (frames.shape[2], frames.shape[1]))
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path
