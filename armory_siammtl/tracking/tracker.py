"""pysot's SiamRPN tracking loop in torch: the path video -> boxes is differentiable in the pixels."""

from dataclasses import dataclass
from typing import Optional

import torch
from tqdm.auto import tqdm

from armory_siammtl.input_checks import check_box, check_video
from armory_siammtl.models.anchors import anchor_grid, decode_deltas, foreground_scores, score_size
from armory_siammtl.models.siamrpn import SiamRPN, to_model_input
from armory_siammtl.tracking.config import TrackingConfig
from armory_siammtl.tracking.crop import FrameReader, as_reader, crop_square

MIN_SIZE = 10.0  # pysot's smallest box side after clipping


class TensorFrames:
    """A (T, 3, H, W) video as the tracker reads it: frame ``t``'s crop windows and frame 0's mean colour.
    (The attack's ``PatchedVideo`` answers the same calls without building whole attacked frames.)"""

    def __init__(self, frames: torch.Tensor):
        self.num_frames, _, self.height, self.width = frames.shape
        self.dtype, self.device = frames.dtype, frames.device
        # unbind, not frames[t]: the backward of indexing allocates a whole-video zero tensor per frame (cost
        # quadratic in the video's length); unbind's backward stacks the frames' gradients once
        self.per_frame = frames.unbind(0)

    def frame(self, t: int) -> FrameReader:
        return as_reader(self.per_frame[t])

    def first_frame_mean(self) -> torch.Tensor:
        return self.per_frame[0].mean(dim=(1, 2))


@dataclass
class TrackResult:
    boxes: torch.Tensor  # (T, 4) x1 y1 x2 y2 pixels; frame 0 is the initial box unless tracked
    scores: torch.Tensor  # (T,) foreground score of the chosen anchor; 1 for an untracked frame 0


def _change(r):
    return torch.maximum(r, 1.0 / r)


def _padded_size(w, h):
    pad = (w + h) * 0.5
    return torch.sqrt((w + pad) * (h + pad))


def best_anchor(penalized: torch.Tensor, window: torch.Tensor, window_influence: float) -> int:
    """pysot's choice: argmax of (1 - w) * penalty * score + w * cosine window, combined in float64 as
    pysot's numpy code does (its window is float64), so near-ties break the same way on every CPU kernel
    that computes the same float32 scores."""
    pscore = penalized.detach().double() * (1 - window_influence) + window * window_influence
    return int(torch.argmax(pscore))


class SiamRPNTracker:
    """Track one object through a video.

    ``track(video, box)`` takes frames (T, H, W, 3) or (T, 3, H, W), floats in [0, 1], and the first
    frame's box [x1, y1, x2, y2]. With ``video.requires_grad`` (or inside ``torch.enable_grad``) the boxes
    carry gradients back to every pixel; under ``torch.no_grad`` the same code is the fast benign path.
    """

    def __init__(self, model: SiamRPN, tracking: Optional[TrackingConfig] = None, recompute: bool = True):
        """``recompute``: with gradients, run the backbone's first block again in the backward pass instead
        of keeping its activations: the same gradient, about half the memory per tracked frame (~16 of
        ~30 MB at 255) for an eighth of a forward pass (docs/benchmarks/attack_step_scaling.txt)."""
        self.model = model
        self.recompute = recompute
        self.tracking = tracking or TrackingConfig()
        net = model.config
        if (self.tracking.instance_size - net.exemplar_size) % net.stride:
            raise ValueError(f"tracking instance_size {self.tracking.instance_size} minus the template size "
                             f"{net.exemplar_size} must be a multiple of the stride {net.stride}")
        self.score_size = score_size(self.tracking.instance_size, net.exemplar_size, net.stride)
        self.anchors = anchor_grid(self.score_size, net.stride, net.ratios, net.scales)
        hann = torch.hann_window(self.score_size, periodic=False, dtype=torch.float64)  # = np.hanning
        self.window = torch.outer(hann, hann).flatten().repeat(net.anchor_num)

    def _network(self, z_f: torch.Tensor, x: torch.Tensor):
        recompute = self.recompute and torch.is_grad_enabled() and x.requires_grad
        return self.model.track_outputs(z_f, x, recompute_stem=recompute)

    def _search_scale(self, size):
        ctx = self.tracking.context_amount * (size[0] + size[1])
        s_z = torch.sqrt((size[0] + ctx) * (size[1] + ctx))
        return s_z, self.model.config.exemplar_size / s_z

    def track(self, video, init_box, channels_first: Optional[bool] = None,
              progress: bool = False, values_checked: bool = False) -> TrackResult:
        """``video``: a tensor, or a source read a window at a time (``TensorFrames``' calls, e.g. the
        attack's ``PatchedVideo``, whose pixels its maker has checked). ``values_checked``: the caller has
        refused NaN/inf pixels already (one pass over the video less)."""
        if not hasattr(video, "first_frame_mean"):
            video = TensorFrames(check_video(video, channels_first, check_values=not values_checked))
        num_frames, height, width = video.num_frames, video.height, video.width
        dtype, device = video.dtype, video.device
        box = check_box(init_box, height, width).to(dtype=dtype, device=device)
        anchors, window = self.anchors.to(device, dtype), self.window.to(device)  # window stays float64
        cfg, exemplar_size = self.tracking, self.model.config.exemplar_size

        center = torch.stack([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])
        size = torch.stack([box[2] - box[0], box[3] - box[1]])
        fill = video.first_frame_mean()
        s_z, _ = self._search_scale(size)
        z_crop = crop_square(video.frame(0), center, torch.round(s_z.detach()), exemplar_size, fill, cfg.crop)
        z_f = self.model.template_features(to_model_input(z_crop))

        boxes, scores = [], []
        if not cfg.track_first_frame:  # frame 0 returns the given box
            boxes, scores = [box], [torch.ones((), dtype=dtype, device=device)]
        for t in tqdm(range(len(boxes), num_frames), desc="tracking", unit="frame", disable=not progress):
            s_z, scale_z = self._search_scale(size)
            s_x = s_z * (cfg.instance_size / exemplar_size)
            x_crop = crop_square(video.frame(t), center, s_x, cfg.instance_size, fill, cfg.crop)
            cls, loc = self._network(z_f, to_model_input(x_crop))
            score = foreground_scores(cls)
            pred = decode_deltas(loc, anchors)

            s_c = _change(_padded_size(pred[:, 2], pred[:, 3]) / _padded_size(size[0] * scale_z, size[1] * scale_z))
            r_c = _change((size[0] / size[1]) / (pred[:, 2] / pred[:, 3]))
            penalty = torch.exp(-(r_c * s_c - 1) * cfg.penalty_k)
            best = best_anchor(penalty * score, window, cfg.window_influence)

            delta = pred[best] / scale_z
            rate = penalty[best] * score[best] * cfg.lr
            cx = (center[0] + delta[0]).clamp(0, width)
            cy = (center[1] + delta[1]).clamp(0, height)
            w = (size[0] * (1 - rate) + delta[2] * rate).clamp(MIN_SIZE, width)
            h = (size[1] * (1 - rate) + delta[3] * rate).clamp(MIN_SIZE, height)
            center, size = torch.stack([cx, cy]), torch.stack([w, h])
            boxes.append(torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]))
            scores.append(score[best])
        return TrackResult(torch.stack(boxes), torch.stack(scores))
