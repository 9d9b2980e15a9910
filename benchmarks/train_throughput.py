"""Training samples/s with pairs built in the training process (0 workers) or by data-loading workers,
reading the frames of OTB-layout sequences from disk per pair (``--otb-train`` folders written here from
the procedural scene), on the CPU (or --device / --amp).

    .venv/bin/python benchmarks/train_throughput.py [--steps 20] [--batch-size 8] [--workers 0 2]
"""

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from armory_siammtl.data.splits import EMBEDDED_SEED, otb_layout_tracks
from armory_siammtl.data.synthetic import make_video
from armory_siammtl.models import ModelVariant
from armory_siammtl.training.trainer import TrainConfig, Trainer


def write_otb_layout(out: Path, seeds, frames: int = 30, height: int = 480, width: int = 640) -> Path:
    """Procedural videos as OTB-layout sequences: ``sceneN/img/0001.jpg...`` + ``groundtruth_rect.txt``."""
    for seed in seeds:
        scene = make_video(int(seed), frames, height, width)
        sequence = out / f"scene{seed}"
        (sequence / "img").mkdir(parents=True)
        for t, frame in enumerate(scene.video):
            cv2.imwrite(str(sequence / "img" / f"{t + 1:04d}.jpg"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        xywh = np.c_[scene.boxes[:, :2], scene.boxes[:, 2:] - scene.boxes[:, :2]]
        np.savetxt(sequence / "groundtruth_rect.txt", xywh, fmt="%.2f", delimiter=",")
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--amp", default="off")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        train, val = otb_layout_tracks(write_otb_layout(Path(tmp) / "otb", range(EMBEDDED_SEED, EMBEDDED_SEED + 4)))
        rows = []
        for workers in args.workers:
            cfg = TrainConfig(
                out_dir=str(Path(tmp) / f"run{workers}"),
                variant=ModelVariant(0.2, "shallow"),
                batch_size=args.batch_size,
                iters_per_epoch=args.steps,
                instance_size=255,
                workers=workers,
                device=args.device,
                amp=args.amp,
            )
            trainer = Trainer(cfg, train, val)
            trainer.model.train()
            batches = trainer.pair_batches(train, 0, args.steps + 2)
            iterator = iter(batches)
            for _ in range(2):  # warm-up (and worker start-up)
                trainer.train_step(next(iterator))
            start = time.perf_counter()
            for batch in iterator:
                trainer.train_step(batch)
            if trainer.placement.device.type == "cuda":
                torch.cuda.synchronize()
            rows.append((workers, args.steps * args.batch_size / (time.perf_counter() - start)))
    print(
        f"{args.steps} steps of {args.batch_size} pairs (search 255, lambda_K 0.2), frames read from disk; "
        f"device {args.device}, amp {args.amp}, torch threads {torch.get_num_threads()}"
    )
    print(f"| {'data workers':>12} | {'samples/s':>9} | {'vs 0 workers':>12} |")
    print(f"|{'-' * 14}|{'-' * 11}|{'-' * 14}|")
    for workers, rate in rows:
        print(f"| {workers:>12} | {rate:9.2f} | {rate / rows[0][1]:11.2f}x |")


if __name__ == "__main__":
    main()
