"""One attack run on one video: benign tracking, the texture attack, and every metric at every checkpoint.

Shared by ``armory-siammtl attack`` and the sweep, so both measure the same thing.
"""

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional

import numpy as np

from armory_siammtl.attacks.adversarial_texture import AdversarialTexture, AttackState, CheckpointResult
from armory_siammtl.data.attack_videos import AttackVideo
from armory_siammtl.experiment.attack import AttackConfig
from armory_siammtl.tracking.metrics import video_scores


@dataclass
class AttackRun:
    gt_boxes: np.ndarray  # (T, 4) the ground truth (NaN rows: target absent)
    benign_boxes: np.ndarray  # (T, 4) tracked on the clean video
    checkpoints: List[CheckpointResult]  # texture, adversarial boxes and mIoU at each checkpoint
    adversarial: Optional[np.ndarray]  # (T, H, W, 3) the video with the final texture
    texture: np.ndarray  # (th, tw, 3) the final texture

    def scores(self) -> Dict[int, Dict[str, float]]:
        """{steps: {metric: value x 100}} (``tracking.metrics.METRICS``), the benign run as steps 0."""
        runs = {0: self.benign_boxes, **{c.steps: c.boxes for c in self.checkpoints}}
        return {steps: video_scores(self.gt_boxes, boxes) for steps, boxes in runs.items()}

    def mious(self) -> Dict[int, float]:
        """{steps: mIoU x 100}, the benign run as steps 0."""
        return {steps: row["miou"] for steps, row in self.scores().items()}


def run_attack(
    estimator,
    video: AttackVideo,
    attack: AttackConfig,
    seed: int = 0,
    on_step: Optional[Callable[[int], None]] = None,
    verbose: bool = False,
    on_state: Optional[Callable[[AttackState], None]] = None,
    resume: Optional[AttackState] = None,
) -> AttackRun:
    """Track ``video`` benignly, then attack it with ``AdversarialTexture`` in the settings ``attack``
    (``on_state`` and ``resume``: the attack's, to save a run and go on with it)."""
    frames = video.frames[None]
    benign = estimator.predict(frames, y_init=video.boxes[:1])[0]["boxes"]
    texture_attack = AdversarialTexture(
        estimator, **attack.as_dict(), seed=seed, verbose=verbose, on_step=on_step, on_state=on_state
    )
    adversarial = texture_attack.generate(
        frames, [{"boxes": video.boxes}], y_patch_metadata=[video.patch_metadata], resume=resume
    )
    return AttackRun(
        np.asarray(video.boxes, np.float64),
        benign,
        list(texture_attack.checkpoint_results),
        adversarial[0],
        texture_attack.texture,
    )
