"""Every subcommand's arguments (``build_parser``; the shared flags in ``arguments``); what each runs is in
``commands`` and ``train``."""

import argparse

from armory_siammtl import values
from armory_siammtl.cli import commands
from armory_siammtl.cli.arguments import (
    POSITIVE_INT,
    box,
    checked,
    model_args,
    ray_args,
    runtime_args,
    scene_args,
    spec_args,
    train_args,
)
from armory_siammtl.data.splits import EMBEDDED_SEED, HELD_OUT_SEED
from armory_siammtl.evaluation.keypoints import PCK_ALPHA
from armory_siammtl.models.manifest import SHIPPED_WEIGHTS
from armory_siammtl.models.variant import HEADS

DESCRIPTION = (
    "armory-siammtl: SiamRPN person trackers trained alone (STL) or with keypoints (MTL), attacked by "
    "the SkeleVision adversarial texture, in and around ARMORY"
)


def build_parser() -> argparse.ArgumentParser:
    from armory_siammtl.cli import train

    parser = argparse.ArgumentParser(prog="armory-siammtl", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("track", help="track one object through a video file or frame folder")
    p.add_argument("video")
    p.add_argument("--init", type=box, required=True, help="first-frame box x1,y1,x2,y2")
    model_args(p)
    spec_args(p, "the tracking setting the weights record, else the package's")
    p.add_argument("--out", default="track_out")
    p.add_argument("--max-frames", type=POSITIVE_INT, default=None)
    p.add_argument("--video-out", action="store_true", help="also write an annotated tracked.mp4")
    runtime_args(p)
    p.set_defaults(func=commands.cmd_track)

    p = sub.add_parser("attack", help="adversarial texture on a video with the paper's digital patch")
    p.add_argument("video")
    p.add_argument("--init", type=box, help="first-frame box, when no --boxes are given")
    p.add_argument("--boxes", help="ground-truth boxes, one x1,y1,x2,y2 line per frame (NaN or 0 rows: absent)")
    p.add_argument("--boxes-xywh", action="store_true", help="--boxes lines are x,y,w,h (OTB)")
    model_args(p)
    spec_args(p, "package (the attack's keys: step_size, max_iter, checkpoints, gradient, ...)")
    p.add_argument("--seed", type=checked(values.whole, 0), default=0, help="the attack's seed")
    p.add_argument("--max-frames", type=POSITIVE_INT, default=100)
    p.add_argument("--out", default="attack_out")
    runtime_args(p)
    p.set_defaults(func=commands.cmd_attack)

    p = sub.add_parser("make-data", help="write procedural person videos as frame folders")
    p.add_argument("--out", required=True)
    scene_args(p, 4, 30, 960, 1280)
    p.add_argument("--seed", type=checked(values.whole, 0), default=EMBEDDED_SEED)
    p.set_defaults(func=commands.cmd_make_data)

    p = sub.add_parser("train", help="train STL (lambda_K = 0) or MTL SiamRPN (procedural, COCO, LaSOT, OTB-layout)")
    scene_args(p, 60, 24, 480, 640)
    runtime_args(p)
    train_args(p)
    p.set_defaults(func=train.cmd_train)

    p = sub.add_parser(
        "describe-weights",
        help="copy a pysot checkpoint with the metadata this package verifies "
        "(lambda_K, head, tensors' sha256), e.g. for an ARMORY submission",
    )
    p.add_argument("--weights", required=True, help="pysot-format checkpoint (.pth)")
    p.add_argument("--kpt-weight", type=float, default=0.0, help="lambda_K it was trained with (0 for STL)")
    p.add_argument("--head", choices=HEADS, default=None, help="its keypoint head (MTL models)")
    p.add_argument("--pretrained-head", action="store_true", help="its keypoint head was pre-trained first")
    p.add_argument("--weights-sha256", default=None, help="expected sha256 of the input file")
    p.add_argument("--training-command", default=None, help="how it was trained, recorded in the file")
    spec_args(p, "package: the tracking setting recorded as the one the weights are meant for")
    p.add_argument("--out", required=True, help="the new, self-describing checkpoint")
    p.set_defaults(func=commands.cmd_describe_weights)

    p = sub.add_parser(
        "evaluate-real", help="benign tracking on real OTB-layout videos vs OpenCV MIL, NanoTrack and a static box"
    )
    p.add_argument("paths", nargs="+", help="sequence folders (img/ + groundtruth_rect.txt) or roots holding them")
    p.add_argument(
        "--weights",
        action="append",
        required=True,
        help="a checkpoint to evaluate (repeatable); each must record its lambda_K and head (train, "
        "describe-weights and the shipped files do), unless one is given with --kpt-weight/--head",
    )
    p.add_argument("--head", choices=HEADS, default=None, help="the keypoint head of a single plain pysot --weights")
    p.add_argument("--kpt-weight", type=float, default=None, help="lambda_K of a single plain pysot --weights")
    spec_args(p, "the tracking setting the weights record, else the package's")
    p.add_argument(
        "--nanotrack",
        default=None,
        metavar="DIR",
        help="NanoTrack v2's ONNX files (nanotrack_backbone_sim.onnx, nanotrack_head_sim.onnx)",
    )
    p.add_argument("--max-frames", type=POSITIVE_INT, default=100, help="first frames of each video (the paper's 100)")
    p.add_argument(
        "--starts",
        type=POSITIVE_INT,
        default=1,
        help="also track from later start frames (OTB's TRE: k*T/STARTS, k < STARTS); 1: frame 0 only",
    )
    p.add_argument(
        "--mil-seeds",
        type=POSITIVE_INT,
        default=None,
        metavar="N",
        help="also run OpenCV MIL with N seeds of its random generator and report how far one run moves",
    )
    p.add_argument("--out", default=None, help="folder for real_video.csv, real_video.md (and mil_seeds.md)")
    runtime_args(p)
    p.set_defaults(func=commands.cmd_evaluate_real)

    p = sub.add_parser(
        "keypoints",
        help="PCK and pixel error of an MTL model's keypoint head (procedural, COCO, or "
        "real people of other pose datasets)",
    )
    model_args(p)
    scene_args(p, 4, 24, 480, 640)
    p.add_argument(
        "--seed", type=checked(values.whole, 0), default=HELD_OUT_SEED, help="first video seed (training used 0-59)"
    )
    p.add_argument("--pairs", type=POSITIVE_INT, default=128)
    p.add_argument(
        "--alpha",
        type=checked(values.positive, 1.0),
        default=PCK_ALPHA,
        help="PCK threshold, fraction of the box's longer side",
    )
    p.add_argument("--coco-annotations", default=None, help="person_keypoints JSON: evaluate on its people instead")
    p.add_argument("--coco-images", default=None, help="its image folder (default: the JSON's folder)")
    p.add_argument(
        "--pose-root",
        default=None,
        metavar="DIR",
        help="a folder of pose datasets in their own formats (../shared/data/keypoints-eval): evaluate "
        "on their people, per dataset and overall",
    )
    p.add_argument("--out", default=None, help="folder for keypoints.json and keypoints.md")
    p.set_defaults(func=commands.cmd_keypoints)

    p = sub.add_parser("curves", help="learning curves of training runs: validation mIoU table, loss and mIoU figure")
    p.add_argument("runs", nargs="+", help="training run folders (each holding metrics.csv)")
    p.add_argument("--out", required=True, help="folder for learning_curves.md/.png and each run's metrics.csv")
    p.set_defaults(func=commands.cmd_curves)

    p = sub.add_parser(
        "compare-runs", help="every candidate of training runs validated alike, ranked by validation mIoU"
    )
    p.add_argument("runs", nargs="+", help="training run folders (each holding metrics.json)")
    p.add_argument("--top", type=POSITIVE_INT, default=10)
    p.set_defaults(func=commands.cmd_compare_runs)

    p = sub.add_parser(
        "compare-results", help="how far a sweep's cells moved when run again (other CPU kernels, threads, machine)"
    )
    p.add_argument("reference", help="the sweep's results CSV")
    p.add_argument("rerun", help="results CSV of the same cells run again")
    p.add_argument("--out", default=None, help="folder for rerun.md and rerun.csv")
    p.set_defaults(func=commands.cmd_compare_results)

    p = sub.add_parser(
        "repeat",
        help="armory run a scenario again under what may change its result (seeds, threads, "
        "CPU kernels) and tabulate how far it moves",
    )
    p.add_argument("scenario")
    p.add_argument("--out", required=True, help="folder for each run's results JSON and summary.md")
    p.set_defaults(func=commands.cmd_repeat)

    p = sub.add_parser("setup", help="prepare ARMORY (config, weights) for --no-docker runs")
    p.add_argument("--home", default="~", help="the home folder whose .armory/ ARMORY reads (default ~)")
    p.add_argument("--weights-dir", default=str(SHIPPED_WEIGHTS))
    p.add_argument(
        "--replace",
        action="store_true",
        help="replace weights files (or links) of the same names in saved_model_dir that differ",
    )
    p.set_defaults(func=commands.cmd_setup)

    p = sub.add_parser("validate", help="check scenario JSONs (ARMORY schema, imports, installed and verified weights)")
    p.add_argument("scenarios", nargs="+")
    p.add_argument(
        "--weights-dir",
        default=None,
        help="the folder ARMORY loads weights from (default: saved_model_dir of ~/.armory/config.json)",
    )
    p.add_argument("--load", action="store_true", help="also load each model and run predict + loss_gradient")
    p.set_defaults(func=commands.cmd_validate)

    p = sub.add_parser("estimate", help="how long a scenario will take on this machine (a timed step, scaled)")
    p.add_argument("scenario")
    p.add_argument(
        "--weights-dir",
        default=None,
        help="the folder ARMORY loads weights from (default: saved_model_dir of ~/.armory/config.json)",
    )
    p.set_defaults(func=commands.cmd_estimate)

    p = sub.add_parser("sweep", help="attack every (model, step size, video, seed) of a config; resumable")
    p.add_argument("config", help="sweep config, JSON or YAML")
    p.add_argument("--results", default="sweep_results.csv", help="tidy CSV, appended after every cell")
    p.add_argument("--report", default=None, help="also write the report into this folder when done")
    p.add_argument(
        "--emit-scenarios",
        default=None,
        metavar="DIR",
        help="write one ARMORY scenario JSON per (model, step size, seed) instead of running",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    ray_args(p)
    runtime_args(p)
    p.set_defaults(func=commands.cmd_sweep)

    p = sub.add_parser("report", help="tables (today's and the paper's layout) and plots of a sweep's results CSV")
    p.add_argument("results")
    p.add_argument("--out", default="sweep_report")
    p.add_argument("--dataset", default=None, help="the dataset to report when the CSV holds several")
    p.add_argument(
        "--paper-values",
        default=None,
        metavar="CSV",
        help="the paper's own table values (model,step_size,steps,miou) to print beside ours",
    )
    p.set_defaults(func=commands.cmd_report)

    p = sub.add_parser(
        "reproduce",
        help="one table of the paper: train its missing models (--train), run its grid "
        "resumably and write the paper-layout report; --dry-run: runs and cost",
    )
    p.add_argument("table", choices=["table1", "table2", "table3"])
    p.add_argument("--weights-dir", required=True, help="the family's weights files, named as the scenarios name them")
    p.add_argument("--out", default=None, help="folder for sweep.json, results.csv and report/ (not with --dry-run)")
    p.add_argument("--carla-dir", default=None, help="ARMORY's dataset_dir holding carla_video_tracking_dev")
    p.add_argument("--otb-root", default=None, help="the OTB2015 folder (table2)")
    p.add_argument(
        "--max-iter",
        type=int,
        choices=[100, 1000],
        default=100,
        help="attack steps: 100 (the reference quickstart) or 1000 (the paper's longest)",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="list every run with its cost measured on this machine and the projected hours; write nothing",
    )
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="where --dry-run measures")
    p.add_argument(
        "--carla-frames",
        type=POSITIVE_INT,
        default=100,
        help="--dry-run: frames per CARLA dev video to assume (their lengths are not known here)",
    )
    p.add_argument("--train", action="store_true", help="train the missing models with --recipe skelevision first")
    p.add_argument("--pysot", default="siamrpn_alex_dwxcorr.pth", help="pysot's siamrpn_alex_dwxcorr checkpoint")
    for flag, what in (
        ("--coco-annotations", "person_keypoints_train2017.json"),
        ("--coco-images", "train2017/"),
        ("--coco-val-annotations", "person_keypoints_val2017.json"),
        ("--coco-val-images", "val2017/"),
        ("--lasot", "LaSOT's person folder"),
    ):
        p.add_argument(flag, default=None, help=f"--train: {what}")
    p.add_argument("--paper-values", default=None, metavar="CSV", help="the paper's values to print beside ours")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    ray_args(p)
    runtime_args(p)
    p.set_defaults(func=commands.cmd_reproduce)

    p = sub.add_parser(
        "transfer",
        help="every texture a sweep saved, tracked by each of its models: the crafted-on x "
        "evaluated-on mIoU table per step count; resumable",
    )
    p.add_argument("config", help="the sweep's config, JSON or YAML")
    p.add_argument("--results", required=True, help="the sweep's results CSV (its .cells/ hold the textures)")
    p.add_argument("--out", required=True, help="folder for transfer.csv and transfer.md")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    runtime_args(p)
    p.set_defaults(func=commands.cmd_transfer)
    return parser
