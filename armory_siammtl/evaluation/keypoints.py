"""How well the keypoint head localises the 17 keypoints in template crops: PCK and pixel error, next to
two baselines: chance (uniform random points in the crop) and a prior that puts every keypoint at its mean
position (taken from the evaluated ground truth itself, so a strong baseline)."""

from typing import Sequence

import numpy as np
import torch

from armory_siammtl.data.track import Track
from armory_siammtl.models.siamrpn import to_model_input
from armory_siammtl.training.pairs import Augment, sample_pair

PCK_ALPHA = 0.1  # a keypoint is correct within 0.1 x the longer side of the person's box


def heatmap_peaks(logits: torch.Tensor) -> np.ndarray:
    """(B, 17, H, W) heatmap logits -> (B, 17, 2) x, y of each channel's maximum."""
    batch, channels, _, width = logits.shape
    index = logits.flatten(2).argmax(dim=2)
    return torch.stack([index % width, torch.div(index, width, rounding_mode="floor")], dim=-1).float().cpu().numpy()


def _scores(pred, keypoints, visibility, boxes, alpha) -> dict:
    visible = visibility > 0
    error = np.linalg.norm(pred - keypoints, axis=-1)
    scale = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])[:, None]
    return {"pck": float((error <= alpha * scale)[visible].mean() * 100),
            "pixel_error": float(error[visible].mean())}


@torch.no_grad()
def keypoint_accuracy(model, tracks: Sequence[Track], pairs: int = 64, seed: int = 0,
                      alpha: float = PCK_ALPHA) -> dict:
    """PCK@alpha (%) and mean pixel error (127x127 crop pixels) over visible keypoints of ``pairs`` template
    crops from ``tracks``, for the model's head, uniform chance and the mean-position prior."""
    if model.kpt_head is None:
        raise ValueError("this model has no keypoint head (an STL model): nothing to evaluate")
    if not any(t.keypoints is not None for t in tracks):
        raise ValueError("the evaluation tracks carry no keypoints")
    rng = np.random.default_rng(seed)
    no_jitter = Augment(colour=0.0, negative=0.0)
    samples = [sample_pair(tracks, rng, no_jitter) for _ in range(pairs)]
    keypoints = np.stack([s["keypoints"] for s in samples])
    visibility = np.stack([s["visibility"] for s in samples])
    boxes = np.stack([s["template_box"] for s in samples])
    if not (visibility > 0).any():
        raise ValueError("no visible keypoint in the sampled templates")
    model.eval()
    logits = model.kpt_head(model.template_features(to_model_input(torch.stack([s["template"] for s in samples]))))
    prior = np.nanmean(np.where(visibility[..., None] > 0, keypoints, np.nan), axis=0)  # (17, 2)
    prior = np.where(np.isnan(prior), 63.0, prior)
    chance = rng.uniform(0, logits.shape[-1], keypoints.shape)
    return {"head": _scores(heatmap_peaks(logits), keypoints, visibility, boxes, alpha),
            "uniform_chance": _scores(chance, keypoints, visibility, boxes, alpha),
            "mean_position_prior": _scores(np.broadcast_to(prior, keypoints.shape), keypoints, visibility, boxes,
                                           alpha),
            "pairs": pairs, "visible_keypoints": int((visibility > 0).sum()), "alpha": alpha}
