"""The flags several subcommands share (the model, the procedural scene, the runtime, the experiment spec)
and ``train``'s, each checked where it is parsed (``values``); ``parser`` builds the subcommands from them."""

import argparse

from armory_siammtl import values
from armory_siammtl.data.splits import TRAIN_SEED
from armory_siammtl.experiment import KEYS, PRESETS
from armory_siammtl.models.keypoint_head import HEAD_STYLES, KEYPOINT_LOSSES
from armory_siammtl.models.variant import HEADS
from armory_siammtl.training.distributed import DEFAULT_TIMEOUT_S, DEVICES, MAX_TIMEOUT_S
from armory_siammtl.training.precision import AMP_MODES


def checked(check, *bounds):
    """An argparse type that converts and checks a value with ``values``."""

    def convert(text):
        try:
            number = float(text) if check in (values.positive, values.non_negative) else int(text)
            return check("value", number, *bounds)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc).replace("value ", "")) from None

    return convert


POSITIVE_INT = checked(values.whole, 1)


SIZE = checked(values.whole, 64, 8192)  # frame sides: the procedural scene needs room for its walker


def box(text):
    try:
        box = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"box must be x1,y1,x2,y2 numbers, got {text!r}") from None
    if len(box) != 4:
        raise argparse.ArgumentTypeError(f"box must have 4 numbers x1,y1,x2,y2, got {text!r}")
    return box


def setting(text):
    """KEY=VALUE of the experiment spec; VALUE is read as YAML (0.1, null, true, [10, 20])."""
    import yaml

    key, sep, value = text.partition("=")
    if not sep or key not in KEYS:
        raise argparse.ArgumentTypeError(f"--set takes KEY=VALUE with KEY one of {list(KEYS)}, got {text!r}")
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError:
        raise argparse.ArgumentTypeError(f"--set {key}: {value!r} is not a value") from None
    if isinstance(parsed, str):  # YAML 1.1 reads 1e39 and inf as text
        try:
            parsed = float(parsed)
        except ValueError:
            pass
    return key, parsed


def spec_args(parser, default_text: str):
    parser.add_argument(
        "--preset",
        choices=PRESETS,
        default=None,
        help=f"the experiment spec's preset (README: the spec's keys); default {default_text}",
    )
    parser.add_argument(
        "--set",
        dest="settings",
        type=setting,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="change one key of the preset (repeatable), e.g. --set instance_size=287",
    )


def model_args(parser):
    parser.add_argument("--weights", required=True, help="pysot-format checkpoint (.pth)")
    parser.add_argument(
        "--head",
        choices=HEADS,
        default=None,
        help="keypoint head the checkpoint carries (MTL models); omit for STL or for a file that "
        "records its model (train, describe-weights and the shipped files do)",
    )
    parser.add_argument(
        "--kpt-weight",
        type=float,
        default=None,
        help="lambda_K the weights were trained with; checked against a manifest beside them",
    )
    parser.add_argument("--weights-sha256", default=None, help="expected sha256 of the weights file (pinned)")


def scene_args(parser, videos: int, frames: int, height: int, width: int):
    """The procedural scene's size: number of videos, frames per video, frame height and width."""
    parser.add_argument("--videos", type=POSITIVE_INT, default=videos)
    parser.add_argument("--frames", type=checked(values.whole, 2), default=frames)
    parser.add_argument("--height", type=SIZE, default=height)
    parser.add_argument("--width", type=SIZE, default=width)


def runtime_args(parser):
    parser.add_argument("--threads", type=POSITIVE_INT, default=None, help="torch CPU threads (default torch's choice)")
    parser.add_argument(
        "--deterministic",
        action="store_true",
        help="fixed threads (default 1) and deterministic algorithms: repeats bit for bit on this machine and software",
    )


