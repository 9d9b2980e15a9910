"""Our tracker against pysot's tracking loop on the same network: boxes and frames/s.

    .venv/bin/python benchmarks/pysot_side_by_side.py [--frames 60] [--weights W.pth]

pysot itself is not installable here (the PyPI package of that name is another project), so its
``SiamRPNTracker`` loop is written out below from its published algorithm, the way pysot computes it: uint8
BGR frames, crop windows at ``floor(centre - (side + 1) / 2 + 0.5)`` with the side rounded, padding with the
frame's mean colour truncated to uint8, ``cv2.resize`` of the uint8 patch, scores and boxes post-processed
in numpy (float32, the cosine window float64). Ours runs ``TrackingConfig(instance_size=287, crop="integer")``
(pysot's crop windows, frame 0 given as pysot's ``init`` does) on float frames. Prints the largest box
difference in pixels and the frames/s of each loop over a procedural 960x1280 video; pysot starts once at
our centre and once from the box as given (its centre convention is half a pixel off ours).
"""

import argparse
import time

import cv2
import numpy as np
import torch

from armory_siammtl.data.splits import EMBEDDED_SEED
from armory_siammtl.data.synthetic import make_video
from armory_siammtl.models import ModelVariant, load_model
from armory_siammtl.tracking import SiamRPNTracker, TrackingConfig


class PysotLoop:
    """pysot's SiamRPN tracking arithmetic around our network (inputs BGR 0-255, as pysot's)."""

    def __init__(
        self,
        model,
        instance_size: int = 287,
        context: float = 0.5,
        penalty_k: float = 0.16,
        window_influence: float = 0.40,
        lr: float = 0.30,
    ):
        self.model, self.instance_size = model, instance_size
        self.context, self.penalty_k, self.window_influence, self.lr = context, penalty_k, window_influence, lr
        reference = SiamRPNTracker(model, TrackingConfig(instance_size=instance_size))
        self.anchors = reference.anchors.numpy()  # (K*S*S, 4) cx, cy, w, h: pysot's layout, float32
        hanning = np.hanning(reference.score_size)
        self.window = np.tile(np.outer(hanning, hanning).flatten(), model.config.anchor_num)

    @staticmethod
    def subwindow(image, pos, model_size: int, original_size: int, mean):
        side = original_size
        xmin, ymin = (np.floor(pos[i] - (side + 1) / 2 + 0.5) for i in (0, 1))
        xmax, ymax = xmin + side - 1, ymin + side - 1
        height, width = image.shape[:2]
        left, top = int(max(0.0, -xmin)), int(max(0.0, -ymin))
        right, bottom = int(max(0.0, xmax - width + 1)), int(max(0.0, ymax - height + 1))
        xmin, xmax, ymin, ymax = (int(v) for v in (xmin + left, xmax + left, ymin + top, ymax + top))
        if left or top or right or bottom:
            padded = np.zeros((height + top + bottom, width + left + right, 3), np.uint8)
            padded[top : top + height, left : left + width] = image
            padded[:top], padded[top + height :] = mean, mean
            padded[:, :left], padded[:, left + width :] = mean, mean
            patch = padded[ymin : ymax + 1, xmin : xmax + 1]
        else:
            patch = image[ymin : ymax + 1, xmin : xmax + 1]
        if model_size != original_size:
            patch = cv2.resize(patch, (model_size, model_size))
        return torch.from_numpy(patch.transpose(2, 0, 1)[None].astype(np.float32))

    def init(self, image, box):
        x, y, w, h = box
        self.center, self.size = np.array([x + (w - 1) / 2, y + (h - 1) / 2]), np.array([w, h])  # pysot: (w - 1) / 2
        self.mean = np.mean(image, axis=(0, 1))
        s_z = round(float(np.sqrt(np.prod(self.size + self.context * self.size.sum()))))
        self.z_f = self.model.template_features(self.subwindow(image, self.center, 127, s_z, self.mean))

    def track(self, image):
        s_z = np.sqrt(np.prod(self.size + self.context * self.size.sum()))
        scale_z = 127 / s_z
        s_x = s_z * self.instance_size / 127
        x = self.subwindow(image, self.center, self.instance_size, round(float(s_x)), self.mean)
        cls, loc = self.model.track_outputs(self.z_f, x)
        score = torch.softmax(cls.permute(1, 2, 3, 0).reshape(2, -1).permute(1, 0), dim=1)[:, 1].numpy()
        delta = loc.permute(1, 2, 3, 0).reshape(4, -1).numpy().copy()
        a = self.anchors
        delta[0] = delta[0] * a[:, 2] + a[:, 0]
        delta[1] = delta[1] * a[:, 3] + a[:, 1]
        delta[2] = np.exp(delta[2]) * a[:, 2]
        delta[3] = np.exp(delta[3]) * a[:, 3]

        def change(r):
            return np.maximum(r, 1.0 / r)

        def padded(w, h):
            pad = (w + h) * 0.5
            return np.sqrt((w + pad) * (h + pad))

        s_c = change(padded(delta[2], delta[3]) / padded(self.size[0] * scale_z, self.size[1] * scale_z))
        r_c = change((self.size[0] / self.size[1]) / (delta[2] / delta[3]))
        penalty = np.exp(-(r_c * s_c - 1) * self.penalty_k)
        pscore = penalty * score * (1 - self.window_influence) + self.window * self.window_influence
        best = int(np.argmax(pscore))
        box = delta[:, best] / scale_z
        rate = penalty[best] * score[best] * self.lr
        height, width = image.shape[:2]
        cx = max(0, min(box[0] + self.center[0], width))
        cy = max(0, min(box[1] + self.center[1], height))
        w = max(10, min(self.size[0] * (1 - rate) + box[2] * rate, width))
        h = max(10, min(self.size[1] * (1 - rate) + box[3] * rate, height))
        self.center, self.size = np.array([cx, cy]), np.array([w, h])
        return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])


