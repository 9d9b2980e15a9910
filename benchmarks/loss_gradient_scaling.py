"""How ``PyTorchSiamRPN.loss_gradient`` (what ARMORY's and ART's attacks call every step, on the whole
video) grows with the video, next to ``predict``, in one run: seconds per frame on procedural 960x1280
videos of 10 and 40 frames, for the estimator as it is (gradients of the crop windows the tracker reads)
and for the whole-frame path it takes when ART preprocessing sits between the pixels and the tracker.
``--clock process`` times the process's CPU seconds instead of wall seconds: with ``--threads 1`` that
is the work done, whatever else the machine runs (wall seconds on a shared machine are not); ``--clock
user`` leaves out the kernel's share (mostly first-touch page faults of freshly mapped memory, such as the
returned gradient array, whose cost depends on the kernel's free huge pages rather than on the package).

    .venv/bin/python benchmarks/loss_gradient_scaling.py [--lengths 10 40] [--repeats 2] \
        [--threads 1 --clock process|user]
"""

import argparse
import resource
import time

import numpy as np
import torch

from armory_siammtl.data.splits import EMBEDDED_SEED
from armory_siammtl.data.synthetic import make_video
from armory_siammtl.estimators import PyTorchSiamRPN
from armory_siammtl.models import ModelVariant, load_model


class WholeFrames(PyTorchSiamRPN):
    """The estimator on the path it takes behind a preprocessing defence: gradients of whole frames."""

    @property
    def values_checked(self):
        return False


CLOCKS = {
    "wall": time.perf_counter,
    "process": time.process_time,
    "user": lambda: resource.getrusage(resource.RUSAGE_SELF).ru_utime,
}


def seconds(call, repeats: int, clock=time.perf_counter) -> float:
    call()  # warm-up
    times = []
    for _ in range(repeats):
        start = clock()
        call()
        times.append(clock() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lengths", type=int, nargs="+", default=[10, 40])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--weights", default="armory_siammtl/model_weights/siamrpn_alex_stl.pth")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default torch's choice)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    clock = CLOCKS[args.clock]
    model = load_model(ModelVariant(weights=args.weights))
    estimators = {
        "windows": PyTorchSiamRPN(model, device_type="cpu"),
        "whole frames": WholeFrames(model, device_type="cpu"),
    }
    scene = make_video(EMBEDDED_SEED, max(args.lengths), 960, 1280)
    print(
        f"960x1280, CPU, threads={torch.get_num_threads()}, torch {torch.__version__}, best of {args.repeats}, "
        f"{args.clock} seconds"
    )
    print("| frames | predict s/frame | loss_gradient (windows) s/frame | loss_gradient (whole frames) s/frame |")
    print("|---|---|---|---|")
    per_frame = {}
    for length in args.lengths:
        x = (scene.video[:length] / 255.0).astype(np.float32)[None]
        y = [{"boxes": scene.boxes[:length].astype(np.float32)}]
        row = {
            "predict": seconds(
                lambda x=x, y=y: estimators["windows"].predict(x, y_init=y[0]["boxes"][:1]), args.repeats, clock
            )
        }
        for name, estimator in estimators.items():
            row[name] = seconds(lambda e=estimator, x=x, y=y: e.loss_gradient(x, y), args.repeats, clock)
        per_frame[length] = {k: v / length for k, v in row.items()}
        print(
            f"| {length} | {per_frame[length]['predict']:.3f} | {per_frame[length]['windows']:.3f} | "
            f"{per_frame[length]['whole frames']:.3f} |"
        )
    short, long = min(args.lengths), max(args.lengths)
    print()
    for name in ("windows", "whole frames"):
        print(
            f"loss_gradient ({name}): per-frame cost at {long} vs {short} frames "
            f"{per_frame[long][name] / per_frame[short][name]:.2f}x; vs predict at {short} frames "
            f"{per_frame[short][name] / per_frame[short]['predict']:.2f}x"
        )


if __name__ == "__main__":
    main()
