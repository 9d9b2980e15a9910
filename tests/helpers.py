"""Small models and clips the tests share."""

from pathlib import Path

import numpy as np
import pytest
import torch

from armory_siammtl.models import SiamRPN, SiamRPNConfig

SHARED = Path(__file__).resolve().parents[2] / "shared"
BAG_VIDEO = SHARED / "data" / "pysot-demo" / "bag.avi"


def calibrated_model(kpt_head=None, seed: int = 0, dtype=torch.float32, **config) -> SiamRPN:
    """A seeded SiamRPN whose batch-norm statistics are fitted to random 0-255 inputs, so its
    activations stay in a sane range without trained weights."""
    torch.manual_seed(seed)
    model = SiamRPN(SiamRPNConfig(kpt_head=kpt_head, **config))
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = None  # cumulative average
    model.train()
    with torch.no_grad():
        for _ in range(2):
            model(torch.rand(2, 3, 127, 127) * 255, torch.rand(2, 3, model.config.instance_size,
                                                              model.config.instance_size) * 255)
    return model.eval().to(dtype)


def moving_block_clip(num_frames=4, height=96, width=128, seed=0):
    """A textured background with a coloured block moving right; returns (video (T,H,W,3), boxes (T,4))."""
    rng = np.random.default_rng(seed)
    background = rng.uniform(0.2, 0.8, (height, width, 3)).astype(np.float32)
    block = np.clip(np.array([0.9, 0.2, 0.1]) + rng.normal(0, 0.05, (32, 20, 3)), 0, 1)  # textured: no ties
    video, boxes = [], []
    for t in range(num_frames):
        frame = background.copy()
        x1, y1 = 30 + 4 * t, 30
        frame[y1:y1 + 32, x1:x1 + 20] = block
        video.append(frame)
        boxes.append([x1, y1, x1 + 20, y1 + 32])
    return np.stack(video), np.asarray(boxes, dtype=np.float32)


def bag_video(max_frames=None):
    if not BAG_VIDEO.is_file():
        pytest.skip(f"real video {BAG_VIDEO} is absent (a fresh clone has no ../shared/)")
    from armory_siammtl.data.video import read_video
    return read_video(BAG_VIDEO, max_frames=max_frames)
