"""One static adversarial texture for a whole video, by gradient ascent on the tracker's box error.

x <- x + delta * grad L with L = sum_t |y_hat_t - y_bar_t|_1 (the paper's Eq. 4); only texture pixels change,
occluders in front of the patch stay on top, and the texture follows the scene's perspective.
"""

import logging
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence

import numpy as np
import torch
from art.attacks.attack import EvasionAttack
from art.estimators.object_tracking.object_tracker import ObjectTrackerMixin
from tqdm.auto import tqdm

from armory_siammtl.attacks.warp import place, place_rectangle, warp_texture
from armory_siammtl.data.patch import check_patch_metadata
from armory_siammtl.input_checks import check_pixels
from armory_siammtl.tracking.crop import FrameReader
from armory_siammtl.tracking.metrics import video_mean_iou
from armory_siammtl.tracking.objective import box_l1

logger = logging.getLogger(__name__)
GRADIENTS = ("raw", "sign", "sign-accumulated")
REGIONS = {"perspective": place, "rectangle": place_rectangle}
GREEN_SCREEN_VALUE = 0.5647  # HSV value of CARLA's #00903a green screen, as ARMORY's texture attack uses


@dataclass
class CheckpointResult:
    steps: int
    texture: np.ndarray  # (th, tw, 3) in [0, 1]
    boxes: np.ndarray  # (T, 4) tracked on the adversarial video
    mean_iou: float  # against the ground truth, frame 0 excluded


def texture_settings(step_size: float = 0.1, steps: Optional[int] = None, checkpoints: Optional[Sequence[int]] = None,
                     gradient: str = "raw", frame_batch: Optional[int] = None, shading: Optional[str] = None,
                     init: str = "mean", max_iter: Optional[int] = None, region: str = "perspective") -> dict:
    """The attack's settings checked, with ``steps`` and ``checkpoints`` resolved (``max_iter``, ARMORY's
    name for ``steps``, drops larger checkpoints with a warning); used by the attack and by ``validate``."""
    if max_iter is not None:
        if steps is not None and steps != max_iter:
            raise ValueError(f"steps={steps} and max_iter={max_iter} disagree; give one of them")
        steps = max_iter
        dropped = [c for c in (checkpoints or []) if c > steps]
        if dropped:
            logger.warning("AdversarialTexture: max_iter=%d drops checkpoints %s", steps, dropped)
        checkpoints = [c for c in (checkpoints or []) if c <= steps] + [steps]
    checkpoints = sorted({int(c) for c in (checkpoints or ([steps] if steps is not None else [10]))})
    steps = int(steps) if steps is not None else checkpoints[-1]
    if not float(step_size) > 0:
        raise ValueError(f"step_size must be positive, got {step_size}")
    if steps < 0 or any(c < 0 or c > steps for c in checkpoints):
        raise ValueError(f"checkpoints {checkpoints} must lie in [0, steps={steps}]")
    if gradient not in GRADIENTS:
        raise ValueError(f"gradient must be one of {GRADIENTS}, not {gradient!r}")
    if region not in REGIONS:
        raise ValueError(f"region must be one of {tuple(REGIONS)}, not {region!r}")
    if shading not in (None, "green_screen"):
        raise ValueError(f"shading must be None or 'green_screen', not {shading!r}")
    if init not in ("mean", "random"):
        raise ValueError(f"init must be 'mean' or 'random', not {init!r}")
    if frame_batch is not None and frame_batch < 2:
        raise ValueError(f"frame_batch must be at least 2 frames, got {frame_batch}")
    return {"step_size": float(step_size), "steps": steps, "checkpoints": checkpoints}


def prepare_frames(video: torch.Tensor, coords: np.ndarray, masks: np.ndarray, texture_hw, shading: Optional[str],
                   clean_first_frame: bool, region: str = "perspective") -> list:
    """Per frame: placement of the texture and the alpha (coverage x visibility) of each pixel, and the
    scene's shading (None for a frame without the patch)."""
    frames = []
    for t in range(video.shape[0]):
        if t == 0 and clean_first_frame:
            frames.append(None)
            continue
        placement = REGIONS[region](coords[t], texture_hw, video.shape[1:3], video.device)
        if placement is None:
            frames.append(None)
            continue
        window = (slice(placement.y0, placement.y1), slice(placement.x0, placement.x1))
        alpha = placement.coverage * torch.as_tensor(masks[t][window], device=video.device)
        shade = torch.ones((), device=video.device)
        if shading == "green_screen":
            shade = (video[t][window].max(dim=-1).values / GREEN_SCREEN_VALUE)[..., None]
        frames.append((placement, window, alpha[..., None], shade))
    return frames


