"""One static adversarial texture for a whole video, by gradient ascent on the tracker's box error.

x <- x + delta * grad L with L = sum_t |y_hat_t - y_bar_t|_1 (the paper's Eq. 4); only texture pixels change,
occluders in front of the patch stay on top. The settings are an ``experiment.AttackConfig``.
"""

import logging
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence

import numpy as np
import torch
from art.attacks.attack import EvasionAttack
from art.estimators.estimator import BaseEstimator, LossGradientsMixin
from art.estimators.object_tracking.object_tracker import ObjectTrackerMixin
from tqdm.auto import tqdm

from armory_siammtl import values
from armory_siammtl.atomic import all_or_nothing
from armory_siammtl.attacks.compositing import PatchedVideo, composite, prepare_frames
from armory_siammtl.data.patch import check_patch_metadata
from armory_siammtl.experiment.attack import AttackConfig
from armory_siammtl.input_checks import check_boxes, check_pixels
from armory_siammtl.tracking.metrics import video_mean_iou
from armory_siammtl.tracking.objective import box_l1

logger = logging.getLogger(__name__)
DEFAULTS = AttackConfig()
MAX_TEXTURE_TEXELS = 4096 * 4096  # a texture larger than this (a patch far outside the frame) is refused


@dataclass
class CheckpointResult:
    steps: int
    texture: np.ndarray  # (th, tw, 3) in [0, 1]
    boxes: np.ndarray  # (T, 4) tracked on the adversarial video
    mean_iou: float  # against the ground truth, frame 0 excluded


@dataclass
class AttackState:
    """Where an attack stands after ``step`` gradient steps: all it needs to go on exactly as if it had not
    stopped (``generate(..., resume=state)``)."""

    step: int
    texture: np.ndarray  # (th, tw, 3) float32, the texture after ``step`` steps
    accumulated: np.ndarray  # (th, tw, 3) float32, the sum of the gradients so far
    rng_state: dict  # numpy's bit generator state (the frame windows still to draw)
    checkpoints: List[CheckpointResult]  # those recorded before ``step``


def check_attack_settings(settings: dict) -> AttackConfig:
    """The attack's settings (its ``attack_params``, as a scenario's kwargs give them) checked: the
    ``AttackConfig`` of the spec's keys, a whole ``seed`` >= 0, a true/false ``verbose`` and ``batch_size``
    1; unknown keys are refused."""
    known = (*AttackConfig.keys(), "seed", "verbose", "batch_size", "on_step")
    unknown = sorted(set(settings) - set(known))
    if unknown:
        raise ValueError(f"AdversarialTexture takes no {unknown}; its settings are {list(known[:-1])}")
    values.whole("seed", settings.get("seed", 0), 0)
    values.boolean("verbose", settings.get("verbose", True))
    if values.whole("batch_size", settings.get("batch_size", 1), 1) != 1:
        raise ValueError(f"batch_size must be 1: the attack makes one texture per video, got {settings['batch_size']}")
    return AttackConfig(**{k: settings[k] for k in AttackConfig.keys() if k in settings})


