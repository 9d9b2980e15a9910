"""Seconds per attack step per frame: our PyTorchSiamRPN.loss_gradient vs ART's PyTorchGoturn.loss_gradient
on the same 960x1280 clip in one run (GOTURN with random weights: only its speed matters here).

    .venv/bin/python benchmarks/attack_speed.py [--frames 6]
"""

import argparse
import time

import numpy as np
import torch

from armory_siammtl.data.splits import EMBEDDED_SEED
from armory_siammtl.data.synthetic import make_video
from armory_siammtl.estimators import build_estimator
from armory_siammtl.models import ModelVariant


def goturn_estimator():
    """ART's GOTURN estimator around a GOTURN-shaped network (CaffeNet features, 3 fc layers)."""
    from art.estimators.object_tracking import PyTorchGoturn
    from torch import nn

    class Goturn(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(3, 96, 11, 4),
                nn.ReLU(),
                nn.MaxPool2d(3, 2),
                nn.LocalResponseNorm(5),
                nn.Conv2d(96, 256, 5, padding=2, groups=2),
                nn.ReLU(),
                nn.MaxPool2d(3, 2),
                nn.LocalResponseNorm(5),
                nn.Conv2d(256, 384, 3, padding=1),
                nn.ReLU(),
                nn.Conv2d(384, 384, 3, padding=1, groups=2),
                nn.ReLU(),
                nn.Conv2d(384, 256, 3, padding=1, groups=2),
                nn.ReLU(),
                nn.MaxPool2d(3, 2),
            )
            self.classifier = nn.Sequential(
                nn.Linear(256 * 6 * 6 * 2, 4096),
                nn.ReLU(),
                nn.Linear(4096, 4096),
                nn.ReLU(),
                nn.Linear(4096, 4096),
                nn.ReLU(),
                nn.Linear(4096, 4),
            )

        def forward(self, x, y):
            x, y = self.features(x), self.features(y)
            return self.classifier(torch.cat([x.flatten(1), y.flatten(1)], 1)) * 10

    return PyTorchGoturn(
        model=Goturn(),
        input_shape=(3, 227, 227),
        clip_values=(0, 1),
        channels_first=False,
        preprocessing=(np.array([104.0, 117.0, 123.0]) / 255, np.array([1.0 / 255] * 3)),
        device_type="cpu",
    )


def timed(fn, repeats=2):
    fn()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=6)
    parser.add_argument("--weights", default="armory_siammtl/model_weights/siamrpn_alex_stl.pth")
    args = parser.parse_args()
    scene = make_video(EMBEDDED_SEED, args.frames, 960, 1280)
    x = (scene.video / 255.0).astype(np.float32)[None]
    y = [{"boxes": scene.boxes.astype(np.float32)}]
    ours = build_estimator(ModelVariant(weights=args.weights), device_type="cpu")
    rows = [("PyTorchSiamRPN.loss_gradient", timed(lambda: ours.loss_gradient(x, y)))]
    try:
        goturn = goturn_estimator()
        rows.append(("PyTorchGoturn.loss_gradient", timed(lambda: goturn.loss_gradient(x, y))))
    except Exception as exc:  # report, do not hide, a failure of the reference
        print(f"PyTorchGoturn failed: {type(exc).__name__}: {exc}")
    print(f"{args.frames} frames of 960x1280, CPU, threads={torch.get_num_threads()}")
    print(f"| {'estimator':<30} | {'s/step':>8} | {'s/step/frame':>12} |")
    print(f"|{'-' * 32}|{'-' * 10}|{'-' * 14}|")
    for name, seconds in rows:
        print(f"| {name:<30} | {seconds:8.2f} | {seconds / args.frames:12.3f} |")
    if len(rows) == 2:
        print(f"ratio SiamRPN / GOTURN: {rows[0][1] / rows[1][1]:.2f}")


if __name__ == "__main__":
    main()
