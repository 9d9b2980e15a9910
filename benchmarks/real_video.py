"""The STL and MTL weights (default: the shipped ones), OpenCV MIL and a static box on the real person videos
of ../shared/ (evaluation only: OTB Crossing, OTB Human3's first frames, UAV123 person11), first 100 frames,
in one run; ``--starts 4`` adds OTB's temporal robustness evaluation (start frames 0, 25, 50, 75).

    .venv/bin/python benchmarks/real_video.py [--shared ../shared] [--max-frames 100] [--starts 1] [--stl W --mtl W]
"""

import argparse
from pathlib import Path

import torch

from armory_siammtl.evaluation import real_video
from armory_siammtl.models import ModelVariant, load_model
from armory_siammtl.models.manifest import SHIPPED_WEIGHTS

VIDEOS = ("data/otb-person/Crossing", "data/otb-person/Human3", "data/uav123/person11")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared"))
    parser.add_argument("--max-frames", type=int, default=100)
    parser.add_argument("--starts", type=int, default=1, help="TRE start frames per video (1: frame 0 only)")
    parser.add_argument("--stl", default=str(SHIPPED_WEIGHTS / "siamrpn_alex_stl.pth"))
    parser.add_argument("--mtl", default=str(SHIPPED_WEIGHTS / "siamrpn_alex_mtl_l02.pth"), help="λK = 0.2, shallow head")
    args = parser.parse_args()
    folders = [Path(args.shared) / v for v in VIDEOS]
    shipped = lambda path: " (shipped)" if Path(path).parent == SHIPPED_WEIGHTS else f" ({Path(path).name})"  # noqa: E731
    trackers = {"STL" + shipped(args.stl): real_video.siamrpn(load_model(ModelVariant(0.0, weights=args.stl))),
                "MTL λK=0.2" + shipped(args.mtl): real_video.siamrpn(load_model(ModelVariant(0.2, "shallow", weights=args.mtl))),
                "OpenCV MIL": real_video.opencv_mil, "static box": real_video.static_box}
    results = real_video.evaluate(folders, trackers, args.max_frames, progress=False, starts=args.starts)
    starts = real_video.start_frames(args.max_frames, args.starts)
    print(f"first {args.max_frames} frames, frame 0 of each run excluded; start frames {starts}; CPU, "
          f"threads={torch.get_num_threads()}, torch {torch.__version__}")
    print(real_video.markdown(results))


if __name__ == "__main__":
    main()
