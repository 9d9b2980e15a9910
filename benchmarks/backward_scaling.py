"""How one attack step's cost grows with the video's length: seconds per frame of
``PyTorchSiamRPN.loss_gradient`` (tracking forward + backward to every pixel) on procedural 480x640 videos
of several lengths, in one run. A cost linear in the video keeps the per-frame column flat.

    .venv/bin/python benchmarks/backward_scaling.py [--lengths 4 16 48]
"""

import argparse
import time

import numpy as np
import torch

from armory_siammtl.data.splits import EMBEDDED_SEED
from armory_siammtl.data.synthetic import make_video
from armory_siammtl.estimators import build_estimator
from armory_siammtl.models import ModelVariant


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lengths", type=int, nargs="+", default=[4, 16, 48])
    parser.add_argument("--weights", default="armory_siammtl/model_weights/siamrpn_alex_stl.pth")
    args = parser.parse_args()
    estimator = build_estimator(ModelVariant(weights=args.weights), device_type="cpu")
    scene = make_video(EMBEDDED_SEED, max(args.lengths), 480, 640)
    print(f"480x640, CPU, threads={torch.get_num_threads()}, torch {torch.__version__}")
    print(f"| {'frames':>6} | {'s/step':>8} | {'s/frame':>8} | {'parameter grads':>15} |")
    print(f"|{'-' * 8}|{'-' * 10}|{'-' * 10}|{'-' * 17}|")
    for length in args.lengths:
        x = (scene.video[:length] / 255.0).astype(np.float32)[None]
        y = [{"boxes": scene.boxes[:length].astype(np.float32)}]
        estimator.loss_gradient(x, y)  # warm-up
        start = time.perf_counter()
        estimator.loss_gradient(x, y)
        seconds = time.perf_counter() - start
        with_grads = sum(p.grad is not None for p in estimator.model.parameters())
        print(f"| {length:>6} | {seconds:8.2f} | {seconds / length:8.3f} | {with_grads:>15} |")


if __name__ == "__main__":
    main()
