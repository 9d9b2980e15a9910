"""Template/search training pairs cut from tracking videos, with pysot-style shift/scale/colour jitter."""

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from armory_siammtl.tracking.crop import crop_subwindow


@dataclass
class Augment:
    """pysot's defaults: template shift 4 / scale 0.05, search shift 64 / scale 0.18; 20% negative pairs;
    ``blur``: the probability of a Gaussian blur of the search crop (the reference recipe's 0.2);
    ``lowres``: the probability that both crops are seen at a lower resolution (scaled down by a factor in
    [0.3, 1] and back up), as a small person in a low-resolution video is; ``motion_blur``: the probability
    of a linear motion blur (3 to 9 px, any direction) of the search crop; ``jpeg``: the probability that
    both crops carry JPEG artefacts (quality 20 to 70), as compressed real video does."""

    template_shift: float = 4
    template_scale: float = 0.05
    search_shift: float = 64
    search_scale: float = 0.18
    colour: float = 0.1
    negative: float = 0.2
    frame_range: int = 20
    blur: float = 0.0
    lowres: float = 0.0
    motion_blur: float = 0.0
    jpeg: float = 0.0

    def __post_init__(self):
        for name in ("colour", "negative", "blur", "lowres", "motion_blur", "jpeg"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"augmentation {name} must lie in [0, 1], got {getattr(self, name)!r}")


def context_size(box, context_amount=0.5):
    w, h = box[2] - box[0], box[3] - box[1]
    ctx = context_amount * (w + h)
    return float(np.sqrt((w + ctx) * (h + ctx)))


def _crop(frame_u8, center, size, out_size):
    frame = torch.from_numpy(frame_u8).permute(2, 0, 1).float() / 255.0
    fill = frame.mean(dim=(1, 2))
    crop = crop_subwindow(frame, torch.tensor(center, dtype=torch.float32), float(size), out_size, fill)
    return crop[0]


def _blur(image: torch.Tensor, sigma: float) -> torch.Tensor:
    """(3, H, W) image blurred by a separable Gaussian of ``sigma`` pixels (edges replicated)."""
    radius = max(1, int(round(2 * sigma)))
    offsets = torch.arange(-radius, radius + 1, dtype=image.dtype)
    kernel = torch.exp(-offsets ** 2 / (2 * sigma ** 2))
    kernel = kernel / kernel.sum()
    padded = F.pad(image[None], (radius, radius, radius, radius), mode="replicate")
    rows = F.conv2d(padded, kernel.view(1, 1, 1, -1).repeat(3, 1, 1, 1), groups=3)
    return F.conv2d(rows, kernel.view(1, 1, -1, 1).repeat(3, 1, 1, 1), groups=3)[0]


def _motion_blur(image: torch.Tensor, length: int, angle: float) -> torch.Tensor:
    """(3, H, W) image smeared along a ``length``-pixel line at ``angle`` radians (edges replicated)."""
    radius = length // 2
    kernel = torch.zeros(2 * radius + 1, 2 * radius + 1, dtype=image.dtype)
    for t in np.linspace(-radius, radius, 4 * length):
        kernel[int(round(radius + t * np.sin(angle))), int(round(radius + t * np.cos(angle)))] = 1.0
    kernel = (kernel / kernel.sum()).expand(3, 1, -1, -1)
    padded = F.pad(image[None], (radius, radius, radius, radius), mode="replicate")
    return F.conv2d(padded, kernel, groups=3)[0]


def _jpeg(image: torch.Tensor, quality: int) -> torch.Tensor:
    """(3, H, W) image in [0, 1] through a JPEG encode and decode at ``quality``."""
    import cv2

    pixels = np.ascontiguousarray((image.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8))
    ok, encoded = cv2.imencode(".jpg", pixels, [int(cv2.IMWRITE_JPEG_QUALITY), int(quality)])
    if not ok:
        raise RuntimeError("OpenCV could not JPEG-encode a training crop")
    decoded = cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED)
    return torch.from_numpy(decoded).permute(2, 0, 1).to(image.dtype) / 255.0


def _lower_resolution(image: torch.Tensor, factor: float) -> torch.Tensor:
    """(3, H, W) image scaled down by ``factor`` (area average) and back up (bilinear)."""
    size = image.shape[-2:]
    small = F.interpolate(image[None], scale_factor=factor, mode="area")
    return F.interpolate(small, size=size, mode="bilinear", align_corners=False)[0]


