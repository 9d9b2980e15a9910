"""Training videos: ``Track`` holds its frames in memory (the procedural scene), ``DiskTrack`` reads one frame
from disk when a training pair asks for it (COCO, LaSOT, OTB-layout folders), so that no dataset is ever
held whole in memory. Both answer ``len``, ``frame(i)``, ``boxes``, ``keypoints`` and ``video()``."""

from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from armory_siammtl.data.video import read_rgb


@dataclass
class Track:
    """One training video in memory: frames (T, H, W, 3) uint8 RGB, boxes (T, 4), optional keypoints (T, 17, 3)."""

    frames: np.ndarray
    boxes: np.ndarray
    keypoints: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return len(self.boxes)

    def frame(self, index: int) -> np.ndarray:
        return self.frames[index]

    def video(self) -> np.ndarray:
        return self.frames


@dataclass
class DiskTrack:
    """One training video on disk: one image file per box (T files), boxes (T, 4), optional keypoints."""

    files: Sequence[Path]
    boxes: np.ndarray
    keypoints: Optional[np.ndarray] = None

    def __post_init__(self):
        if len(self.files) != len(self.boxes):
            raise ValueError(
                f"{len(self.files)} frame files for {len(self.boxes)} boxes "
                f"(first file {self.files[0] if len(self.files) else None})"
            )

    def __len__(self) -> int:
        return len(self.boxes)

    def frame(self, index: int) -> np.ndarray:
        return read_rgb(self.files[index])

    def video(self) -> np.ndarray:
        return np.stack([self.frame(i) for i in range(len(self))])