def composite(video: torch.Tensor, texture: torch.Tensor, prepared) -> torch.Tensor:
    """Video (T, H, W, 3) in [0, 1] with the texture pasted where ``prepared`` says, clipped to [0, 1]; only
    the patch's window of each frame is computed (and kept for the backward pass)."""
    out = []
    for frame, prep in zip(video, prepared):
        if prep is None:
            out.append(frame)
            continue
        frame = frame.clone()
        frame[prep[1]] = paste(frame, texture, prep)
        out.append(frame)
    return torch.stack(out)


def paste(frame: torch.Tensor, texture: torch.Tensor, prep) -> torch.Tensor:
    """The patch window of ``frame`` (H, W, 3) with the texture pasted as ``prep`` (one frame's entry of
    ``prepared``, not None) says, clipped to [0, 1]: (h, w, 3)."""
    placement, window, alpha, shade = prep
    return (frame[window] * (1 - alpha) + warp_texture(texture, placement) * shade * alpha).clamp(0.0, 1.0)


class PatchedVideo:
    """The attacked video (T, H, W, 3) as the tracker reads it (``tracking.tracker.TensorFrames``' calls):
    each crop window is cut from the clean frame with the texture pasted where it overlaps the patch, so no
    whole attacked frame is built, kept for the backward pass, or given a whole-frame gradient. Its values
    equal ``composite``'s. ``video``'s pixels must have been checked to lie in [0, 1]."""

    def __init__(self, video: torch.Tensor, texture: torch.Tensor, prepared):
        self.video, self.texture, self.prepared = video, texture, prepared
        self.num_frames, self.height, self.width = video.shape[:3]
        self.dtype, self.device = video.dtype, video.device
        self._pasted = {}

    def _patch(self, t: int) -> torch.Tensor:
        key = (t, torch.is_grad_enabled())  # a patch pasted without the graph does not serve a pass with it
        if key not in self._pasted:
            self._pasted[key] = paste(self.video[t], self.texture, self.prepared[t])
        return self._pasted[key]

    def _read(self, t: int, y0: int, y1: int, x0: int, x1: int) -> torch.Tensor:
        out = self.video[t, y0:y1, x0:x1]
        prep = self.prepared[t]
        if prep is not None:
            rows, cols = prep[1]
            top, bottom, left, right = max(y0, rows.start), min(y1, rows.stop), max(x0, cols.start), min(x1, cols.stop)
            if top < bottom and left < right:
                out = out.clone()
                out[top - y0:bottom - y0, left - x0:right - x0] = \
                    self._patch(t)[top - rows.start:bottom - rows.start, left - cols.start:right - cols.start]
        return out.permute(2, 0, 1)

    def frame(self, t: int) -> FrameReader:
        return FrameReader(lambda y0, y1, x0, x1: self._read(t, y0, y1, x0, x1), self.height, self.width)

    def first_frame_mean(self) -> torch.Tensor:
        frame = self.video[0]
        if self.prepared[0] is not None:  # a patched frame 0 (the reference's CARLA setting): built whole
            frame = frame.clone()
            frame[self.prepared[0][1]] = self._patch(0)
        return frame.permute(2, 0, 1).mean(dim=(1, 2))


def apply_texture(frames: np.ndarray, texture: np.ndarray, patch_metadata: dict, shading: Optional[str],
                  clean_first_frame: bool = True, region: str = "perspective") -> np.ndarray:
    """The video (T, H, W, 3) in [0, 1] with ``texture`` (th, tw, 3) on its patch, exactly as the attack
    composites it (to redraw an attacked video from a saved texture)."""
    coords, masks = check_patch_metadata(patch_metadata, frames.shape)
    check_pixels(frames)
    video = torch.as_tensor(frames, dtype=torch.float32)
    texture = torch.as_tensor(texture, dtype=torch.float32)
    with torch.no_grad():
        prepared = prepare_frames(video, coords, masks, tuple(texture.shape[:2]), shading, clean_first_frame, region)
        return composite(video, texture, prepared).numpy()