def template_view(frame_u8: np.ndarray, box, keypoints=None, shift=(0.0, 0.0), scale: float = 1.0,
                  exemplar: int = 127):
    """The template crop of ``box`` in ``frame_u8`` as the tracker cuts it (context 0.5, ``exemplar`` pixels),
    its side times ``scale`` and its centre moved by ``shift`` crop pixels: (RGB crop in [0, 1], keypoints
    (17, 2) in crop pixels, their visibility (zero where absent or outside the crop), the box in crop pixels)."""
    box = np.asarray(box, np.float64)
    s_z = context_size(box) * scale
    c_z = (box[:2] + box[2:]) / 2 + np.asarray(shift, np.float64) * s_z / exemplar
    crop = _crop(frame_u8, c_z, s_z, exemplar)
    points, visibility = np.zeros((17, 2), np.float32), np.zeros(17, np.float32)
    if keypoints is not None:
        points = ((keypoints[:, :2] - (c_z - s_z / 2)) * exemplar / s_z).astype(np.float32)
        inside = ((points >= 0) & (points < exemplar)).all(axis=1)
        visibility = np.where(inside, keypoints[:, 2], 0).astype(np.float32)
    crop_box = ((box - np.r_[c_z - s_z / 2, c_z - s_z / 2]) * exemplar / s_z).astype(np.float32)
    return crop, points, visibility, crop_box


def sample_pair(tracks: Sequence, rng: np.random.Generator, aug: Augment = Augment(),
                exemplar: int = 127, search: int = 255) -> dict:
    """One pair from ``tracks`` (``data.track.Track`` or ``DiskTrack``; a frame is read only when cut): RGB
    crops in [0, 1], the search box in crop pixels (or None for a negative pair), template keypoints in crop
    pixels with visibility (zero where absent or outside the crop), and the template's box in crop pixels."""
    k = int(rng.integers(len(tracks)))
    track = tracks[k]
    i = int(rng.integers(len(track)))
    negative = rng.uniform() < aug.negative and len(tracks) > 1
    if negative:
        other = tracks[(k + 1 + int(rng.integers(len(tracks) - 1))) % len(tracks)]
        j_track, j = other, int(rng.integers(len(other)))
    else:
        j_track = track
        j = int(np.clip(i + rng.integers(-aug.frame_range, aug.frame_range + 1), 0, len(track) - 1))

    box_z = track.boxes[i].astype(np.float64)
    scale = 1 + rng.uniform(-aug.template_scale, aug.template_scale)
    shift = rng.uniform(-aug.template_shift, aug.template_shift, 2)
    keypoints_z = track.keypoints[i] if track.keypoints is not None else None
    template, keypoints, visibility, template_box = template_view(track.frame(i), box_z, keypoints_z, shift, scale,
                                                                 exemplar)

    box_x = j_track.boxes[j].astype(np.float64)
    s_x = context_size(box_x) * search / exemplar * (1 + rng.uniform(-aug.search_scale, aug.search_scale))
    c_x = (box_x[:2] + box_x[2:]) / 2 + rng.uniform(-aug.search_shift, aug.search_shift, 2) * s_x / search
    search_crop = _crop(j_track.frame(j), c_x, s_x, search)
    target = None
    if not negative:
        origin = np.r_[c_x - s_x / 2, c_x - s_x / 2]
        target = ((box_x - origin) * search / s_x).astype(np.float32)

    if aug.lowres and rng.uniform() < aug.lowres:
        factor = float(rng.uniform(0.3, 1.0))
        template, search_crop = _lower_resolution(template, factor), _lower_resolution(search_crop, factor)
    if aug.blur and rng.uniform() < aug.blur:
        search_crop = _blur(search_crop, float(rng.uniform(0.5, 1.5)))
    if aug.motion_blur and rng.uniform() < aug.motion_blur:
        search_crop = _motion_blur(search_crop, int(rng.integers(3, 10)), float(rng.uniform(0, np.pi)))
    if aug.jpeg and rng.uniform() < aug.jpeg:
        quality = int(rng.integers(20, 71))
        template, search_crop = _jpeg(template, quality), _jpeg(search_crop, quality)
    gain = 1 + rng.uniform(-aug.colour, aug.colour, 3).astype(np.float32)
    template = (template * torch.from_numpy(gain).view(3, 1, 1)).clamp(0, 1)
    search_crop = (search_crop * torch.from_numpy(gain).view(3, 1, 1)).clamp(0, 1)
    return {"template": template, "search": search_crop, "box": target, "keypoints": keypoints,
            "visibility": visibility, "template_box": template_box}