class AdversarialTexture(EvasionAttack):
    """The seed paper's texture attack; ``generate`` has ARMORY's signature. Its settings are those of
    ``experiment.AttackConfig`` (defaults: the ``package`` preset), checked by ``_check_params`` at
    construction and on every ``set_params`` (a refused change leaves the attack as it was).

    :param estimator: an ART object tracker (``PyTorchSiamRPN``) whose ``predict`` keeps the graph on tensors.
    :param step_size: delta in x <- x + delta * update.
    :param max_iter: gradient steps (default 50; ART's and ARMORY's name, which ``armory run --check`` lowers
        to 1: checkpoints beyond it are then dropped with a warning).
    :param checkpoints: step counts at which texture and adversarial boxes are recorded
        (``checkpoint_results``); default those of 10, 20, 50 within ``max_iter``; ``max_iter`` is always one.
    :param gradient: "raw", "sign" or "sign-accumulated" (``AttackConfig``).
    :param frame_batch: frames tracked per step (a seeded random window, started from its ground-truth box);
        None tracks the whole video every step.
    :param region: "perspective" or "rectangle" (``AttackConfig``).
    :param shading: "green_screen" or None (``AttackConfig``).
    :param clean_first_frame: leave frame 0 (the template frame) without the texture.
    :param init: "mean" (0.5 grey) or "random" (seeded uniform).
    :param texture_size: (height, width) of the texture; default the patch's extent within the frame.
    :param seed: seeds the frame windows and the random init.
    :param verbose: show a progress bar over the steps.
    :param batch_size: ART's and ARMORY's batch size; must be 1 (one texture per video).
    :param on_step: called with the step count after every gradient step (progress reporting).
    """

    attack_params = EvasionAttack.attack_params + [*AttackConfig.keys(), "seed", "verbose", "batch_size"]
    _estimator_requirements = (BaseEstimator, LossGradientsMixin, ObjectTrackerMixin)

    def __init__(
        self,
        estimator,
        step_size: float = DEFAULTS.step_size,
        max_iter: int = DEFAULTS.max_iter,
        checkpoints: Optional[Sequence[int]] = None,
        gradient: str = DEFAULTS.gradient,
        frame_batch: Optional[int] = DEFAULTS.frame_batch,
        clean_first_frame: bool = DEFAULTS.clean_first_frame,
        shading: Optional[str] = DEFAULTS.shading,
        texture_size: Optional[Sequence[int]] = None,
        init: str = DEFAULTS.init,
        seed: int = 0,
        verbose: bool = True,
        on_step: Optional[Callable[[int], None]] = None,
        region: str = DEFAULTS.region,
        batch_size: int = 1,
        on_state: Optional[Callable[[AttackState], None]] = None,
    ):
        super().__init__(estimator=estimator)
        if checkpoints is None:
            checkpoints = [c for c in DEFAULTS.checkpoints if isinstance(max_iter, int) and c <= max_iter]
        self._max_iter, self.checkpoints = max_iter, self._within(checkpoints, max_iter)
        self.step_size, self.gradient = step_size, gradient
        self.frame_batch, self.region, self.shading, self.clean_first_frame = (
            frame_batch,
            region,
            shading,
            clean_first_frame,
        )
        self.init, self.texture_size, self.seed, self.verbose, self.batch_size = (
            init,
            texture_size,
            seed,
            verbose,
            batch_size,
        )
        self.on_step, self.on_state = on_step, on_state
        self._check_params()
        self.checkpoint_results: List[CheckpointResult] = []
        self.texture: Optional[np.ndarray] = None

    @staticmethod
    def _within(checkpoints, max_iter) -> list:
        """``checkpoints`` without those beyond ``max_iter`` (dropped with a warning: ARMORY's ``--check``
        lowers ``max_iter`` to 1)."""
        if not isinstance(checkpoints, (list, tuple, range)):
            return checkpoints  # refused by the check
        dropped = [c for c in checkpoints if isinstance(max_iter, int) and isinstance(c, int) and c > max_iter]
        if dropped:
            logger.warning("AdversarialTexture: max_iter=%s drops checkpoints %s", max_iter, dropped)
        return [c for c in checkpoints if c not in dropped]

    @property
    def max_iter(self) -> int:
        """The number of gradient steps; setting it drops the checkpoints beyond it (with a warning)."""
        return self._max_iter

    @max_iter.setter
    def max_iter(self, max_iter: int) -> None:
        self._max_iter, self.checkpoints = max_iter, self._within(self.checkpoints, max_iter)

    def _check_params(self) -> None:
        """Every setting checked together (``check_attack_settings``); normalised values (sorted checkpoints
        that end at ``max_iter``) are written back."""
        super()._check_params()
        self.config = check_attack_settings({k: getattr(self, k) for k in self.attack_params})
        for key in AttackConfig.keys():
            setattr(self, key, getattr(self.config, key))

    def set_params(self, **kwargs) -> None:
        """Change settings (ART's API); all are checked together, and a refused change changes nothing."""
        with all_or_nothing(self):
            super().set_params(**kwargs)

    # -- attack ------------------------------------------------------------------------------------
    def _track(self, video: torch.Tensor, box) -> torch.Tensor:
        init = np.asarray(box, dtype=np.float64)[None]
        return self.estimator.predict(video[None], y_init=init)[0]["boxes"]

    def _track_patched(self, video: torch.Tensor, texture: torch.Tensor, prepared, box) -> torch.Tensor:
        """Boxes of ``video`` with ``texture`` pasted: read a crop window at a time when the estimator
        tracks such a source (``PyTorchSiamRPN`` without preprocessing), else through whole frames (so that
        ART preprocessing and defences apply)."""
        track_frames = getattr(self.estimator, "track_frames", None)
        if track_frames is not None and getattr(self.estimator, "values_checked", False):
            return track_frames(PatchedVideo(video, texture, prepared), box)
        return self._track(composite(video, texture, prepared), box)

    def _texture_hw(self, coords: np.ndarray, height: int, width: int) -> tuple:
        """The texture's (height, width): given, else the patch's extent clipped to the frame."""
        if self.texture_size is not None:
            return tuple(self.texture_size)
        low = np.clip(coords.min(axis=1), 0, [width, height])
        high = np.clip(coords.max(axis=1), 0, [width, height])
        extent = np.ceil(high - low).max(axis=0).astype(int)  # (w, h)
        hw = (max(int(extent[1]), 1), max(int(extent[0]), 1))
        if hw[0] * hw[1] > MAX_TEXTURE_TEXELS:
            raise ValueError(f"the patch spans {hw[1]}x{hw[0]} pixels; give texture_size for a texture that large")
        return hw

    def generate(
        self,
        x: np.ndarray,
        y: Optional[List[dict]] = None,
        y_patch_metadata: Optional[List[dict]] = None,
        y_init: Optional[np.ndarray] = None,
        resume: Optional[AttackState] = None,
        **kwargs,
    ) -> np.ndarray:
        """Attack one video (``on_state``, if given, receives an ``AttackState`` after every step).

        :param x: the video (1, T, H, W, 3), float in [0, 1].
        :param y: ``[{"boxes": (T, 4)}]`` ground truth; None attacks the benign track from ``y_init``.
        :param y_patch_metadata: ``[{"gs_coords": (4, 2) or (T, 4, 2), "masks": (T, H, W[, 3])}]``.
        :param y_init: (1, 4) first box, needed when ``y`` is None.
        :param resume: an ``AttackState`` of this attack on this video to go on from (same settings; a larger
            ``max_iter`` or later checkpoints may be asked for).
        :return: the adversarial video (1, T, H, W, 3), same dtype as ``x``.
        """
        x = np.asarray(x)
        if x.ndim != 5 or x.shape[0] != 1 or x.shape[-1] != 3:
            raise ValueError(f"AdversarialTexture attacks one video at a time: expected (1, T, H, W, 3), got {x.shape}")
        if not y_patch_metadata:
            raise ValueError("y_patch_metadata is required: [{'gs_coords': ..., 'masks': ...}]")
        metadata = y_patch_metadata[0] if isinstance(y_patch_metadata, (list, tuple)) else y_patch_metadata
        coords, masks = check_patch_metadata(metadata, x.shape[1:])
        check_pixels(x)
        if x.shape[1] < 2:
            raise ValueError(
                f"a video of {x.shape[1]} frame has nothing to attack: frame 0 gives the template "
                "and the tracker's first box"
            )
        device = self.estimator.device
        video = torch.as_tensor(x[0], dtype=torch.float32, device=device)
        if y is None:
            first = y_init
            if first is None:
                raise ValueError("without ground-truth boxes y, pass y_init (1, 4) to attack the benign track")
            with torch.no_grad():
                target = self._track(video, np.asarray(first).reshape(4)).detach()
        else:
            if not isinstance(y, (list, tuple)) or not y or not isinstance(y[0], dict) or "boxes" not in y[0]:
                raise ValueError("y must be [{'boxes': (T, 4)}], the ground truth of the one video")
            boxes = check_boxes(y[0]["boxes"], x.shape[1], x.shape[2], x.shape[3], "ground-truth boxes")
            target = torch.as_tensor(boxes, dtype=torch.float32, device=device)

        texture_hw = self._texture_hw(coords, x.shape[2], x.shape[3])
        rng = np.random.default_rng(self.seed)
        init = rng.uniform(0, 1, (*texture_hw, 3)) if self.init == "random" else np.full((*texture_hw, 3), 0.5)
        texture = torch.tensor(init, dtype=torch.float32, device=device)
        prepared = prepare_frames(video, coords, masks, texture_hw, self.shading, self.clean_first_frame, self.region)
        accumulated = torch.zeros_like(texture)
        num_frames = x.shape[1]
        present = np.nonzero(torch.isfinite(target).all(dim=1).cpu().numpy())[0]  # frames holding the target

        self.checkpoint_results, first_step = [], 0
        if resume is not None:
            texture, accumulated = self._resume(resume, texture, rng)
            self.checkpoint_results = [c for c in resume.checkpoints if c.steps in self.checkpoints]
            first_step = resume.step
        steps = range(first_step, self.max_iter + 1)
        bar = dict(desc="AdversarialTexture", total=self.max_iter + 1, initial=first_step, disable=not self.verbose)
        for step in tqdm(steps, **bar):
            if step in self.checkpoints:
                self._record(step, video, texture, prepared, target)
            if step == self.max_iter:
                break
            start, stop = 0, num_frames
            if self.frame_batch is not None and self.frame_batch < num_frames:
                start = int(rng.integers(0, num_frames - self.frame_batch + 1))
                if start not in present:  # a window starts where the target is (frame 0 always holds it)
                    start = int(present[present <= start][-1])
                stop = start + self.frame_batch
            texture.requires_grad_(True)
            boxes = self._track_patched(
                video[start:stop], texture, prepared[start:stop], target[start].detach().cpu().numpy()
            )
            loss = box_l1(boxes, target[start:stop])
            # a window where the patch is off-frame or hidden does not depend on the texture: zero gradient
            grad = torch.autograd.grad(loss, texture, allow_unused=True)[0] if loss.requires_grad else None
            if grad is None:
                grad = torch.zeros_like(texture)
            with torch.no_grad():
                accumulated += grad
                update = {"raw": grad, "sign": grad.sign(), "sign-accumulated": accumulated.sign()}[self.gradient]
                texture = (texture + self.step_size * update).clamp(0.0, 1.0)
            if self.on_step is not None:
                self.on_step(step + 1)
            if self.on_state is not None:
                self.on_state(self._state(step + 1, texture, accumulated, rng))
        self.texture = texture.detach().cpu().numpy()
        with torch.no_grad():
            adv = composite(video, texture.detach(), prepared)
        return adv.cpu().numpy()[None].astype(x.dtype, copy=False)

    def _state(self, step, texture, accumulated, rng) -> AttackState:
        return AttackState(
            step,
            texture.detach().cpu().numpy().copy(),
            accumulated.detach().cpu().numpy().copy(),
            rng.bit_generator.state,
            list(self.checkpoint_results),
        )

    def _resume(self, state: AttackState, texture: torch.Tensor, rng) -> tuple:
        """The texture and gradient sum of ``state``, checked against this attack and video; ``rng`` is set
        to the state's."""
        if not isinstance(state, AttackState):
            raise ValueError(f"resume must be an AttackState, got {type(state).__name__}")
        if not 0 <= state.step <= self.max_iter:
            raise ValueError(f"resume: the state is at step {state.step}, beyond max_iter={self.max_iter}")
        for name in ("texture", "accumulated"):
            shape = np.shape(getattr(state, name))
            if shape != tuple(texture.shape):
                raise ValueError(f"resume: the state's {name} is {shape}, this video's texture {tuple(texture.shape)}")
        recorded = {c.steps for c in state.checkpoints}
        missed = [c for c in self.checkpoints if c < state.step and c not in recorded]
        if missed:
            raise ValueError(f"resume: checkpoints {missed} lie before the state's step {state.step}, unrecorded")
        rng.bit_generator.state = state.rng_state
        device = texture.device
        return (
            torch.tensor(np.asarray(state.texture, np.float32), device=device),
            torch.tensor(np.asarray(state.accumulated, np.float32), device=device),
        )

    def _record(self, step, video, texture, prepared, target):
        with torch.no_grad():
            boxes = self._track_patched(video, texture.detach(), prepared, target[0].cpu().numpy()).cpu().numpy()
        gt = target.cpu().numpy()
        self.checkpoint_results.append(
            CheckpointResult(step, texture.detach().cpu().numpy().copy(), boxes, video_mean_iou(gt, boxes))
        )
