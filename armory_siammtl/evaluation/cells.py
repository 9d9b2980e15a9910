"""One sweep cell: a model's estimator (its weights pinned to the bytes the sweep verified when it started)
and its attack run on one video, gone on with from its saved state when there is one. Used by the local
sweep and its Ray workers alike."""

from typing import Callable, Optional

from armory_siammtl.attacks.runner import AttackRun, run_attack
from armory_siammtl.data.attack_videos import AttackVideo
from armory_siammtl.estimators.build import build_estimator
from armory_siammtl.evaluation.cell_state import CellProgress
from armory_siammtl.models.variant import ModelVariant
from armory_siammtl.tracking.config import TrackingConfig


def load_estimator(variant: ModelVariant, tracking: TrackingConfig, device_type: str = "cpu"):
    """A PyTorchSiamRPN for one sweep model; ``variant.sha256`` pins the file's bytes (a file replaced while
    the sweep runs is refused rather than scored under the old checksum)."""
    return build_estimator(variant, tracking, device_type=device_type)


def attack_cell(
    estimator,
    video: AttackVideo,
    step_size: float,
    seed: int,
    config,
    on_step: Optional[Callable[[int], None]] = None,
    progress: Optional[CellProgress] = None,
) -> AttackRun:
    """The attack run of one (model, step size, video, seed) cell of ``config`` (a ``SweepConfig``);
    ``.scores()``: {steps: {metric: value x 100}}, benign as steps 0. ``progress`` saves the attack as it
    goes and holds the state it goes on from."""
    resume = progress.load() if progress is not None else None
    if resume is not None and on_step is not None:
        on_step(resume.step)
    return run_attack(
        estimator, video, config.attack(step_size), seed=seed, on_step=on_step, on_state=progress, resume=resume
    )
