"""Benign tracking on the eight real person evaluation videos of ../shared (otb-person/, uav123/): the shipped
STL and MTL weights (and candidates given with --weights) next to OpenCV MIL, NanoTrack and a static box.
Prints per-video and overall mIoU, success AUC and precision@20px, each mean with a 95 % bootstrap interval
over videos and each model's paired difference to MIL; --out writes real_video.csv and real_video.md.

    .venv/bin/python benchmarks/real_video.py [--weights CANDIDATE.pth ...] [--out docs/results/real_video]
"""

import argparse
from functools import partial
from pathlib import Path

from armory_siammtl.atomic import write_text
from armory_siammtl.evaluation.real_video import evaluate, opencv_mil, per_video, run, sequence_folders
from armory_siammtl.experiment.spec import spec_for
from armory_siammtl.models.loading import variant_from_file
from armory_siammtl.models.manifest import SHIPPED_WEIGHTS

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
EVALUATION = [SHARED / "data" / "otb-person", SHARED / "data" / "uav123"]
NANOTRACK = SHARED / "models" / "nanotrack"
SHIPPED = [SHIPPED_WEIGHTS / "siamrpn_alex_stl.pth", SHIPPED_WEIGHTS / "siamrpn_alex_mtl_l02.pth"]


def mil_spread(paths, seeds: int, max_frames: int, out=None) -> str:
    """MIL's mIoU per video for ``seeds`` seeds of OpenCV's random generator: how much one MIL run moves."""
    folders, _ = sequence_folders(paths)
    results = evaluate(folders, {f"seed {k}": partial(opencv_mil, seed=k) for k in range(seeds)}, max_frames)
    table = per_video(results).pivot(index="video", columns="tracker", values="miou")
    lines = [
        f"OpenCV MIL, mIoU per video over {seeds} seeds of OpenCV's random generator",
        "",
        "| video | min | mean | max |",
        "|---|---|---|---|",
    ]
    lines += [f"| {video} | {row.min():.1f} | {row.mean():.1f} | {row.max():.1f} |" for video, row in table.iterrows()]
    means = table.mean(axis=0)
    lines += ["", f"mean over videos: {means.min():.1f} to {means.max():.1f} across seeds (seed 0 is the tables')"]
    text = "\n".join(lines) + "\n"
    print(text)
    if out is not None:
        write_text(Path(out) / "mil_seeds.md", text)
    return text


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--paths",
        nargs="+",
        default=[str(p) for p in EVALUATION],
        help="sequence folders or roots (default: the eight evaluation videos)",
    )
    parser.add_argument("--weights", action="append", default=[], help="also evaluate this self-describing file")
    parser.add_argument("--nanotrack", default=str(NANOTRACK), help="NanoTrack v2's ONNX folder")
    parser.add_argument("--max-frames", type=int, default=100)
    parser.add_argument("--starts", type=int, default=1)
    parser.add_argument(
        "--mil-seeds",
        type=int,
        default=0,
        help="also run MIL with this many seeds of OpenCV's generator and report its spread",
    )
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    missing = [p for p in args.paths if not Path(p).is_dir()]
    if missing:
        raise SystemExit(f"evaluation videos not found: {missing} (../shared/data is not in a user's clone)")
    nanotrack = args.nanotrack if Path(args.nanotrack).is_dir() else None
    if nanotrack is None:
        print(f"NanoTrack left out: no ONNX files at {args.nanotrack}")
    variants = [variant_from_file(w) for w in [*SHIPPED, *args.weights]]
    tracking = spec_for(variants[0].weights, None, {}, "otb").tracking  # as evaluate-real: the setting recorded
    run(args.paths, variants, tracking, args.max_frames, args.out, args.starts, nanotrack)
    if args.mil_seeds:
        mil_spread(args.paths, args.mil_seeds, args.max_frames, args.out)


if __name__ == "__main__":
    main()
