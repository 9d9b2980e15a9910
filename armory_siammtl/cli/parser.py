"""Every subcommand's arguments, in one place (``build_parser``); what each runs is in ``commands`` and
``train``. Values many commands read (sizes, thread counts, frame counts) are checked by ``values``."""

import argparse

from armory_siammtl import values
from armory_siammtl.data.splits import EMBEDDED_SEED, HELD_OUT_SEED, TRAIN_SEED
from armory_siammtl.evaluation.keypoints import PCK_ALPHA
from armory_siammtl.experiment import KEYS, PRESETS
from armory_siammtl.models.keypoint_head import HEAD_STYLES, KEYPOINT_LOSSES
from armory_siammtl.models.manifest import SHIPPED_WEIGHTS
from armory_siammtl.models.variant import HEADS
from armory_siammtl.training.distributed import DEVICES
from armory_siammtl.training.precision import AMP_MODES

DESCRIPTION = ("armory-siammtl: SiamRPN person trackers trained alone (STL) or with keypoints (MTL), attacked by "
               "the SkeleVision adversarial texture, in and around ARMORY")


def _checked(check, *bounds):
    """An argparse type that converts and checks a value with ``values``."""
    def convert(text):
        try:
            return check("value", float(text) if check is values.positive else int(text), *bounds)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc).replace("value ", "")) from None
    return convert


POSITIVE_INT = _checked(values.whole, 1)
SIZE = _checked(values.whole, 64, 8192)  # frame sides: the procedural scene needs room for its walker


def _box(text):
    try:
        box = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"box must be x1,y1,x2,y2 numbers, got {text!r}") from None
    if len(box) != 4:
        raise argparse.ArgumentTypeError(f"box must have 4 numbers x1,y1,x2,y2, got {text!r}")
    return box


def _setting(text):
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


def _spec_args(parser, default_text: str):
    parser.add_argument("--preset", choices=PRESETS, default=None,
                        help=f"the experiment spec's preset (README: the spec's keys); default {default_text}")
    parser.add_argument("--set", dest="settings", type=_setting, action="append", default=[], metavar="KEY=VALUE",
                        help="change one key of the preset (repeatable), e.g. --set instance_size=287")


def _model_args(parser):
    parser.add_argument("--weights", required=True, help="pysot-format checkpoint (.pth)")
    parser.add_argument("--head", choices=HEADS, default=None,
                        help="keypoint head the checkpoint carries (MTL models); omit for STL or for a file that "
                             "records its model (train, describe-weights and the shipped files do)")
    parser.add_argument("--kpt-weight", type=float, default=None,
                        help="lambda_K the weights were trained with; checked against a manifest beside them")
    parser.add_argument("--weights-sha256", default=None, help="expected sha256 of the weights file (pinned)")


def _scene_args(parser, videos: int, frames: int, height: int, width: int):
    """The procedural scene's size: number of videos, frames per video, frame height and width."""
    parser.add_argument("--videos", type=POSITIVE_INT, default=videos)
    parser.add_argument("--frames", type=_checked(values.whole, 2), default=frames)
    parser.add_argument("--height", type=SIZE, default=height)
    parser.add_argument("--width", type=SIZE, default=width)


def _runtime_args(parser):
    parser.add_argument("--threads", type=POSITIVE_INT, default=None, help="torch CPU threads (default torch's choice)")
    parser.add_argument("--deterministic", action="store_true",
                        help="fixed threads (default 1) and deterministic algorithms: repeats bit for bit on this "
                             "machine and software")


