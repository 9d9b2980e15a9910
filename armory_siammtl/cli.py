"""``armory-siammtl`` command line: track, attack, make-data, train, describe-weights, keypoints, setup, validate,
sweep, report."""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from armory_siammtl.models.manifest import SHIPPED_WEIGHTS
from armory_siammtl.data.splits import EMBEDDED_SEED, HELD_OUT_SEED
from armory_siammtl.evaluation.keypoints import PCK_ALPHA
from armory_siammtl.input_checks import read_box_file
from armory_siammtl.models.variant import HEADS, ModelVariant
from armory_siammtl.tracking.config import TrackingConfig
from armory_siammtl.training import command as training_command


def _box(text):
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"box must be x1,y1,x2,y2 numbers, got {text!r}")
    if len(values) != 4:
        raise argparse.ArgumentTypeError(f"box must have 4 numbers x1,y1,x2,y2, got {text!r}")
    return values


def _model_args(parser, head_required: bool = False):
    parser.add_argument("--weights", required=True, help="pysot-format checkpoint (.pth)")
    parser.add_argument("--head", choices=HEADS, default=None, required=head_required,
                        help="keypoint head the checkpoint carries (MTL models); omit for STL")
    parser.add_argument("--kpt-weight", type=float, default=None,
                        help="lambda_K the weights were trained with; checked against a manifest beside them")
    parser.add_argument("--sha256", default=None, help="expected sha256 of the weights file")
    parser.add_argument("--instance-size", type=int, default=TrackingConfig.instance_size,
                        help="search crop size in pixels (the paper's 255; pysot's config uses 287)")


def _scene_args(parser, videos: int, frames: int, height: int, width: int):
    """The procedural scene's size: number of videos, frames per video, frame height and width."""
    for flag, default in (("--videos", videos), ("--frames", frames), ("--height", height), ("--width", width)):
        parser.add_argument(flag, type=int, default=default)


def _runtime_args(parser):
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default torch's choice)")
    parser.add_argument("--deterministic", action="store_true",
                        help="fixed threads (default 1) and deterministic algorithms: repeats bit for bit on this "
                             "machine and software")


def _apply_runtime(args) -> None:
    import torch

    from armory_siammtl.runtime import make_deterministic

    if getattr(args, "deterministic", False):
        make_deterministic(args.threads or 1)
    elif getattr(args, "threads", None):
        torch.set_num_threads(args.threads)


def _variant(args) -> ModelVariant:
    return ModelVariant(args.kpt_weight, args.head, weights=args.weights, sha256=args.sha256)


def _estimator(args):
    from armory_siammtl.estimators import build_estimator

    return build_estimator(_variant(args), TrackingConfig(instance_size=args.instance_size))


def _out_dir(path) -> Path:
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    return out


def cmd_track(args):
    from armory_siammtl.data.video import read_video, write_video

    out = _out_dir(args.out)
    video = read_video(args.video, args.max_frames)
    estimator = _estimator(args)
    pred = estimator.predict(video[None], y_init=np.asarray([args.init]), verbose=True)[0]
    np.savetxt(out / "boxes.txt", pred["boxes"], fmt="%.2f", header="x1 y1 x2 y2")
    if args.video_out:
        write_video(out / "tracked.mp4", video, {(0, 255, 0): pred["boxes"]})
    print(f"tracked {len(video)} frames -> {out / 'boxes.txt'}")


DEFAULT_CHECKPOINTS = (10, 20, 50)


def _checkpoints(args) -> list:
    """The step counts to record: those given (each at most --steps), else the defaults below --steps."""
    given = args.checkpoints if args.checkpoints is not None else [c for c in DEFAULT_CHECKPOINTS if c < args.steps]
    return sorted(set(given) | {args.steps})