def pysot_boxes(model, bgr: np.ndarray, first: np.ndarray, shift: float) -> np.ndarray:
    """pysot's loop from ``first`` [x1, y1, x2, y2] handed over as pysot's [x, y, w, h] with x, y moved by
    ``shift``: pysot puts the centre at x + (w - 1) / 2, so a shift of 0.5 starts it at our centre."""
    loop = PysotLoop(model)
    loop.init(bgr[0], [first[0] + shift, first[1] + shift, first[2] - first[0], first[3] - first[1]])
    return np.stack([first] + [loop.track(frame) for frame in bgr[1:]])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--weights", default="armory_siammtl/model_weights/siamrpn_alex_stl.pth")
    args = parser.parse_args()
    scene = make_video(EMBEDDED_SEED, args.frames, 960, 1280)
    model = load_model(ModelVariant(weights=args.weights))
    first = scene.boxes[0].astype(np.float64)
    bgr = np.ascontiguousarray(scene.video[..., ::-1])
    video = torch.from_numpy(scene.video).float().div_(255)
    tracker = SiamRPNTracker(model, TrackingConfig(instance_size=287, crop="integer"))
    with torch.no_grad():
        tracker.track(video[:3], first)  # warm-up
        start = time.perf_counter()
        ours = tracker.track(video, first, values_checked=True).boxes.numpy()  # as PyTorchSiamRPN calls it
        ours_s = time.perf_counter() - start
        start = time.perf_counter()
        same_start = pysot_boxes(model, bgr, first, 0.5)
        theirs_s = time.perf_counter() - start
        as_given = pysot_boxes(model, bgr, first, 0.0)
    print(
        f"{args.frames} frames of 960x1280 (procedural, seed {EMBEDDED_SEED}), weights {args.weights}, CPU, "
        f"threads={torch.get_num_threads()}, torch {torch.__version__}"
    )
    print("| loop | frames/s |\n|---|---|")
    print(f'| ours (287, crop "integer", float frames) | {args.frames / ours_s:.1f} |')
    print(f"| pysot's arithmetic (uint8 frames, cv2 crops, numpy) | {args.frames / theirs_s:.1f} |")
    print(
        f"\n| pysot started | largest box-corner difference, frames 1-{args.frames - 1} | median | frames over 1 px |"
    )
    print("|---|---|---|---|")
    for name, boxes in (("at our centre (x, y + 0.5)", same_start), ("from the box as given", as_given)):
        diff = np.abs(ours - boxes).max(axis=1)[1:]
        print(f"| {name} | {diff.max():.3f} px | {np.median(diff):.3f} px | {int((diff > 1).sum())} |")


if __name__ == "__main__":
    main()
