"""Pasting a texture into a video's patch: where each frame shows it (``prepare_frames``), whole attacked
frames (``composite``, ``apply_texture``) and the attacked video read a crop window at a time
(``PatchedVideo``), all with the same values."""

from typing import Optional

import numpy as np
import torch

from armory_siammtl.attacks.warp import place, place_rectangle, warp_texture
from armory_siammtl.data.patch import check_patch_metadata
from armory_siammtl.input_checks import check_pixels
from armory_siammtl.tracking.crop import FrameReader

REGIONS = {"perspective": place, "rectangle": place_rectangle}  # experiment.attack.REGIONS, placed
GREEN_SCREEN_VALUE = 0.5647  # HSV value of CARLA's #00903a green screen, as ARMORY's texture attack uses


def prepare_frames(
    video: torch.Tensor,
    coords: np.ndarray,
    masks: np.ndarray,
    texture_hw,
    shading: Optional[str],
    clean_first_frame: bool,
    region: str = "perspective",
) -> list:
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
                out[top - y0 : bottom - y0, left - x0 : right - x0] = self._patch(t)[
                    top - rows.start : bottom - rows.start, left - cols.start : right - cols.start
                ]
        return out.permute(2, 0, 1)

    def frame(self, t: int) -> FrameReader:
        return FrameReader(lambda y0, y1, x0, x1: self._read(t, y0, y1, x0, x1), self.height, self.width)

    def first_frame_mean(self) -> torch.Tensor:
        frame = self.video[0]
        if self.prepared[0] is not None:  # a patched frame 0 (the reference's CARLA setting): built whole
            frame = frame.clone()
            frame[self.prepared[0][1]] = self._patch(0)
        return frame.permute(2, 0, 1).mean(dim=(1, 2))


def apply_texture(
    frames: np.ndarray,
    texture: np.ndarray,
    patch_metadata: dict,
    shading: Optional[str],
    clean_first_frame: bool = True,
    region: str = "perspective",
) -> np.ndarray:
    """The video (T, H, W, 3) in [0, 1] with ``texture`` (th, tw, 3) on its patch, exactly as the attack
    composites it (to redraw an attacked video from a saved texture)."""
    coords, masks = check_patch_metadata(patch_metadata, frames.shape)
    check_pixels(frames)
    video = torch.as_tensor(frames, dtype=torch.float32)
    texture = torch.as_tensor(texture, dtype=torch.float32)
    with torch.no_grad():
        prepared = prepare_frames(video, coords, masks, tuple(texture.shape[:2]), shading, clean_first_frame, region)
        return composite(video, texture, prepared).numpy()
