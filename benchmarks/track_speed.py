"""Frames/s of benign tracking and of one forward+backward over a clip, 960x1280, on the CPU (or --device).

.venv/bin/python benchmarks/track_speed.py [--frames 10] [--weights armory_siammtl/model_weights/siamrpn_alex_stl.pth]
"""

import argparse
import time

import torch

from armory_siammtl.data.splits import EMBEDDED_SEED
from armory_siammtl.data.synthetic import make_video
from armory_siammtl.models import ModelVariant, load_model
from armory_siammtl.tracking import SiamRPNTracker


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=10)
    parser.add_argument("--weights", default="armory_siammtl/model_weights/siamrpn_alex_stl.pth")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    scene = make_video(EMBEDDED_SEED, args.frames, 960, 1280)
    model = load_model(ModelVariant(weights=args.weights)).to(args.device)
    tracker = SiamRPNTracker(model)
    video = torch.from_numpy(scene.video).float().div(255).to(args.device)
    rows = []
    with torch.no_grad():
        tracker.track(video, scene.boxes[0])  # warm-up
        for name, checked in (("benign tracking (no grad)", False), ("same, pixels checked by caller", True)):
            start = time.perf_counter()
            for _ in range(2):
                tracker.track(video, scene.boxes[0], values_checked=checked)  # True: as the estimator calls it
            rows.append((name, (time.perf_counter() - start) / 2))
    pixels = video.clone().requires_grad_(True)
    start = time.perf_counter()
    boxes = tracker.track(pixels, scene.boxes[0]).boxes
    (boxes - torch.as_tensor(scene.boxes, device=args.device)).abs().sum().backward()
    rows.append(("forward + backward to pixels", time.perf_counter() - start))
    print(f"{args.frames} frames of 960x1280 on {args.device}, threads={torch.get_num_threads()}")
    print(f"| {'mode':<30} | {'seconds':>8} | {'frames/s':>8} |")
    print(f"|{'-' * 32}|{'-' * 10}|{'-' * 10}|")
    for name, seconds in rows:
        print(f"| {name:<30} | {seconds:8.2f} | {args.frames / seconds:8.2f} |")


if __name__ == "__main__":
    main()