def cmd_attack(args):
    import cv2

    from armory_siammtl.attacks import run_attack
    from armory_siammtl.data.attack_videos import AttackVideo
    from armory_siammtl.data.patch import digital_patch_metadata
    from armory_siammtl.data.video import read_video, write_video

    if not args.boxes and not args.init:
        raise ValueError("attack needs --boxes (the ground truth) or --init (the first box: the attack then "
                         "targets the benign track)")
    out = _out_dir(args.out)
    video = read_video(args.video, args.max_frames)
    gt = read_box_file(args.boxes, args.boxes_xywh, len(video)) if args.boxes else None
    estimator = _estimator(args)
    if gt is None:
        gt = estimator.predict(video[None], y_init=np.asarray([args.init]))[0]["boxes"]
        print("no ground truth given: attacking the benign track")
    target = AttackVideo(Path(args.video).stem, video, gt, digital_patch_metadata(video.shape[1:3], gt), None)
    run = run_attack(estimator, target, step_size=args.step_size, steps=args.steps,
                     checkpoints=_checkpoints(args), gradient=args.gradient,
                     frame_batch=args.frame_batch, seed=args.seed)
    cv2.imwrite(str(out / "texture.png"), cv2.cvtColor((run.texture * 255).astype(np.uint8), cv2.COLOR_RGB2BGR))
    write_video(out / "adversarial.mp4", run.adversarial, {(0, 255, 0): gt, (0, 0, 255): run.checkpoints[-1].boxes})
    report = {"benign_miou": run.benign_miou,
              "checkpoints": [{"steps": steps, "miou": miou} for steps, miou in run.mious().items() if steps]}
    (out / "miou.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))


def cmd_make_data(args):
    from armory_siammtl.data.export import write_frame_folders, write_tfds

    seeds = range(args.seed, args.seed + args.videos)
    if args.format in ("folders", "both"):
        write_frame_folders(args.out, seeds, args.frames, args.height, args.width)
    if args.format in ("tfds", "both"):
        write_tfds(args.out, seeds, args.frames)
    print(f"wrote {args.videos} procedural videos under {args.out}")


def cmd_describe_weights(args):
    from armory_siammtl.models import load_model, save_checkpoint

    out = Path(args.out)
    if out.exists() and out.resolve() == Path(args.weights).resolve():
        raise ValueError(f"--out {out} is the input file; write the described copy to a new file")
    variant = ModelVariant(args.kpt_weight, args.head, args.pretrained_head, weights=args.weights, sha256=args.sha256)
    digest = save_checkpoint(load_model(variant), out, variant, TrackingConfig().as_dict(), args.training_command)
    print(f"wrote {out} ({variant.describe()}), sha256 {digest}")


def cmd_evaluate_real(args):
    from armory_siammtl.evaluation.real_video import run

    run(args.paths, _variant(args), TrackingConfig(instance_size=args.instance_size), args.max_frames, args.out,
        args.starts)


def cmd_keypoints(args):
    from armory_siammtl.data.splits import procedural_split
    from armory_siammtl.evaluation.keypoints import keypoint_accuracy
    from armory_siammtl.models import load_model

    model = load_model(_variant(args))
    if args.coco_annotations:
        from armory_siammtl.data.coco import coco_person_tracks

        tracks = coco_person_tracks(args.coco_annotations, args.coco_images or Path(args.coco_annotations).parent)
    else:
        tracks = procedural_split(args.seed, args.videos, args.frames, args.height, args.width)
    print(json.dumps(keypoint_accuracy(model, tracks, args.pairs, alpha=args.alpha), indent=1))


def cmd_setup(args):
    from armory_siammtl.armory.setup import run_setup

    run_setup(args.home, args.weights_dir, args.videos, args.frames, replace=args.replace)


def cmd_validate(args):
    from armory_siammtl.armory.scenario_checks import validate_scenario
    from armory_siammtl.armory.setup import installed_weights_dir

    weights_dir = args.weights_dir or installed_weights_dir()
    print(f"weights folder: {weights_dir}")
    failed = 0
    for path in args.scenarios:
        try:
            validate_scenario(path, weights_dir, load=args.load)
            print(f"ok      {path}")
        except (ValueError, FileNotFoundError) as exc:
            failed += 1
            print(f"FAILED  {exc}")
    if failed:
        raise ValueError(f"{failed} of {len(args.scenarios)} scenarios failed validation")


def cmd_sweep(args):
    from armory_siammtl.evaluation.sweep import emit_scenarios, run_sweep
    from armory_siammtl.evaluation.sweep_config import load_sweep_config

    config = load_sweep_config(args.config)
    if args.emit_scenarios:
        for path in emit_scenarios(config, args.emit_scenarios):
            print(f"wrote {path}")
        return
    ray = None
    if args.ray is not None:
        from armory_siammtl.evaluation.ray_sweep import RayCluster

        ray = RayCluster(None if args.ray == "local" else args.ray, args.ray_cpus, args.ray_gpus)
    results = run_sweep(config, args.results, progress=not args.quiet, ray=ray)
    print(f"{len(results.rows)} rows in {results.path}")
    if args.report:
        _report(args.results, args.report)


def _report(results, out, dataset=None):
    from armory_siammtl.evaluation.report import write_report

    written = write_report(results, out, dataset)
    print(written["markdown"])
    print(f"wrote {written['report_md']} (table, figures and videos on one page)")


def cmd_report(args):
    _report(args.results, args.out, args.dataset)


def build_parser():
    parser = argparse.ArgumentParser(prog="armory-siammtl", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("track", help="track one object through a video file or frame folder")
    p.add_argument("video")
    p.add_argument("--init", type=_box, required=True, help="first-frame box x1,y1,x2,y2")
    _model_args(p)
    p.add_argument("--out", default="track_out")
    p.add_argument("--max-frames", type=int, default=None)
    p.add_argument("--video-out", action="store_true", help="also write an annotated tracked.mp4")
    _runtime_args(p)
    p.set_defaults(func=cmd_track)

    p = sub.add_parser("attack", help="adversarial texture on a video with the paper's digital patch")
    p.add_argument("video")
    p.add_argument("--init", type=_box, help="first-frame box, when no --boxes are given")
    p.add_argument("--boxes", help="ground-truth boxes, one x1,y1,x2,y2 line per frame")
    p.add_argument("--boxes-xywh", action="store_true", help="--boxes lines are x,y,w,h (OTB)")
    _model_args(p)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--step-size", type=float, default=0.1)
    p.add_argument("--checkpoints", type=int, nargs="*", default=None,
                   help="step counts to record besides --steps (default 10 20 50, those below --steps)")
    p.add_argument("--gradient", choices=["raw", "sign"], default="raw")
    p.add_argument("--frame-batch", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-frames", type=int, default=100)
    p.add_argument("--out", default="attack_out")
    _runtime_args(p)
    p.set_defaults(func=cmd_attack)

    p = sub.add_parser("make-data", help="write procedural person videos (frame folders and/or TFDS)")
    p.add_argument("--out", required=True)
    _scene_args(p, 4, 30, 960, 1280)
    p.add_argument("--seed", type=int, default=EMBEDDED_SEED)
    p.add_argument("--format", choices=["folders", "tfds", "both"], default="folders")
    p.set_defaults(func=cmd_make_data)

    p = sub.add_parser("train", help="train STL (lambda_K = 0) or MTL SiamRPN (procedural, COCO, LaSOT, OTB-layout)")
    _scene_args(p, 60, 24, 480, 640)
    _runtime_args(p)
    training_command.add_arguments(p)
    p.set_defaults(func=training_command.run)

    p = sub.add_parser("describe-weights", help="copy a pysot checkpoint with the metadata this package verifies "
                                                "(lambda_K, head, tensors' sha256), e.g. for an ARMORY submission")
    p.add_argument("--weights", required=True, help="pysot-format checkpoint (.pth)")
    p.add_argument("--kpt-weight", type=float, default=0.0, help="lambda_K it was trained with (0 for STL)")
    p.add_argument("--head", choices=HEADS, default=None, help="its keypoint head (MTL models)")
    p.add_argument("--pretrained-head", action="store_true", help="its keypoint head was pre-trained first")
    p.add_argument("--sha256", default=None, help="expected sha256 of the input file")
    p.add_argument("--training-command", default=None, help="how it was trained, recorded in the file")
    p.add_argument("--out", required=True, help="the new, self-describing checkpoint")
    p.set_defaults(func=cmd_describe_weights)

    p = sub.add_parser("evaluate-real", help="benign tracking on real OTB-layout videos vs OpenCV MIL and a static box")
    p.add_argument("paths", nargs="+", help="sequence folders (img/ + groundtruth_rect.txt) or roots holding them")
    _model_args(p)
    p.add_argument("--max-frames", type=int, default=100, help="first frames of each video (the paper's 100)")
    p.add_argument("--starts", type=int, default=1,
                   help="also track from later start frames (OTB's TRE: k*T/STARTS, k < STARTS); 1: frame 0 only")
    p.add_argument("--out", default=None, help="folder for real_video.csv")
    p.set_defaults(func=cmd_evaluate_real)

    p = sub.add_parser("keypoints", help="PCK and pixel error of an MTL model's keypoint head (procedural or COCO)")
    _model_args(p, head_required=True)
    _scene_args(p, 4, 24, 480, 640)
    p.add_argument("--seed", type=int, default=HELD_OUT_SEED, help="first video seed (training used 0-59)")
    p.add_argument("--pairs", type=int, default=128)
    p.add_argument("--alpha", type=float, default=PCK_ALPHA, help="PCK threshold, fraction of the box's longer side")
    p.add_argument("--coco-annotations", default=None, help="person_keypoints JSON: evaluate on its people instead")
    p.add_argument("--coco-images", default=None, help="its image folder (default: the JSON's folder)")
    p.set_defaults(func=cmd_keypoints)

    p = sub.add_parser("setup", help="prepare ARMORY (config, weights, embedded dataset) for --no-docker runs")
    p.add_argument("--home", default="~", help="the home folder whose .armory/ ARMORY reads (default ~)")
    p.add_argument("--weights-dir", default=str(SHIPPED_WEIGHTS))
    p.add_argument("--videos", type=int, default=3, help="embedded default: number of videos")
    p.add_argument("--frames", type=int, default=30, help="embedded default: frames per video")
    p.add_argument("--replace", action="store_true",
                   help="replace weights files (or links) of the same names in saved_model_dir that differ")
    p.set_defaults(func=cmd_setup)

    p = sub.add_parser("validate", help="check scenario JSONs (ARMORY schema, imports, installed and verified weights)")
    p.add_argument("scenarios", nargs="+")
    p.add_argument("--weights-dir", default=None,
                   help="the folder ARMORY loads weights from (default: saved_model_dir of ~/.armory/config.json)")
    p.add_argument("--load", action="store_true", help="also load each model and run predict + loss_gradient")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("sweep", help="attack every (model, step size, video) of a config; resumable")
    p.add_argument("config", help="sweep config, JSON or YAML")
    p.add_argument("--results", default="sweep_results.csv", help="tidy CSV, appended after every cell")
    p.add_argument("--report", default=None, help="also write the report into this folder when done")
    p.add_argument("--emit-scenarios", default=None, metavar="DIR",
                   help="write one ARMORY scenario JSON per (model, step size) instead of running")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                   help="run each cell as a Ray task: on a new local instance, or the cluster at ADDRESS ('auto')")
    p.add_argument("--ray-cpus", type=float, default=1, help="CPUs (torch threads) each Ray cell asks for")
    p.add_argument("--ray-gpus", type=float, default=0, help="GPUs each Ray cell asks for (e.g. 0.5: two per GPU)")
    _runtime_args(p)
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("report", help="Markdown table and PNG plots of a sweep's results CSV")
    p.add_argument("results")
    p.add_argument("--out", default="sweep_report")
    p.add_argument("--dataset", default=None, help="the dataset to report when the CSV holds several")
    p.set_defaults(func=cmd_report)
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    try:
        _apply_runtime(args)
        args.func(args)
    except (ValueError, FileNotFoundError, FloatingPointError) as exc:
        print(f"armory-siammtl {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
