"""One texture-attack step (composite the texture, track, L1 box loss, gradient to the texture) against the
no-grad forward over the same clip, at several video lengths of 960x1280, each length in a fresh process
so that its peak memory (max RSS, the video included) is its own.

    .venv/bin/python benchmarks/attack_step_scaling.py [--lengths 10 50 100] [--crop subpixel|integer|skelevision]
        [--path windows|frames] [--reference] [--gradient-mode auto|sequential|batched]

``windows``: how the attack tracks (``PatchedVideo``: crop windows of clean frames with the texture pasted);
``frames``: through whole composited frames (``composite`` + ``predict``, the path of an estimator with ART
preprocessing). ``--reference``: the paper's reference tracker (``TrackingConfig.skelevision()``: 287, its whole-pixel
crops, frame 0 tracked) instead of ``--crop``. ``--gradient-mode``: the tracker's (``SiamRPNTracker``).
"""

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np
import torch

from armory_siammtl.attacks.compositing import PatchedVideo, composite, prepare_frames
from armory_siammtl.data.splits import EMBEDDED_SEED
from armory_siammtl.data.synthetic import make_video
from armory_siammtl.estimators import build_estimator
from armory_siammtl.models import ModelVariant
from armory_siammtl.tracking.config import TrackingConfig
from armory_siammtl.tracking.crop import CROPS
from armory_siammtl.tracking.objective import box_l1

WEIGHTS = "armory_siammtl/model_weights/siamrpn_alex_stl.pth"


def tracking_setting(crop: str, reference: bool) -> TrackingConfig:
    return TrackingConfig.skelevision() if reference else TrackingConfig(crop=crop)


def measure(length: int, crop: str, path: str, reference: bool = False, gradient_mode: str = "auto") -> dict:
    """Seconds of the no-grad forward and of the attack step (median of 2 after a warm-up), max RSS."""
    estimator = build_estimator(
        ModelVariant(weights=WEIGHTS), tracking_setting(crop, reference), device_type="cpu", gradient_mode=gradient_mode
    )
    scene = make_video(EMBEDDED_SEED, length, 960, 1280)
    video = torch.from_numpy(scene.video).float().div_(255)
    extent = np.ceil(scene.gs_coords.max(axis=1) - scene.gs_coords.min(axis=1)).max(axis=0).astype(int)
    texture_hw = (int(extent[1]), int(extent[0]))
    prepared = prepare_frames(video, scene.gs_coords, scene.patch_masks, texture_hw, "green_screen", True)
    texture, target = torch.full((*texture_hw, 3), 0.5), torch.from_numpy(scene.boxes).float()
    first = scene.boxes[:1].astype(np.float64)
    video_gib = video.numel() * 4 / 2**30

    def track(leaf):
        if path == "windows":
            return estimator.track_frames(PatchedVideo(video, leaf, prepared), first[0])
        return estimator.predict(composite(video, leaf, prepared)[None], y_init=first)[0]["boxes"]

    def forward():
        with torch.no_grad():
            track(texture)

    def step():
        leaf = texture.clone().requires_grad_(True)
        torch.autograd.grad(box_l1(track(leaf), target), leaf)

    del scene
    timings = {"setup_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}
    for name, run in (("forward", forward), ("step", step)):
        run()
        times = []
        for _ in range(2):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        timings[name] = float(np.median(times))
    timings["peak_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    timings["video_gib"] = video_gib
    return timings


def measure_in_child(length: int, crop: str, path: str, reference: bool, gradient_mode: str) -> dict:
    """``measure`` in a fresh process, so that its peak memory is its own."""
    command = [
        sys.executable,
        __file__,
        "--one",
        str(length),
        "--crop",
        crop,
        "--path",
        path,
        "--gradient-mode",
        gradient_mode,
    ] + (["--reference"] if reference else [])
    child = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(child.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lengths", type=int, nargs="+", default=[10, 50, 100])
    parser.add_argument("--crop", choices=CROPS, default="subpixel")
    parser.add_argument("--path", choices=["windows", "frames"], default="windows")
    parser.add_argument("--reference", action="store_true", help="the reference tracker (287, integer crops)")
    parser.add_argument("--gradient-mode", choices=["auto", "sequential", "batched"], default="auto")
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)  # the child process's length
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(measure(args.one, args.crop, args.path, args.reference, args.gradient_mode)))
        return
    rows = [
        (length, measure_in_child(length, args.crop, args.path, args.reference, args.gradient_mode))
        for length in args.lengths
    ]
    tracking = tracking_setting(args.crop, args.reference)
    print(
        f"960x1280, {tracking.crop} crops at {tracking.instance_size}, gradient {args.gradient_mode}, tracked "
        f"through {args.path}, CPU, threads={torch.get_num_threads()}, torch {torch.__version__}"
    )
    print(
        f"| {'frames':>6} | {'no-grad s':>9} | {'step s':>8} | {'step/no-grad':>12} | {'step s/frame':>12} "
        f"| {'vs first':>8} | {'video GiB':>9} | {'setup peak GiB':>14} | {'peak GiB':>8} |"
    )
    print(f"|{'-' * 8}|{'-' * 11}|{'-' * 10}|{'-' * 14}|{'-' * 14}|{'-' * 10}|{'-' * 11}|{'-' * 16}|{'-' * 10}|")
    base = rows[0][1]["step"] / rows[0][0]
    for length, r in rows:
        per_frame = r["step"] / length
        print(
            f"| {length:>6} | {r['forward']:9.2f} | {r['step']:8.2f} | {r['step'] / r['forward']:11.2f}x "
            f"| {per_frame:12.3f} | {per_frame / base:7.2f}x | {r['video_gib']:9.2f} | {r['setup_gib']:14.2f} "
            f"| {r['peak_gib']:8.2f} |"
        )


if __name__ == "__main__":
    main()