def _train_args(p):
    """``train``'s flags (the procedural scene's size and the runtime flags come from the helpers above)."""
    p.add_argument("--out", required=True)
    p.add_argument("--kpt-weight", type=float, default=0.0, help="lambda_K")
    p.add_argument("--head", choices=HEADS, default=None, help="keypoint head; shallow when --kpt-weight > 0")
    p.add_argument("--head-only", action="store_true",
                   help="train only the keypoint head, backbone and RPN frozen (pre-training the head)")
    p.add_argument("--pretrained-head", action="store_true",
                   help="record that --init-weights carry a pre-trained keypoint head")
    p.add_argument("--init-weights", default=None)
    p.add_argument("--recipe", choices=["package", "skelevision"], default="package",
                   help="skelevision: the paper's reference recipe (TrainConfig.skelevision); flags given override it")
    p.add_argument("--keypoint-loss", choices=KEYPOINT_LOSSES, default=None,
                   help="heatmap_bce (Gaussian heatmaps; package default) or softmax_ce (the reference code's)")
    p.add_argument("--head-style", choices=HEAD_STYLES, default=None,
                   help="batchnorm (package default) or skelevision: the reference code's head")
    p.add_argument("--optimizer", choices=["adam", "sgd"], default=None, help="adam (package default) or sgd")
    p.add_argument("--lr", type=_checked(values.positive, 1.0), default=None)
    p.add_argument("--lr-decay", type=float, default=None, help="learning rate factor per epoch (1: constant)")
    p.add_argument("--epochs", type=POSITIVE_INT, default=None, help="default 10; 50 with --recipe skelevision")
    p.add_argument("--iters", type=POSITIVE_INT, default=None,
                   help="steps per epoch (default 100); --recipe skelevision: one pass over every training item")
    p.add_argument("--batch-size", type=POSITIVE_INT, default=None,
                   help="per process, default 16 (torchrun: times the processes); replaces --global-batch")
    p.add_argument("--global-batch", type=POSITIVE_INT, default=None,
                   help="pairs per step over all processes, split evenly (--recipe skelevision: 1024)")
    p.add_argument("--accumulate", type=POSITIVE_INT, default=1,
                   help="split each batch into this many micro-batches, gradients added (same step, less memory)")
    p.add_argument("--instance-size", type=_checked(values.whole, 127, 1023), default=255,
                   help="search crop size during training")
    p.add_argument("--val-videos", type=POSITIVE_INT, default=4,
                   help="procedural (and LaSOT) validation videos; every OTB-layout validation track is used")
    p.add_argument("--val-pairs", type=POSITIVE_INT, default=64)
    p.add_argument("--seed", type=_checked(values.whole, 0), default=None,
                   help=f"run and data seed (default {TRAIN_SEED}; 42 with --recipe skelevision)")
    p.add_argument("--device", choices=DEVICES, default="auto", help="auto: CUDA when available")
    p.add_argument("--amp", choices=AMP_MODES, default=None,
                   help="mixed precision: fp16 (CUDA, loss-scaled) or bf16; off: fp32. Default off; fp16 on CUDA "
                        "with --recipe skelevision (the reference trained in 16-bit)")
    p.add_argument("--workers", type=_checked(values.whole, 0), default=0,
                   help="data-loading processes (0: the training process)")
    p.add_argument("--coco-annotations", default=None, help="person_keypoints_*.json: train on COCO persons")
    p.add_argument("--coco-images", default=None, help="the COCO image folder of those annotations")
    p.add_argument("--coco-max", type=POSITIVE_INT, default=None, help="use at most this many COCO persons")
    p.add_argument("--coco-val-annotations", default=None,
                   help="person_keypoints_val*.json: its persons validate (--recipe skelevision; the package "
                        "validates on tracks only)")
    p.add_argument("--coco-val-images", default=None, help="the COCO image folder of --coco-val-annotations")
    p.add_argument("--lasot", default=None, help="LaSOT person folder: frames 1-800 train, 801-900 validate")
    p.add_argument("--lasot-max", type=POSITIVE_INT, default=None, help="use at most this many sequences")
    p.add_argument("--otb-train", action="append", default=[], metavar="ROOT",
                   help="a folder of OTB-layout sequences (NAME/img/, groundtruth_rect.txt) to train on, the last "
                        "20%% of each validating; repeatable. Person-tracking evaluation videos are refused")
    p.add_argument("--with-procedural", action="store_true",
                   help="train on the procedural scene (--videos) as well as the real sources given")
    p.add_argument("--backdrops", action="append", default=[], metavar="PATH",
                   help="image files or folders: half the procedural training videos walk in front of one; repeatable")
    p.add_argument("--average-from", type=POSITIVE_INT, default=None, metavar="EPOCH",
                   help="average the weights of this epoch (1-based) and every later one (SWA); the average, batch "
                        "norm recomputed, competes with the epochs for best.pth and is saved as average.pth")
    p.add_argument("--min-gain", type=float, default=0.0,
                   help="the --init-weights stay best.pth unless a candidate beats their validation mIoU by more "
                        "than this many points (a margin for validation noise)")
    p.add_argument("--interpolate-to", default=None, metavar="WEIGHTS",
                   help="train nothing: validate (1-a)*--init-weights + a*WEIGHTS for each a of --alphas (WiSE-FT; "
                        "batch norm recomputed) as candidates for best.pth")
    p.add_argument("--alphas", default="0,0.25,0.5,0.75,1", help="comma-separated, in [0, 1] (--interpolate-to)")
    p.add_argument("--distractors", type=float, default=0.0, metavar="FRACTION",
                   help="fraction of procedural training videos in which a second walker crosses behind the person")
    p.add_argument("--lowres", type=float, default=None,
                   help="probability that a training pair is seen at a lower resolution (small, low-res people)")
    p.add_argument("--motion-blur", type=float, default=None,
                   help="probability of a linear motion blur of the search crop")
    p.add_argument("--jpeg", type=float, default=None, help="probability of JPEG artefacts on both crops")
    _spec_args(p, "package: validation tracks with the preset's tracker, recorded in every checkpoint")


