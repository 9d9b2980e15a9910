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


def mean_position(keypoints: np.ndarray, visibility: np.ndarray) -> np.ndarray:
    """(17, 2) each keypoint's mean position over the samples where it is visible (the crop's centre where
    it never is): the prior that knows where keypoints usually are and nothing of the image."""
    seen = (visibility > 0)[..., None]
    counts = seen.sum(axis=0)
    sums = np.where(seen, keypoints, 0.0).sum(axis=0)
    return np.where(counts > 0, sums / np.maximum(counts, 1), 63.0)


def _scores(pred, keypoints, visibility, boxes, alpha) -> dict:
    visible = visibility > 0
    error = np.linalg.norm(pred - keypoints, axis=-1)
    scale = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])[:, None]
    return {"pck": float((error <= alpha * scale)[visible].mean() * 100), "pixel_error": float(error[visible].mean())}


@torch.no_grad()
def keypoint_accuracy(model, tracks: Sequence[Track], pairs: int = 64, seed: int = 0, alpha: float = PCK_ALPHA) -> dict:
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
    prior = mean_position(keypoints, visibility)
    chance = rng.uniform(0, logits.shape[-1], keypoints.shape)
    return {
        "head": _scores(heatmap_peaks(logits), keypoints, visibility, boxes, alpha),
        "uniform_chance": _scores(chance, keypoints, visibility, boxes, alpha),
        "mean_position_prior": _scores(np.broadcast_to(prior, keypoints.shape), keypoints, visibility, boxes, alpha),
        "pairs": pairs,
        "visible_keypoints": int((visibility > 0).sum()),
        "alpha": alpha,
    }


@torch.no_grad()
def pose_dataset_accuracy(model, root, alpha: float = PCK_ALPHA, batch: int = 16) -> dict:
    """PCK@alpha and mean pixel error of the keypoint head on real people of other pose datasets
    (``data.pose_stills``: the 12 limb joints, each dataset in its own format), per dataset and overall, next
    to the mean-position prior (from the evaluated ground truth itself) and uniform chance. Each person's
    template is cut as the tracker cuts it (``training.pairs.template_view``: no jitter)."""
    from armory_siammtl.data.pose_stills import pose_stills
    from armory_siammtl.data.video import read_rgb
    from armory_siammtl.training.pairs import template_view

    if model.kpt_head is None:
        raise ValueError("this model has no keypoint head (an STL model): nothing to evaluate")
    people, left_out = pose_stills(root)
    views = [template_view(read_rgb(p.image), p.box, p.keypoints) for p in people]
    keypoints = np.stack([v[1] for v in views])
    visibility = np.stack([v[2] for v in views])
    boxes = np.stack([v[3] for v in views])
    model.eval()
    peaks = []
    for start in range(0, len(views), batch):
        crops = torch.stack([v[0] for v in views[start : start + batch]])
        peaks.append(heatmap_peaks(model.kpt_head(model.template_features(to_model_input(crops)))))
    pred = np.concatenate(peaks)
    prior = np.broadcast_to(mean_position(keypoints, visibility), keypoints.shape)
    chance = np.random.default_rng(0).uniform(0, 127, keypoints.shape)
    datasets = np.array([p.dataset for p in people])

    def table(rows):
        return {
            "head": _scores(pred[rows], keypoints[rows], visibility[rows], boxes[rows], alpha),
            "mean_position_prior": _scores(prior[rows], keypoints[rows], visibility[rows], boxes[rows], alpha),
            "uniform_chance": _scores(chance[rows], keypoints[rows], visibility[rows], boxes[rows], alpha),
            "people": int(rows.sum()),
            "visible_keypoints": int((visibility[rows] > 0).sum()),
        }

    return {
        "overall": table(np.ones(len(people), bool)),
        "per_dataset": {name: table(datasets == name) for name in dict.fromkeys(datasets)},
        "left_out": left_out,
        "alpha": alpha,
        "joints": "the 12 limb joints (COCO 5-16)",
    }


def pose_markdown(result: dict) -> str:
    """``pose_dataset_accuracy``'s result as a table: PCK and mean error of the head and the prior."""
    lines = [
        f"PCK@{result['alpha']:g} (of the box's longer side) and mean error in 127x127 template pixels, "
        f"{result['joints']}",
        "",
        "| dataset | people | keypoints | head PCK | prior PCK | chance PCK | head error px | prior error px |",
        "|---|---|---|---|---|---|---|---|",
    ]
    rows = [*result["per_dataset"].items(), ("**overall**", result["overall"])]
    for name, row in rows:
        lines.append(
            f"| {name} | {row['people']} | {row['visible_keypoints']} | {row['head']['pck']:.1f} | "
            f"{row['mean_position_prior']['pck']:.1f} | {row['uniform_chance']['pck']:.1f} | "
            f"{row['head']['pixel_error']:.1f} | {row['mean_position_prior']['pixel_error']:.1f} |"
        )
    skipped = {k: v for k, v in result["left_out"].items() if v}
    if skipped:
        lines += ["", "left out: " + "; ".join(f"{k}: {v}" for k, v in skipped.items())]
    return "\n".join(lines) + "\n"
