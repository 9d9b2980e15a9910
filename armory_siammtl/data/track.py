"""``Track``: one training video (frames, boxes, optional keypoints), the unit every training source yields."""

from dataclasses import dataclass
from typing import Optional

import numpy as np


@dataclass
class Track:
    """One training video: frames (T, H, W, 3) uint8 RGB, boxes (T, 4), optional keypoints (T, 17, 3)."""

    frames: np.ndarray
    boxes: np.ndarray
    keypoints: Optional[np.ndarray] = None
