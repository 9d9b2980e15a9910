"""pysot's SiamRPN tracking loop in torch: the path video -> boxes is differentiable in the pixels."""

from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import torch
from tqdm.auto import tqdm

from armory_siammtl.input_checks import check_box, check_video
from armory_siammtl.models.anchors import anchor_grid, decode_deltas, foreground_scores, score_size
from armory_siammtl.models.siamrpn import SiamRPN, to_model_input
from armory_siammtl.tracking.config import TrackingConfig
from armory_siammtl.tracking.crop import crop_square, crop_subwindow, crop_window, fixed_position
from armory_siammtl.tracking.frames import TensorFrames

MIN_SIZE = 10.0  # pysot's smallest box side after clipping
GRADIENT_MODES = ("auto", "sequential", "batched")


@dataclass
class Trace:
    """What a pass without gradients fixes for the batched gradient: per tracked frame (in order) the crop
    window (centre, side) it read and the anchor it chose."""

    windows: List[Tuple[torch.Tensor, object]] = field(default_factory=list)  # side: a number or 0-d tensor
    anchors: List[int] = field(default_factory=list)


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

    Two ways to compute the gradient (``gradient_mode``): "sequential" tracks frame by frame with the graph;
    "batched" first tracks without gradients to fix each frame's crop window and chosen anchor, then sends
    all search crops through the network in batches of ``batch_frames`` and replays the box recurrence
    with gradients. With whole-pixel crops ("integer", "skelevision": no gradient through the window's
    position) both give the same boxes and gradient up to round-off; with "subpixel" crops "batched" drops
    the gradient through the crops' positions and disagrees. "auto": "batched" for whole-pixel crops on a
    GPU, else "sequential" (``benchmarks/batched_gradient.py``).
    """

    def __init__(
        self,
        model: SiamRPN,
        tracking: Optional[TrackingConfig] = None,
        recompute: bool = True,
        gradient_mode: str = "auto",
        batch_frames: int = 32,
    ):
        """``recompute``: with gradients, run the backbone's first block again in the backward pass instead
        of keeping its activations: the same gradient, about half the memory per tracked frame (~16 of
        ~30 MB at 255) for an eighth of a forward pass (docs/results/benchmarks/attack_step_scaling.txt)."""
        if gradient_mode not in GRADIENT_MODES:
            raise ValueError(f"gradient_mode must be one of {GRADIENT_MODES}, not {gradient_mode!r}")
        if isinstance(batch_frames, bool) or not isinstance(batch_frames, int) or batch_frames < 1:
            raise ValueError(f"batch_frames must be a whole number >= 1, got {batch_frames!r}")
        self.model = model
        self.recompute = recompute
        self.tracking = tracking or TrackingConfig()
        self.gradient_mode, self.batch_frames = gradient_mode, batch_frames
        net = model.config
        if (self.tracking.instance_size - net.exemplar_size) % net.stride:
            raise ValueError(
                f"tracking instance_size {self.tracking.instance_size} minus the template size "
                f"{net.exemplar_size} must be a multiple of the stride {net.stride}"
            )
        self.score_size = score_size(self.tracking.instance_size, net.exemplar_size, net.stride)
        self.anchors = anchor_grid(self.score_size, net.stride, net.ratios, net.scales)
        hann = torch.hann_window(self.score_size, periodic=False, dtype=torch.float64)  # = np.hanning
        self.window = torch.outer(hann, hann).flatten().repeat(net.anchor_num)
        self._placed = {}  # (device, dtype) -> (anchors, window) there

    def _grids(self, device, dtype):
        """The anchors in the video's device and dtype, and the cosine window (float64) on its device."""
        if (device, dtype) not in self._placed:
            self._placed[device, dtype] = self.anchors.to(device, dtype), self.window.to(device)
        return self._placed[device, dtype]

    def batched(self, device: torch.device) -> bool:
        """Whether gradients on ``device`` are computed in the batched mode (``gradient_mode``; "auto":
        whole-pixel crops on a GPU, where one batch of crops beats one crop at a time; on a CPU the extra
        pass without gradients costs more than batching saves)."""
        if self.gradient_mode == "auto":
            return fixed_position(self.tracking.crop) and torch.device(device).type == "cuda"
        return self.gradient_mode == "batched"

    def _input(self, crops: torch.Tensor) -> torch.Tensor:
        """RGB crops in [0, 1] as the network is fed them (``tracking.channel_order``, 0-255)."""
        return to_model_input(crops, self.tracking.channel_order)

    def _network(self, z_f: torch.Tensor, x: torch.Tensor):
        recompute = self.recompute and torch.is_grad_enabled() and x.requires_grad
        return self.model.track_outputs(z_f, x, recompute_stem=recompute)

    def _search_scale(self, size):
        ctx = self.tracking.context_amount * (size[0] + size[1])
        s_z = torch.sqrt((size[0] + ctx) * (size[1] + ctx))
        return s_z, self.model.config.exemplar_size / s_z

    def track(
        self,
        video,
        init_box,
        channels_first: Optional[bool] = None,
        progress: bool = False,
        values_checked: bool = False,
    ) -> TrackResult:
        """``video``: a tensor, or a source read a window at a time (``TensorFrames``' calls, e.g. the
        attack's ``PatchedVideo``, whose pixels its maker has checked). ``values_checked``: the caller has
        refused NaN/inf pixels already (one pass over the video less)."""
        video, box = self._prepare(video, init_box, channels_first, values_checked)
        if not (torch.is_grad_enabled() and self.batched(video.device)):
            return self._sequential(video, box, progress)[0]
        with torch.no_grad():
            trace = self._sequential(video, box, progress)[1]
        return self._replay(video, box, trace)

    def _prepare(self, video, init_box, channels_first: Optional[bool] = None, values_checked: bool = False):
        """(frames, box) checked and in the frames' dtype and device (``track``'s arguments)."""
        if not hasattr(video, "first_frame_mean"):
            video = TensorFrames(check_video(video, channels_first, check_values=not values_checked))
        box = check_box(init_box, video.height, video.width).to(dtype=video.dtype, device=video.device)
        return video, box

    def _start(self, video, box):
        """Frame 0: (centre, size, fill colour, template features, boxes and scores so far)."""
        center = torch.stack([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])
        size = torch.stack([box[2] - box[0], box[3] - box[1]])
        fill = video.first_frame_mean()
        z_f = self.template_features(video.frame(0), center, size, fill)
        boxes, scores = [], []
        if not self.tracking.track_first_frame:  # frame 0 returns the given box
            boxes, scores = [box], [torch.ones((), dtype=video.dtype, device=video.device)]
        return center, size, fill, z_f, boxes, scores

    def template_features(self, frame, center, size, fill) -> torch.Tensor:
        """Template features of the box (``center``, ``size``) in ``frame``, cropped as frame 0's template is."""
        s_z, _ = self._search_scale(size)
        # whole-pixel geometries snap the template's side themselves (pysot rounds it, the reference truncates)
        side = s_z.detach() if fixed_position(self.tracking.crop) else torch.round(s_z.detach())
        z_crop = crop_square(frame, center, side, self.model.config.exemplar_size, fill, self.tracking.crop)
        return self.model.template_features(self._input(z_crop))

    def _search_window(self, size, center):
        s_z, scale_z = self._search_scale(size)
        s_x = s_z * (self.tracking.instance_size / self.model.config.exemplar_size)
        return crop_window(center, s_x, self.tracking.crop), scale_z

    def _sequential(self, video, box, progress: bool) -> Tuple[TrackResult, Trace]:
        """Track frame by frame (with the graph when gradients are enabled), recording the ``Trace``."""
        center, size, fill, z_f, boxes, scores = self._start(video, box)
        trace = Trace()
        for t in tqdm(range(len(boxes), video.num_frames), desc="tracking", unit="frame", disable=not progress):
            (win_center, win_side), (center, size, score, best) = self._step(video, t, z_f, center, size, fill)
            trace.windows.append((win_center.detach(), win_side.detach() if torch.is_tensor(win_side) else win_side))
            trace.anchors.append(best)
            boxes.append(_corners(center, size))
            scores.append(score)
        return TrackResult(torch.stack(boxes), torch.stack(scores)), trace

    def _step(self, video, t: int, z_f, center, size, fill):
        """Frame ``t`` searched around the previous box: (search window, (centre, size, score, anchor))."""
        (win_center, win_side), scale_z = self._search_window(size, center)
        x_crop = crop_subwindow(video.frame(t), win_center, win_side, self.tracking.instance_size, fill)
        cls, loc = self._network(z_f, self._input(x_crop))
        return (win_center, win_side), self._update(video, center, size, scale_z, cls, loc)

    def _replay(self, video, box, trace: Trace) -> TrackResult:
        """The batched gradient: every traced window's crop through the network in batches, then the box
        recurrence with the traced anchors."""
        center, size, fill, z_f, boxes, scores = self._start(video, box)
        tracked = range(len(boxes), video.num_frames)  # the frames _sequential tracked, in its order
        crops = [
            crop_subwindow(video.frame(t), c, s, self.tracking.instance_size, fill)
            for t, (c, s) in zip(tracked, trace.windows)
        ]
        outputs = []
        for i in range(0, len(crops), self.batch_frames):
            cls, loc = self._network(z_f, self._input(torch.cat(crops[i : i + self.batch_frames])))
            outputs.extend(zip(cls.split(1), loc.split(1)))
        for (cls, loc), best in zip(outputs, trace.anchors):
            _, scale_z = self._search_scale(size)
            center, size, score, _ = self._update(video, center, size, scale_z, cls, loc, best)
            boxes.append(_corners(center, size))
            scores.append(score)
        return TrackResult(torch.stack(boxes), torch.stack(scores))

    def _update(self, video, center, size, scale_z, cls, loc, best: Optional[int] = None):
        """pysot's box update from one frame's RPN maps: (centre, size, chosen score, chosen anchor);
        ``best`` given: that anchor instead of the argmax."""
        cfg = self.tracking
        anchors, window = self._grids(video.device, video.dtype)
        score = foreground_scores(cls)
        pred = decode_deltas(loc, anchors)
        s_c = _change(_padded_size(pred[:, 2], pred[:, 3]) / _padded_size(size[0] * scale_z, size[1] * scale_z))
        r_c = _change((size[0] / size[1]) / (pred[:, 2] / pred[:, 3]))
        penalty = torch.exp(-(r_c * s_c - 1) * cfg.penalty_k)
        if best is None:
            best = best_anchor(penalty * score, window, cfg.window_influence)
        delta = pred[best] / scale_z
        rate = penalty[best] * score[best] * cfg.lr
        cx = (center[0] + delta[0]).clamp(0, video.width)
        cy = (center[1] + delta[1]).clamp(0, video.height)
        w = (size[0] * (1 - rate) + delta[2] * rate).clamp(MIN_SIZE, video.width)
        h = (size[1] * (1 - rate) + delta[3] * rate).clamp(MIN_SIZE, video.height)
        return torch.stack([cx, cy]), torch.stack([w, h]), score[best], best


def _corners(center, size) -> torch.Tensor:
    return torch.stack(
        [center[0] - size[0] / 2, center[1] - size[1] / 2, center[0] + size[0] / 2, center[1] + size[1] / 2]
    )