def build_parser() -> argparse.ArgumentParser:
    from armory_siammtl.cli import commands, train

    parser = argparse.ArgumentParser(prog="armory-siammtl", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("track", help="track one object through a video file or frame folder")
    p.add_argument("video")
    p.add_argument("--init", type=_box, required=True, help="first-frame box x1,y1,x2,y2")
    _model_args(p)
    _spec_args(p, "the tracking setting the weights record, else the package's")
    p.add_argument("--out", default="track_out")
    p.add_argument("--max-frames", type=POSITIVE_INT, default=None)
    p.add_argument("--video-out", action="store_true", help="also write an annotated tracked.mp4")
    _runtime_args(p)
    p.set_defaults(func=commands.cmd_track)

    p = sub.add_parser("attack", help="adversarial texture on a video with the paper's digital patch")
    p.add_argument("video")
    p.add_argument("--init", type=_box, help="first-frame box, when no --boxes are given")
    p.add_argument("--boxes", help="ground-truth boxes, one x1,y1,x2,y2 line per frame (NaN or 0 rows: absent)")
    p.add_argument("--boxes-xywh", action="store_true", help="--boxes lines are x,y,w,h (OTB)")
    _model_args(p)
    _spec_args(p, "package (the attack's keys: step_size, max_iter, checkpoints, gradient, ...)")
    p.add_argument("--seed", type=_checked(values.whole, 0), default=0, help="the attack's seed")
    p.add_argument("--max-frames", type=POSITIVE_INT, default=100)
    p.add_argument("--out", default="attack_out")
    _runtime_args(p)
    p.set_defaults(func=commands.cmd_attack)

    p = sub.add_parser("make-data", help="write procedural person videos as frame folders")
    p.add_argument("--out", required=True)
    _scene_args(p, 4, 30, 960, 1280)
    p.add_argument("--seed", type=_checked(values.whole, 0), default=EMBEDDED_SEED)
    p.set_defaults(func=commands.cmd_make_data)

    p = sub.add_parser("train", help="train STL (lambda_K = 0) or MTL SiamRPN (procedural, COCO, LaSOT, OTB-layout)")
    _scene_args(p, 60, 24, 480, 640)
    _runtime_args(p)
    _train_args(p)
    p.set_defaults(func=train.cmd_train)

    p = sub.add_parser("describe-weights", help="copy a pysot checkpoint with the metadata this package verifies "
                                                "(lambda_K, head, tensors' sha256), e.g. for an ARMORY submission")
    p.add_argument("--weights", required=True, help="pysot-format checkpoint (.pth)")
    p.add_argument("--kpt-weight", type=float, default=0.0, help="lambda_K it was trained with (0 for STL)")
    p.add_argument("--head", choices=HEADS, default=None, help="its keypoint head (MTL models)")
    p.add_argument("--pretrained-head", action="store_true", help="its keypoint head was pre-trained first")
    p.add_argument("--weights-sha256", default=None, help="expected sha256 of the input file")
    p.add_argument("--training-command", default=None, help="how it was trained, recorded in the file")
    _spec_args(p, "package: the tracking setting recorded as the one the weights are meant for")
    p.add_argument("--out", required=True, help="the new, self-describing checkpoint")
    p.set_defaults(func=commands.cmd_describe_weights)

    p = sub.add_parser("evaluate-real", help="benign tracking on real OTB-layout videos vs OpenCV MIL, NanoTrack "
                                             "and a static box")
    p.add_argument("paths", nargs="+", help="sequence folders (img/ + groundtruth_rect.txt) or roots holding them")
    p.add_argument("--weights", action="append", required=True,
                   help="a checkpoint to evaluate (repeatable); each must record its lambda_K and head (train, "
                        "describe-weights and the shipped files do), unless one is given with --kpt-weight/--head")
    p.add_argument("--head", choices=HEADS, default=None, help="the keypoint head of a single plain pysot --weights")
    p.add_argument("--kpt-weight", type=float, default=None, help="lambda_K of a single plain pysot --weights")
    _spec_args(p, "the tracking setting the weights record, else the package's")
    p.add_argument("--nanotrack", default=None, metavar="DIR",
                   help="NanoTrack v2's ONNX files (nanotrack_backbone_sim.onnx, nanotrack_head_sim.onnx)")
    p.add_argument("--max-frames", type=POSITIVE_INT, default=100, help="first frames of each video (the paper's 100)")
    p.add_argument("--starts", type=POSITIVE_INT, default=1,
                   help="also track from later start frames (OTB's TRE: k*T/STARTS, k < STARTS); 1: frame 0 only")
    p.add_argument("--out", default=None, help="folder for real_video.csv")
    _runtime_args(p)
    p.set_defaults(func=commands.cmd_evaluate_real)

    p = sub.add_parser("keypoints", help="PCK and pixel error of an MTL model's keypoint head (procedural, COCO, or "
                                         "real people of other pose datasets)")
    _model_args(p)
    _scene_args(p, 4, 24, 480, 640)
    p.add_argument("--seed", type=_checked(values.whole, 0), default=HELD_OUT_SEED,
                   help="first video seed (training used 0-59)")
    p.add_argument("--pairs", type=POSITIVE_INT, default=128)
    p.add_argument("--alpha", type=_checked(values.positive, 1.0), default=PCK_ALPHA,
                   help="PCK threshold, fraction of the box's longer side")
    p.add_argument("--coco-annotations", default=None, help="person_keypoints JSON: evaluate on its people instead")
    p.add_argument("--coco-images", default=None, help="its image folder (default: the JSON's folder)")
    p.add_argument("--pose-root", default=None, metavar="DIR",
                   help="a folder of pose datasets in their own formats (../shared/data/keypoints-eval): evaluate "
                        "on their people, per dataset and overall")
    p.add_argument("--out", default=None, help="folder for keypoints.json and keypoints.md")
    p.set_defaults(func=commands.cmd_keypoints)

    p = sub.add_parser("curves", help="learning curves of training runs: validation mIoU table, loss and mIoU figure")
    p.add_argument("runs", nargs="+", help="training run folders (each holding metrics.csv)")
    p.add_argument("--out", required=True, help="folder for learning_curves.md/.png and each run's metrics.csv")
    p.set_defaults(func=commands.cmd_curves)

    p = sub.add_parser("compare-runs", help="every candidate of training runs validated alike, ranked by validation "
                                            "mIoU")
    p.add_argument("runs", nargs="+", help="training run folders (each holding metrics.json)")
    p.add_argument("--top", type=POSITIVE_INT, default=10)
    p.set_defaults(func=commands.cmd_compare_runs)

    p = sub.add_parser("repeat", help="armory run a scenario again under what may change its result (seeds, threads, "
                                      "CPU kernels) and tabulate how far it moves")
    p.add_argument("scenario")
    p.add_argument("--out", required=True, help="folder for each run's results JSON and summary.md")
    p.set_defaults(func=commands.cmd_repeat)

    p = sub.add_parser("setup", help="prepare ARMORY (config, weights) for --no-docker runs")
    p.add_argument("--home", default="~", help="the home folder whose .armory/ ARMORY reads (default ~)")
    p.add_argument("--weights-dir", default=str(SHIPPED_WEIGHTS))
    p.add_argument("--replace", action="store_true",
                   help="replace weights files (or links) of the same names in saved_model_dir that differ")
    p.set_defaults(func=commands.cmd_setup)

    p = sub.add_parser("validate", help="check scenario JSONs (ARMORY schema, imports, installed and verified weights)")
    p.add_argument("scenarios", nargs="+")
    p.add_argument("--weights-dir", default=None,
                   help="the folder ARMORY loads weights from (default: saved_model_dir of ~/.armory/config.json)")
    p.add_argument("--load", action="store_true", help="also load each model and run predict + loss_gradient")
    p.set_defaults(func=commands.cmd_validate)

    p = sub.add_parser("estimate", help="how long a scenario will take on this machine (a timed step, scaled)")
    p.add_argument("scenario")
    p.add_argument("--weights-dir", default=None,
                   help="the folder ARMORY loads weights from (default: saved_model_dir of ~/.armory/config.json)")
    p.set_defaults(func=commands.cmd_estimate)

    p = sub.add_parser("sweep", help="attack every (model, step size, video, seed) of a config; resumable")
    p.add_argument("config", help="sweep config, JSON or YAML")
    p.add_argument("--results", default="sweep_results.csv", help="tidy CSV, appended after every cell")
    p.add_argument("--report", default=None, help="also write the report into this folder when done")
    p.add_argument("--emit-scenarios", default=None, metavar="DIR",
                   help="write one ARMORY scenario JSON per (model, step size, seed) instead of running")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                   help="run each cell as a Ray task: on a new local instance, or the cluster at ADDRESS ('auto')")
    p.add_argument("--ray-cpus", type=_checked(values.positive, 1024), default=1,
                   help="CPUs (torch threads) each Ray cell asks for")
    p.add_argument("--ray-gpus", type=float, default=0, help="GPUs each Ray cell asks for (e.g. 0.5: two per GPU)")
    _runtime_args(p)
    p.set_defaults(func=commands.cmd_sweep)

    p = sub.add_parser("report", help="tables (today's and the paper's layout) and plots of a sweep's results CSV")
    p.add_argument("results")
    p.add_argument("--out", default="sweep_report")
    p.add_argument("--dataset", default=None, help="the dataset to report when the CSV holds several")
    p.add_argument("--paper-values", default=None, metavar="CSV",
                   help="the paper's own table values (model,step_size,steps,miou) to print beside ours")
    p.set_defaults(func=commands.cmd_report)

    p = sub.add_parser("reproduce", help="one table of the paper: train its missing models (--train), run its grid "
                                         "resumably and write the paper-layout report; --dry-run: runs and cost")
    p.add_argument("table", choices=["table1", "table2", "table3"])
    p.add_argument("--weights-dir", required=True, help="the family's weights files, named as the scenarios name them")
    p.add_argument("--out", default=None, help="folder for sweep.json, results.csv and report/ (not with --dry-run)")
    p.add_argument("--carla-dir", default=None, help="ARMORY's dataset_dir holding carla_video_tracking_dev")
    p.add_argument("--otb-root", default=None, help="the OTB2015 folder (table2)")
    p.add_argument("--max-iter", type=int, choices=[100, 1000], default=100,
                   help="attack steps: 100 (the reference quickstart) or 1000 (the paper's longest)")
    p.add_argument("--dry-run", action="store_true",
                   help="list every run with its cost measured on this machine and the projected hours; write nothing")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="where --dry-run measures")
    p.add_argument("--carla-frames", type=POSITIVE_INT, default=100,
                   help="--dry-run: frames per CARLA dev video to assume (their lengths are not known here)")
    p.add_argument("--train", action="store_true", help="train the missing models with --recipe skelevision first")
    p.add_argument("--pysot", default="siamrpn_alex_dwxcorr.pth", help="pysot's siamrpn_alex_dwxcorr checkpoint")
    for flag, what in (("--coco-annotations", "person_keypoints_train2017.json"), ("--coco-images", "train2017/"),
                       ("--coco-val-annotations", "person_keypoints_val2017.json"), ("--coco-val-images", "val2017/"),
                       ("--lasot", "LaSOT's person folder")):
        p.add_argument(flag, default=None, help=f"--train: {what}")
    p.add_argument("--paper-values", default=None, metavar="CSV", help="the paper's values to print beside ours")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                   help="run each cell as a Ray task: on a new local instance, or the cluster at ADDRESS ('auto')")
    p.add_argument("--ray-cpus", type=_checked(values.positive, 1024), default=1)
    p.add_argument("--ray-gpus", type=float, default=0)
    _runtime_args(p)
    p.set_defaults(func=commands.cmd_reproduce)

    p = sub.add_parser("transfer", help="every texture a sweep saved, tracked by each of its models: the crafted-on x "
                                        "evaluated-on mIoU table per step count; resumable")
    p.add_argument("config", help="the sweep's config, JSON or YAML")
    p.add_argument("--results", required=True, help="the sweep's results CSV (its .cells/ hold the textures)")
    p.add_argument("--out", required=True, help="folder for transfer.csv and transfer.md")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _runtime_args(p)
    p.set_defaults(func=commands.cmd_transfer)
    return parser
