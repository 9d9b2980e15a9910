"""Small models and clips the tests share."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from art.estimators.estimator import BaseEstimator, LossGradientsMixin
from art.estimators.object_tracking.object_tracker import ObjectTrackerMixin

from armory_siammtl.models import NetworkConfig, SiamRPN

SHARED = Path(__file__).resolve().parents[2] / "shared"
BAG_VIDEO = SHARED / "data" / "pysot-demo" / "bag.avi"


def calibrated_model(head=None, seed: int = 0, dtype=torch.float32, instance_size: int = 255, **config) -> SiamRPN:
    """A seeded SiamRPN whose batch-norm statistics are fitted to random 0-255 inputs (search crops of
    ``instance_size``), so its activations stay in a sane range without trained weights."""
    torch.manual_seed(seed)
    model = SiamRPN(NetworkConfig(head=head, **config))
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = None  # cumulative average
    model.train()
    with torch.no_grad():
        for _ in range(2):
            model(torch.rand(2, 3, 127, 127) * 255, torch.rand(2, 3, instance_size, instance_size) * 255)
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
        frame[y1 : y1 + 32, x1 : x1 + 20] = block
        video.append(frame)
        boxes.append([x1, y1, x1 + 20, y1 + 32])
    return np.stack(video), np.asarray(boxes, dtype=np.float32)


def bag_video(max_frames=None):
    if not BAG_VIDEO.is_file():
        pytest.skip(f"real video {BAG_VIDEO} is absent (a fresh clone has no ../shared/)")
    from armory_siammtl.data.video import read_video

    return read_video(BAG_VIDEO, max_frames=max_frames)


def write_frames(folder, count, size=(60, 80)):
    """``count`` random JPEG frames 0001.jpg ... in ``folder``."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        cv2.imwrite(str(folder / f"{i + 1:04d}.jpg"), rng.integers(0, 255, (*size, 3), dtype=np.uint8))


def write_lasot_fixture(root):
    """root/person/person-3: 6 frames, x,y,w,h boxes, frame 3 fully occluded."""
    seq = root / "person" / "person-3"
    write_frames(seq / "img", 6)
    (seq / "groundtruth.txt").write_text("".join(f"{i},{i},10,20\n" for i in range(6)))
    (seq / "full_occlusion.txt").write_text("0,0,1,0,0,0")
    return seq


def write_coco_fixture(root):
    """root/images/000000000001.jpg and root/ann.json: one person with 10 visible keypoints, one without."""
    write_frames(root / "images", 1, size=(120, 160))
    (root / "images" / "0001.jpg").rename(root / "images" / "000000000001.jpg")
    keypoints = [v for k in range(17) for v in (50 + k, 40 + k, 2 if k < 10 else 0)]
    annotations = {
        "images": [{"id": 1, "file_name": "000000000001.jpg", "height": 120, "width": 160}],
        "categories": [{"id": 1, "name": "person", "keypoints": [], "skeleton": []}],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "bbox": [40, 30, 50, 70],
                "area": 3500,
                "iscrowd": 0,
                "num_keypoints": 10,
                "keypoints": keypoints,
            },
            {
                "id": 2,
                "image_id": 1,
                "category_id": 1,
                "bbox": [0, 0, 50, 50],
                "area": 2500,
                "iscrowd": 0,
                "num_keypoints": 2,
                "keypoints": [0] * 51,
            },
        ],
    }
    (root / "ann.json").write_text(json.dumps(annotations))
    return root / "ann.json"


class SmoothTracker(ObjectTrackerMixin, LossGradientsMixin, BaseEstimator):
    """A stand-in object tracker whose boxes are a smooth (linear) function of the pixels: each box is the
    ground truth shifted by 50 px plus a large weighted sum of the frame's mean colour, minus ``shift``. The L1
    box loss is then linear in the texture near any point, so one raw gradient step of size d raises it by d * |grad|^2
    exactly (up to round-off), whatever the CPU; SiamRPN's argmax over near-tied anchors has no such margin."""

    native_label_is_pytorch_format = True

    def __init__(self, boxes):
        self.boxes = torch.as_tensor(boxes, dtype=torch.float32)
        self.mix = 1000 * torch.tensor(
            [[28.0, 11.0, 1.0], [-19.0, -16.0, -37.0], [-34.0, -39.0, -26.0], [25.0, 12.0, 33.0]]
        )
        self.device = torch.device("cpu")
        self.shift = torch.zeros(len(self.boxes), 4)  # subtracted from every box (to centre a test's problem)
        self.first_boxes = None  # the boxes a window's first box is looked up in (default: the ground truth)

    input_shape = (None, None, 3)

    def fit(self, x, y, **_):
        raise NotImplementedError("a stand-in tracker is not trained")

    def loss_gradient(self, x, y, **_):  # the texture attack differentiates through predict, not through this
        raise NotImplementedError("the stand-in tracker gives gradients through predict's graph")

    def predict(self, x, y_init=None, **_):
        video = torch.as_tensor(x)[0]
        rows = self.boxes.numpy() if self.first_boxes is None else np.asarray(self.first_boxes)
        start = int(np.argmin(np.abs(rows - np.asarray(y_init).reshape(1, 4)).sum(axis=1)))
        colour = video.mean(dim=(1, 2))  # (T, 3)
        window = slice(start, start + len(video))
        return [{"boxes": self.boxes[window] + 50.0 + colour @ self.mix.T - self.shift[window]}]

    @staticmethod
    def l1(boxes, target):
        return float(np.abs(np.asarray(boxes) - np.asarray(target)).sum())
