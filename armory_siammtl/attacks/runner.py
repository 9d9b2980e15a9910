"""One attack run on one video: benign tracking, the texture attack, and mIoU at every checkpoint.

Shared by ``armory-siammtl attack`` and the sweep, so both measure the same thing.
"""

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional

import numpy as np

from armory_siammtl.attacks.adversarial_texture import AdversarialTexture, CheckpointResult
from armory_siammtl.data.attack_videos import AttackVideo
from armory_siammtl.tracking.metrics import video_mean_iou


@dataclass
class AttackRun:
    benign_boxes: np.ndarray  # (T, 4) tracked on the clean video
    benign_miou: float  # x 100, frame 0 excluded
    checkpoints: List[CheckpointResult]  # texture, adversarial boxes and mIoU at each checkpoint
    adversarial: np.ndarray  # (T, H, W, 3) the video with the final texture
    texture: np.ndarray  # (th, tw, 3) the final texture

    def mious(self) -> Dict[int, float]:
        """{steps: mIoU x 100}, the benign run as steps 0."""
        return {0: self.benign_miou, **{r.steps: 100 * r.mean_iou for r in self.checkpoints}}


def run_attack(estimator, video: AttackVideo, on_step: Optional[Callable[[int], None]] = None,
               **attack_kwargs) -> AttackRun:
    """Track ``video`` benignly, then attack it with ``AdversarialTexture(estimator, **attack_kwargs)``
    (its ``shading`` comes from the video: green screen for a physical patch, none for a digital one)."""
    frames = video.frames[None]
    benign = estimator.predict(frames, y_init=video.boxes[:1])[0]["boxes"]
    attack = AdversarialTexture(estimator, shading=video.shading, on_step=on_step, **attack_kwargs)
    adversarial = attack.generate(frames, [{"boxes": video.boxes}], y_patch_metadata=[video.patch_metadata])
    return AttackRun(benign, 100 * video_mean_iou(video.boxes, benign), list(attack.checkpoint_results),
                     adversarial[0], attack.texture)
