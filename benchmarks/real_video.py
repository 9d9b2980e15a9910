"""The shipped STL and MTL weights, OpenCV MIL and a static box on the real person videos of ../shared/
(evaluation only: OTB Crossing, OTB Human3's first frames, UAV123 person11), first 100 frames, in one run.

    .venv/bin/python benchmarks/real_video.py [--shared ../shared] [--max-frames 100]
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
    args = parser.parse_args()
    folders = [Path(args.shared) / v for v in VIDEOS]
    trackers = {"STL (shipped)": real_video.siamrpn(load_model(ModelVariant(0.0, weights=SHIPPED_WEIGHTS / "siamrpn_alex_stl.pth"))),
                "MTL λK=0.2 (shipped)": real_video.siamrpn(load_model(
                    ModelVariant(0.2, "shallow", weights=SHIPPED_WEIGHTS / "siamrpn_alex_mtl_l02.pth"))),
                "OpenCV MIL": real_video.opencv_mil, "static box": real_video.static_box}
    results = real_video.evaluate(folders, trackers, args.max_frames, progress=False)
    print(f"first {args.max_frames} frames, frame 0 excluded; CPU, threads={torch.get_num_threads()}, "
          f"torch {torch.__version__}")
    print(real_video.markdown(results))


if __name__ == "__main__":
    main()
