"""Seconds that `scenario.export_batches` adds per video of the main job (960x1280, 30 frames): the four
mp4s ARMORY's CARLA scenario exports per video (benign and adversarial, each plain and with boxes), by
this package's frame-exact exporter and by ARMORY 0.19.2's own (which also writes a PNG per frame).

    .venv/bin/python benchmarks/export_time.py [--frames 30]
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from armory.instrument.export import VideoTrackingExporter

from armory_siammtl.armory.ffmpeg import ensure_ffmpeg
from armory_siammtl.armory.scenario import FrameExactVideoExporter
from armory_siammtl.data.splits import EMBEDDED_SEED
from armory_siammtl.data.synthetic import make_video


def export_seconds(exporter_class, video: np.ndarray, boxes: np.ndarray, out: Path) -> tuple:
    """(seconds, bytes written) for the four exports of one video."""
    y = {"boxes": {t: b[None] for t, b in enumerate(boxes.astype(np.float32))}}
    plain = exporter_class(str(out), frame_rate=10)
    boxed = exporter_class(str(out), frame_rate=10, default_export_kwargs={"with_boxes": True})
    start = time.perf_counter()
    for kind in ("x", "x_adv"):
        plain._export(video, f"batch_0_ex_0_scenario.{kind}")
        boxed._export(video, f"batch_0_ex_0_scenario.{kind}", with_boxes=True, y=y, y_pred=y)
    return time.perf_counter() - start, sum(p.stat().st_size for p in out.rglob("*") if p.is_file())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=30)
    args = parser.parse_args()
    print(f"ffmpeg: {ensure_ffmpeg()}")
    scene = make_video(EMBEDDED_SEED, args.frames, 960, 1280)
    video = scene.video.astype(np.float32) / 255.0
    print(f"one {args.frames}-frame 960x1280 video, 4 exports (x, x_adv; plain and with boxes)")
    print(f"| {'exporter':<42} | {'seconds':>8} | {'MB written':>10} |")
    print(f"|{'-' * 44}|{'-' * 10}|{'-' * 12}|")
    for name, cls in (
        ("armory-siammtl FrameExactVideoExporter", FrameExactVideoExporter),
        ("ARMORY 0.19.2 VideoTrackingExporter", VideoTrackingExporter),
    ):
        with tempfile.TemporaryDirectory() as tmp:
            seconds, size = export_seconds(cls, video, scene.boxes, Path(tmp))
        print(f"| {name:<42} | {seconds:8.2f} | {size / 1e6:10.1f} |")


if __name__ == "__main__":
    main()