class AdversarialTexture(EvasionAttack):
    """The seed paper's texture attack; ``generate`` has ARMORY's signature.

    :param estimator: an ART object tracker (``PyTorchSiamRPN``) whose ``predict`` keeps the graph on tensors.
    :param step_size: delta in x <- x + delta * grad (or delta * sign(grad) with ``gradient="sign"``).
    :param steps: number of gradient steps; defaults to the largest checkpoint. ``max_iter`` (ARMORY's
        name, which ``armory run --check`` lowers to 1) is accepted for it; checkpoints beyond it are
        dropped with a warning.
    :param checkpoints: step counts at which the texture and the adversarial boxes are recorded
        (``checkpoint_results``), so one run serves several step counts.
    :param frame_batch: frames tracked per step (a seeded random window, started from its ground-truth
        box); None tracks the whole video every step.
    :param clean_first_frame: leave frame 0 (the template frame) without the patch.
    :param shading: "green_screen" scales the texture by the scene's brightness on the green screen
        (CARLA, as ARMORY does); None pastes it as is (digital patch, OTB).
    :param texture_size: (height, width) of the texture; default the patch's extent in the frame.
    :param gradient: "raw" (the paper's Eq. 4), "sign" (what ARMORY's texture attack does with ART >= 1.10.3)
        or "sign-accumulated" (the sign of the sum of all gradients so far: ART 1.9.1, under the paper's
        reference run, never reset the texture's gradient between steps).
    :param region: "perspective" (the texture warped onto the patch's corners, ARMORY >= 0.15) or
        "rectangle" (pasted upright, texel for pixel, in the corners' bounding rectangle, as the paper's
        reference ran it); the masks decide which pixels show it in both.
    :param init: "mean" (0.5 grey) or "random" (seeded uniform).
    :param seed: seeds the frame windows and the random init.
    :param verbose: show a progress bar over the steps.
    :param max_iter: ARMORY's name for ``steps``.
    :param on_step: called with the step count after every gradient step (progress reporting).
    """

    attack_params = EvasionAttack.attack_params + [
        "step_size", "steps", "checkpoints", "gradient", "frame_batch", "clean_first_frame", "shading",
        "texture_size", "init", "seed", "verbose", "region"]
    _estimator_requirements = (ObjectTrackerMixin,)

    def __init__(self, estimator: ObjectTrackerMixin, step_size: float = 0.1, steps: Optional[int] = None,
                 checkpoints: Optional[Sequence[int]] = None, gradient: str = "raw",
                 frame_batch: Optional[int] = None, clean_first_frame: bool = True,
                 shading: Optional[str] = None, texture_size: Optional[Sequence[int]] = None,
                 init: str = "mean", seed: int = 0, verbose: bool = True, max_iter: Optional[int] = None,
                 on_step: Optional[Callable[[int], None]] = None, region: str = "perspective"):
        super().__init__(estimator=estimator)
        settings = texture_settings(step_size, steps, checkpoints, gradient, frame_batch, shading, init, max_iter,
                                    region)
        self.step_size, self.steps, self.checkpoints = settings["step_size"], settings["steps"], settings["checkpoints"]
        self.gradient, self.frame_batch, self.shading, self.init = gradient, frame_batch, shading, init
        self.clean_first_frame, self.region = clean_first_frame, region
        self.texture_size = tuple(texture_size) if texture_size is not None else None
        self.seed = int(seed)
        self.verbose = verbose
        self.on_step = on_step
        self.checkpoint_results: List[CheckpointResult] = []
        self.texture: Optional[np.ndarray] = None

    # -- attack ------------------------------------------------------------------------------------
    def _track(self, video: torch.Tensor, box) -> torch.Tensor:
        init = np.asarray(box, dtype=np.float64)[None]
        return self.estimator.predict(video[None], y_init=init)[0]["boxes"]

    def _track_patched(self, video: torch.Tensor, texture: torch.Tensor, prepared, box) -> torch.Tensor:
        """Boxes of ``video`` with ``texture`` pasted: read a crop window at a time when the estimator
        tracks such a source (``PyTorchSiamRPN`` without preprocessing), else through whole frames."""
        track_frames = getattr(self.estimator, "track_frames", None)
        if track_frames is not None and getattr(self.estimator, "values_checked", False):
            return track_frames(PatchedVideo(video, texture, prepared), box)
        return self._track(composite(video, texture, prepared), box)

    def generate(self, x: np.ndarray, y: Optional[List[dict]] = None,
                 y_patch_metadata: Optional[List[dict]] = None, y_init: Optional[np.ndarray] = None,
                 **kwargs) -> np.ndarray:
        """Attack one video.

        :param x: the video (1, T, H, W, 3), float in [0, 1].
        :param y: ``[{"boxes": (T, 4)}]`` ground truth; None attacks the benign track from ``y_init``.
        :param y_patch_metadata: ``[{"gs_coords": (4, 2) or (T, 4, 2), "masks": (T, H, W[, 3])}]``.
        :param y_init: (1, 4) first box, needed when ``y`` is None.
        :return: the adversarial video (1, T, H, W, 3), same dtype as ``x``.
        """
        x = np.asarray(x)
        if x.ndim != 5 or x.shape[0] != 1 or x.shape[-1] != 3:
            raise ValueError(f"AdversarialTexture attacks one video at a time: expected (1, T, H, W, 3), "
                             f"got {x.shape}")
        if not y_patch_metadata:
            raise ValueError("y_patch_metadata is required: [{'gs_coords': ..., 'masks': ...}]")
        metadata = y_patch_metadata[0] if isinstance(y_patch_metadata, (list, tuple)) else y_patch_metadata
        coords, masks = check_patch_metadata(metadata, x.shape[1:])
        check_pixels(x)
        if x.shape[1] < 2:
            raise ValueError(f"a video of {x.shape[1]} frame has nothing to attack: frame 0 gives the template "
                             "and the tracker's first box")
        device = self.estimator.device
        video = torch.as_tensor(x[0], dtype=torch.float32, device=device)
        if y is None:
            first = y_init
            if first is None:
                raise ValueError("without ground-truth boxes y, pass y_init (1, 4) to attack the benign track")
            with torch.no_grad():
                target = self._track(video, np.asarray(first).reshape(4)).detach()
        else:
            target = torch.as_tensor(np.asarray(y[0]["boxes"]), dtype=torch.float32, device=device)
        if target.shape != (x.shape[1], 4):
            raise ValueError(f"ground-truth boxes have shape {tuple(target.shape)}, expected ({x.shape[1]}, 4)")

        extent = np.ceil(coords.max(axis=1) - coords.min(axis=1)).max(axis=0).astype(int)  # (w, h)
        texture_hw = self.texture_size or (max(int(extent[1]), 1), max(int(extent[0]), 1))
        rng = np.random.default_rng(self.seed)
        init = (rng.uniform(0, 1, (*texture_hw, 3)) if self.init == "random"
                else np.full((*texture_hw, 3), 0.5))
        texture = torch.tensor(init, dtype=torch.float32, device=device)
        prepared = prepare_frames(video, coords, masks, texture_hw, self.shading, self.clean_first_frame, self.region)
        accumulated = torch.zeros_like(texture)
        num_frames = x.shape[1]

        self.checkpoint_results = []
        for step in tqdm(range(self.steps + 1), desc="AdversarialTexture", disable=not self.verbose):
            if step in self.checkpoints:
                self._record(step, video, texture, prepared, target)
            if step == self.steps:
                break
            start, stop = 0, num_frames
            if self.frame_batch is not None and self.frame_batch < num_frames:
                start = int(rng.integers(0, num_frames - self.frame_batch + 1))
                stop = start + self.frame_batch
            texture.requires_grad_(True)
            boxes = self._track_patched(video[start:stop], texture, prepared[start:stop],
                                        target[start].detach().cpu().numpy())
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
        self.texture = texture.detach().cpu().numpy()
        with torch.no_grad():
            adv = composite(video, texture.detach(), prepared)
        return adv.cpu().numpy()[None].astype(x.dtype, copy=False)

    def _record(self, step, video, texture, prepared, target):
        with torch.no_grad():
            boxes = self._track_patched(video, texture.detach(), prepared, target[0].cpu().numpy()).cpu().numpy()
        gt = target.cpu().numpy()
        self.checkpoint_results.append(CheckpointResult(step, texture.detach().cpu().numpy().copy(), boxes,
                                                        video_mean_iou(gt, boxes)))
