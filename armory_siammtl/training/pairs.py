"""Template/search training pairs cut from tracking videos, with pysot-style shift/scale/colour jitter."""

from dataclasses import dataclass
from typing import Optional, Sequence

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
    both crops carry JPEG artefacts (quality 20 to 70), as compressed real video does.

    The reference recipe's choices: ``affine="anisotropic"`` (the crops scaled by independent x and y factors
    and shifted by whole pixels, as its imgaug Affine did; "isotropic": one factor, sub-pixel shifts),
    ``blur_kernel="cross"`` (pysot's 7-pixel cross-shaped kernel; "gaussian": ours) and ``pca_colour``
    (the probability of pysot's PCA colour offset, after which each channel is moved to start at 0, as its
    code did)."""

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
    affine: str = "isotropic"
    blur_kernel: str = "gaussian"
    pca_colour: float = 0.0

    def __post_init__(self):
        for name in ("colour", "negative", "blur", "lowres", "motion_blur", "jpeg", "pca_colour"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"augmentation {name} must lie in [0, 1], got {getattr(self, name)!r}")
        if self.affine not in ("isotropic", "anisotropic") or self.blur_kernel not in ("gaussian", "cross"):
            raise ValueError(
                f"augmentation affine must be isotropic/anisotropic and blur_kernel gaussian/cross, "
                f"got {self.affine!r}, {self.blur_kernel!r}"
            )

    @classmethod
    def none(cls) -> "Augment":
        """No jitter at all (the reference's validation pairs)."""
        return cls(template_shift=0, template_scale=0, search_shift=0, search_scale=0, colour=0, negative=0)


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
    kernel = torch.exp(-(offsets**2) / (2 * sigma**2))
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


def _cross_blur(image: torch.Tensor, weight: float, size: int = 7) -> torch.Tensor:
    """pysot's blur: a ``size``-pixel cross-shaped kernel, ``weight`` on its column and the rest on its row."""
    kernel = torch.zeros(size, size, dtype=image.dtype)
    kernel[:, size // 2] += weight / size
    kernel[size // 2, :] += (1 - weight) / size
    pad = size // 2
    padded = F.pad(image[None], (pad, pad, pad, pad), mode="replicate")
    return F.conv2d(padded, kernel.expand(3, 1, -1, -1), groups=3)[0]


PCA_RGB = np.array(
    [
        [-0.55919361, 0.98062831, -0.41940627],
        [1.72091413, 0.19879334, -1.82968581],
        [4.64467907, 4.73710203, 4.88324118],
    ],
    np.float32,
)  # pysot's colour eigenvectors x values


def _pca_colour(image: torch.Tensor, normal: np.ndarray) -> torch.Tensor:
    """pysot's colour offset (``PCA_RGB @ normal`` in 0-255 units) subtracted, then each channel moved to
    start at 0 (the reference code's renormalisation, clipped to 255)."""
    shifted = image * 255.0 - torch.from_numpy(PCA_RGB @ normal).view(3, 1, 1)
    low = shifted.amin(dim=(1, 2), keepdim=True)
    return ((shifted - low).clamp(0, 255) / 255.0).to(image.dtype)


def _crop_rect(frame_u8: np.ndarray, center, width: float, height: float, out_size: int) -> torch.Tensor:
    """An ``width`` x ``height`` window around ``center`` resampled to ``out_size`` square pixels (bilinear,
    half-pixel centres; outside the frame: its mean colour): the anisotropic crop."""
    frame = torch.from_numpy(frame_u8).permute(2, 0, 1).float() / 255.0
    rows, cols = frame.shape[1:]
    steps = (torch.arange(out_size, dtype=torch.float32) + 0.5) / out_size - 0.5
    xs = (float(center[0]) + steps * width + 0.5) * 2 / cols - 1
    ys = (float(center[1]) + steps * height + 0.5) * 2 / rows - 1
    grid = torch.stack(torch.meshgrid(ys, xs, indexing="ij")[::-1], dim=-1)[None]
    sampled = F.grid_sample(torch.cat([frame, torch.ones(1, rows, cols)])[None], grid, align_corners=False)[0]
    return sampled[:3] + (1 - sampled[3:]) * frame.mean(dim=(1, 2)).view(3, 1, 1)


def _lower_resolution(image: torch.Tensor, factor: float) -> torch.Tensor:
    """(3, H, W) image scaled down by ``factor`` (area average) and back up (bilinear)."""
    size = image.shape[-2:]
    small = F.interpolate(image[None], scale_factor=factor, mode="area")
    return F.interpolate(small, size=size, mode="bilinear", align_corners=False)[0]


def _view(frame_u8: np.ndarray, center, side: float, scale_xy, exemplar: int) -> torch.Tensor:
    """A square crop of ``side`` around ``center`` (the tracker's geometry), or, with two different scale
    factors, the anisotropic rectangle ``side / scale`` (the reference's affine zoom)."""
    if scale_xy[0] == scale_xy[1]:
        return _crop(frame_u8, center, side / scale_xy[0], exemplar)
    return _crop_rect(frame_u8, center, side / scale_xy[0], side / scale_xy[1], exemplar)


def template_view(
    frame_u8: np.ndarray, box, keypoints=None, shift=(0.0, 0.0), scale: float = 1.0, exemplar: int = 127, scale_xy=None
):
    """The template crop of ``box`` in ``frame_u8`` as the tracker cuts it (context 0.5, ``exemplar`` pixels),
    its side times ``scale`` (or, given ``scale_xy``, zoomed by independent x and y factors) and its centre
    moved by ``shift`` crop pixels: (RGB crop in [0, 1], keypoints (17, 2) in crop pixels, their visibility
    (zero where absent or outside the crop), the box in crop pixels)."""
    box = np.asarray(box, np.float64)
    s_z = context_size(box) * (scale if scale_xy is None else 1.0)
    zoom = np.array(scale_xy if scale_xy is not None else (1.0, 1.0), np.float64)
    c_z = (box[:2] + box[2:]) / 2 + np.asarray(shift, np.float64) * s_z / exemplar
    crop = _view(frame_u8, c_z, s_z, zoom, exemplar)
    size = s_z / zoom  # the window's (width, height) in frame pixels
    origin = c_z - size / 2
    points, visibility = np.zeros((17, 2), np.float32), np.zeros(17, np.float32)
    if keypoints is not None:
        points = ((keypoints[:, :2] - origin) * exemplar / size).astype(np.float32)
        inside = ((points >= 0) & (points < exemplar)).all(axis=1)
        visibility = np.where(inside, keypoints[:, 2], 0).astype(np.float32)
    crop_box = ((box - np.r_[origin, origin]) * exemplar / np.r_[size, size]).astype(np.float32)
    return crop, points, visibility, crop_box


def sample_pair(
    tracks: Sequence,
    rng: np.random.Generator,
    aug: Optional[Augment] = None,
    exemplar: int = 127,
    search: int = 255,
    item=None,
    template: str = "random",
) -> dict:
    """One pair from ``tracks`` (``data.track.Track`` or ``DiskTrack``; a frame is read only when cut): RGB
    crops in [0, 1], the search box in crop pixels (or None for a negative pair), template keypoints in crop
    pixels with visibility (zero where absent or outside the crop), and the template's box in crop pixels.

    Without ``item`` a track and a template frame are drawn, and the search frame within ``frame_range`` of
    it (the package's sampling). With ``item`` = (track, frame) that frame is the search frame and the
    template is drawn within ``frame_range`` of it (``template="random"``) or is the frame before it
    (``"previous"``): the reference's item-based sampling (no negative pairs). ``aug``: default ``Augment()``."""
    aug = Augment() if aug is None else aug
    if item is None:
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
    else:
        k, j = item
        track = j_track = tracks[k]
        negative = False
        if template == "previous":
            i = max(j - 1, 0)
        else:
            i = int(rng.integers(max(0, j - aug.frame_range), min(len(track) - 1, j + aug.frame_range) + 1))

    anisotropic = aug.affine == "anisotropic"
    box_z = track.boxes[i].astype(np.float64)
    keypoints_z = track.keypoints[i] if track.keypoints is not None else None
    if anisotropic:
        zoom = 1 + rng.uniform(-aug.template_scale, aug.template_scale, 2)
        shift = np.round(rng.uniform(-aug.template_shift, aug.template_shift, 2))
        template_crop, keypoints, visibility, template_box = template_view(
            track.frame(i), box_z, keypoints_z, shift, exemplar=exemplar, scale_xy=zoom
        )
    else:
        scale = 1 + rng.uniform(-aug.template_scale, aug.template_scale)
        shift = rng.uniform(-aug.template_shift, aug.template_shift, 2)
        template_crop, keypoints, visibility, template_box = template_view(
            track.frame(i), box_z, keypoints_z, shift, scale, exemplar
        )

    box_x = j_track.boxes[j].astype(np.float64)
    s_x = context_size(box_x) * search / exemplar
    if anisotropic:
        zoom = 1 + rng.uniform(-aug.search_scale, aug.search_scale, 2)
        c_x = (box_x[:2] + box_x[2:]) / 2 + np.round(rng.uniform(-aug.search_shift, aug.search_shift, 2)) * s_x / search
    else:
        s_x *= 1 + rng.uniform(-aug.search_scale, aug.search_scale)
        zoom = np.ones(2)
        c_x = (box_x[:2] + box_x[2:]) / 2 + rng.uniform(-aug.search_shift, aug.search_shift, 2) * s_x / search
    search_crop = _view(j_track.frame(j), c_x, s_x, zoom, search)
    target = None
    if not negative:
        size = s_x / zoom
        origin = c_x - size / 2
        target = ((box_x - np.r_[origin, origin]) * search / np.r_[size, size]).astype(np.float32)

    if aug.lowres and rng.uniform() < aug.lowres:
        factor = float(rng.uniform(0.3, 1.0))
        template_crop, search_crop = _lower_resolution(template_crop, factor), _lower_resolution(search_crop, factor)
    if aug.pca_colour and rng.uniform() < aug.pca_colour:
        template_crop = _pca_colour(template_crop, rng.standard_normal(3).astype(np.float32))
        search_crop = _pca_colour(search_crop, rng.standard_normal(3).astype(np.float32))
    if aug.blur and rng.uniform() < aug.blur:
        search_crop = (
            _cross_blur(search_crop, float(rng.uniform()))
            if aug.blur_kernel == "cross"
            else _blur(search_crop, float(rng.uniform(0.5, 1.5)))
        )
    if aug.motion_blur and rng.uniform() < aug.motion_blur:
        search_crop = _motion_blur(search_crop, int(rng.integers(3, 10)), float(rng.uniform(0, np.pi)))
    if aug.jpeg and rng.uniform() < aug.jpeg:
        quality = int(rng.integers(20, 71))
        template_crop, search_crop = _jpeg(template_crop, quality), _jpeg(search_crop, quality)
    gain = 1 + rng.uniform(-aug.colour, aug.colour, 3).astype(np.float32)
    template_crop = (template_crop * torch.from_numpy(gain).view(3, 1, 1)).clamp(0, 1)
    search_crop = (search_crop * torch.from_numpy(gain).view(3, 1, 1)).clamp(0, 1)
    return {
        "template": template_crop,
        "search": search_crop,
        "box": target,
        "keypoints": keypoints,
        "visibility": visibility,
        "template_box": template_box,
    }