def ray_args(parser):
    """Where a grid's cells run (``sweep``, ``reproduce``): a Ray instance or cluster, and what each cell asks for."""
    parser.add_argument(
        "--ray",
        nargs="?",
        const="local",
        default=None,
        metavar="ADDRESS",
        help="run each cell as a Ray task: on a new local instance, or the cluster at ADDRESS ('auto')",
    )
    parser.add_argument(
        "--ray-cpus",
        type=checked(values.positive, 1024),
        default=1,
        help="CPUs (torch threads) each Ray cell asks for",
    )
    parser.add_argument(
        "--ray-gpus",
        type=checked(values.non_negative),
        default=0,
        help="GPUs each Ray cell asks for (e.g. 0.5: two per GPU)",
    )


def train_args(p):
    """``train``'s flags (the procedural scene's size and the runtime flags come from the helpers above)."""
    p.add_argument("--out", required=True)
    p.add_argument("--kpt-weight", type=float, default=0.0, help="lambda_K")
    p.add_argument("--head", choices=HEADS, default=None, help="keypoint head; shallow when --kpt-weight > 0")
    p.add_argument(
        "--head-only",
        action="store_true",
        help="train only the keypoint head, backbone and RPN frozen (pre-training the head)",
    )
    p.add_argument(
        "--pretrained-head", action="store_true", help="record that --init-weights carry a pre-trained keypoint head"
    )
    p.add_argument("--init-weights", default=None)
    p.add_argument(
        "--recipe",
        choices=["package", "skelevision"],
        default="package",
        help="skelevision: the paper's reference recipe (TrainConfig.skelevision); flags given override it",
    )
    p.add_argument(
        "--keypoint-loss",
        choices=KEYPOINT_LOSSES,
        default=None,
        help="heatmap_bce (Gaussian heatmaps; package default) or softmax_ce (the reference code's)",
    )
    p.add_argument(
        "--head-style",
        choices=HEAD_STYLES,
        default=None,
        help="batchnorm (package default) or skelevision: the reference code's head",
    )
    p.add_argument("--optimizer", choices=["adam", "sgd"], default=None, help="adam (package default) or sgd")
    p.add_argument("--lr", type=checked(values.positive, 1.0), default=None)
    p.add_argument("--lr-decay", type=float, default=None, help="learning rate factor per epoch (1: constant)")
    p.add_argument("--epochs", type=POSITIVE_INT, default=None, help="default 10; 50 with --recipe skelevision")
    p.add_argument(
        "--iters",
        type=POSITIVE_INT,
        default=None,
        help="steps per epoch (default 100); --recipe skelevision: one pass over every training item",
    )
    p.add_argument(
        "--batch-size",
        type=POSITIVE_INT,
        default=None,
        help="per process, default 16 (torchrun: times the processes); replaces --global-batch",
    )
    p.add_argument(
        "--global-batch",
        type=POSITIVE_INT,
        default=None,
        help="pairs per step over all processes, split evenly (--recipe skelevision: 1024)",
    )
    p.add_argument(
        "--accumulate",
        type=POSITIVE_INT,
        default=1,
        help="split each batch into this many micro-batches, gradients added (same step, less memory)",
    )
    p.add_argument(
        "--instance-size", type=checked(values.whole, 127, 1023), default=255, help="search crop size during training"
    )
    p.add_argument(
        "--val-videos",
        type=POSITIVE_INT,
        default=4,
        help="procedural (and LaSOT) validation videos; every OTB-layout validation track is used",
    )
    p.add_argument("--val-pairs", type=POSITIVE_INT, default=64)
    p.add_argument(
        "--seed",
        type=checked(values.whole, 0),
        default=None,
        help=f"run and data seed (default {TRAIN_SEED}; 42 with --recipe skelevision)",
    )
    p.add_argument("--device", choices=DEVICES, default="auto", help="auto: CUDA when available")
    p.add_argument(
        "--dist-timeout",
        type=checked(values.positive, MAX_TIMEOUT_S),
        default=DEFAULT_TIMEOUT_S,
        help=f"under torchrun: seconds a process waits for the others, rank 0's validation included, before "
        f"the run fails (default {DEFAULT_TIMEOUT_S:g})",
    )
    p.add_argument(
        "--amp",
        choices=AMP_MODES,
        default=None,
        help="mixed precision: fp16 (CUDA, loss-scaled) or bf16; off: fp32. Default off; fp16 on CUDA "
        "with --recipe skelevision (the reference trained in 16-bit)",
    )
    p.add_argument(
        "--workers", type=checked(values.whole, 0), default=0, help="data-loading processes (0: the training process)"
    )
    p.add_argument("--coco-annotations", default=None, help="person_keypoints_*.json: train on COCO persons")
    p.add_argument("--coco-images", default=None, help="the COCO image folder of those annotations")
    p.add_argument("--coco-max", type=POSITIVE_INT, default=None, help="use at most this many COCO persons")
    p.add_argument(
        "--coco-val-annotations",
        default=None,
        help="person_keypoints_val*.json: its persons validate (--recipe skelevision; the package "
        "validates on tracks only)",
    )
    p.add_argument("--coco-val-images", default=None, help="the COCO image folder of --coco-val-annotations")
    p.add_argument("--lasot", default=None, help="LaSOT person folder: frames 1-800 train, 801-900 validate")
    p.add_argument("--lasot-max", type=POSITIVE_INT, default=None, help="use at most this many sequences")
    p.add_argument(
        "--otb-train",
        action="append",
        default=[],
        metavar="ROOT",
        help="a folder of OTB-layout sequences (NAME/img/, groundtruth_rect.txt) to train on, the last "
        "20%% of each validating; repeatable. Person-tracking evaluation videos are refused",
    )
    p.add_argument(
        "--otb-val-sequence",
        action="append",
        default=[],
        metavar="NAME",
        help="a sequence folder under an --otb-train root held out of training and validated on whole "
        "(people and scenes the run never trained on) instead of its last 20%%; repeatable",
    )
    p.add_argument(
        "--with-procedural",
        action="store_true",
        help="train on the procedural scene (--videos) as well as the real sources given",
    )
    p.add_argument(
        "--backdrops",
        action="append",
        default=[],
        metavar="PATH",
        help="image files or folders: half the procedural training videos walk in front of one; repeatable",
    )
    p.add_argument(
        "--average-from",
        type=POSITIVE_INT,
        default=None,
        metavar="EPOCH",
        help="average the weights of this epoch (1-based) and every later one (SWA); the average, batch "
        "norm recomputed, competes with the epochs for best.pth and is saved as average.pth",
    )
    p.add_argument(
        "--min-gain",
        type=float,
        default=0.0,
        help="the --init-weights stay best.pth unless a candidate beats their validation mIoU by more "
        "than this many points (a margin for validation noise)",
    )
    p.add_argument(
        "--interpolate-to",
        default=None,
        metavar="WEIGHTS",
        help="train nothing: validate (1-a)*--init-weights + a*WEIGHTS for each a of --alphas (WiSE-FT; "
        "batch norm recomputed) as candidates for best.pth",
    )
    p.add_argument("--alphas", default="0,0.25,0.5,0.75,1", help="comma-separated, in [0, 1] (--interpolate-to)")
    p.add_argument(
        "--distractors",
        type=float,
        default=0.0,
        metavar="FRACTION",
        help="fraction of procedural training videos in which a second walker crosses behind the person",
    )
    p.add_argument(
        "--lowres",
        type=float,
        default=None,
        help="probability that a training pair is seen at a lower resolution (small, low-res people)",
    )
    p.add_argument(
        "--motion-blur", type=float, default=None, help="probability of a linear motion blur of the search crop"
    )
    p.add_argument("--jpeg", type=float, default=None, help="probability of JPEG artefacts on both crops")
    spec_args(p, "package: validation tracks with the preset's tracker, recorded in every checkpoint")
