"""What each subcommand runs (its arguments are parsed in ``parser``): library calls and printing only."""

import json
from pathlib import Path

import numpy as np

from armory_siammtl.atomic import write_text
from armory_siammtl.models.variant import ModelVariant


def variant_of(args) -> ModelVariant:
    """The model of ``--weights``: as ``--kpt-weight``/``--head`` describe it, else as the file records."""
    if args.kpt_weight is None and args.head is None:
        from armory_siammtl.models.loading import variant_from_file
        from armory_siammtl.models.metadata import read_metadata
        from armory_siammtl.models.weights_file import read_weights

        if read_metadata(read_weights(args.weights, args.weights_sha256), args.weights) is not None:
            return variant_from_file(args.weights, args.weights_sha256)
    return ModelVariant(args.kpt_weight, args.head, weights=args.weights, sha256=args.weights_sha256)


def spec_of(args, weights=None, dataset: str = "otb"):
    """The experiment spec of ``--preset``/``--set``; without either, the tracking setting ``weights``
    record (``experiment.spec_for``)."""
    from armory_siammtl.experiment.spec import spec_for

    return spec_for(weights, args.preset, dict(args.settings), dataset)


def out_dir(path) -> Path:
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    return out


def _estimator(args, spec):
    from armory_siammtl.estimators import build_estimator

    return build_estimator(variant_of(args), spec.tracking)


def cmd_track(args):
    from armory_siammtl.data.video import read_video, write_video

    out = out_dir(args.out)
    spec = spec_of(args, args.weights)
    video = read_video(args.video, args.max_frames)
    print(f"tracking in the {spec.label} setting")
    pred = _estimator(args, spec).predict(video[None], y_init=np.asarray([args.init]), verbose=True)[0]
    np.savetxt(out / "boxes.txt", pred["boxes"], fmt="%.2f", header="x1 y1 x2 y2")
    if args.video_out:
        write_video(out / "tracked.mp4", video, {(0, 255, 0): pred["boxes"]})
    print(f"tracked {len(video)} frames -> {out / 'boxes.txt'}")


def cmd_attack(args):
    import cv2

    from armory_siammtl.attacks import run_attack
    from armory_siammtl.data.attack_videos import AttackVideo
    from armory_siammtl.data.patch import digital_patch_metadata
    from armory_siammtl.data.video import read_video, write_video
    from armory_siammtl.input_checks import read_box_file

    if not args.boxes and not args.init:
        raise ValueError(
            "attack needs --boxes (the ground truth) or --init (the first box: the attack then "
            "targets the benign track)"
        )
    spec = spec_of(args)  # checked before any video is read
    out = out_dir(args.out)
    video = read_video(args.video, args.max_frames)
    gt = read_box_file(args.boxes, args.boxes_xywh, len(video)) if args.boxes else None
    estimator = _estimator(args, spec)
    if gt is None:
        gt = estimator.predict(video[None], y_init=np.asarray([args.init]))[0]["boxes"]
        print("no ground truth given: attacking the benign track")
    target = AttackVideo(Path(args.video).stem, video, gt, digital_patch_metadata(video.shape[1:3], gt))
    print(f"attacking in the {spec.label} setting")
    run = run_attack(estimator, target, spec.attack, seed=args.seed, verbose=True)
    cv2.imwrite(str(out / "texture.png"), cv2.cvtColor((run.texture * 255).astype(np.uint8), cv2.COLOR_RGB2BGR))
    write_video(out / "adversarial.mp4", run.adversarial, {(0, 255, 0): gt, (0, 0, 255): run.checkpoints[-1].boxes})
    scores = run.scores()
    report = {
        "spec": spec.label,
        "settings": spec.as_dict(),
        "benign": scores[0],
        "checkpoints": [{"steps": steps, **row} for steps, row in scores.items() if steps],
    }
    write_text(out / "scores.json", json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))


def cmd_make_data(args):
    from armory_siammtl.data.export import write_frame_folders

    write_frame_folders(args.out, range(args.seed, args.seed + args.videos), args.frames, args.height, args.width)
    print(f"wrote {args.videos} procedural videos under {args.out}")


def cmd_describe_weights(args):
    from armory_siammtl.models import load_model, save_weights

    out = Path(args.out)
    if out.is_dir():
        raise ValueError(f"--out {out} is a folder; name the new weights file")
    if out.exists() and out.resolve() == Path(args.weights).resolve():
        raise ValueError(f"--out {out} is the input file; write the described copy to a new file")
    spec = spec_of(args)
    variant = ModelVariant(
        args.kpt_weight, args.head, args.pretrained_head, weights=args.weights, sha256=args.weights_sha256
    )
    digest = save_weights(load_model(variant), out, variant, spec.tracking.as_dict(), args.training_command)
    print(f"wrote {out} ({variant.describe()}, tracking setting {spec.label}), sha256 {digest}")


def cmd_evaluate_real(args):
    from armory_siammtl.evaluation.real_video import mil_spread, run
    from armory_siammtl.models.loading import variant_from_file

    if args.out is not None:
        out_dir(args.out)
    if args.head is not None or args.kpt_weight is not None:
        if len(args.weights) != 1:
            raise ValueError(
                "--kpt-weight/--head describe one plain pysot file; several --weights must describe themselves"
            )
        variants = [ModelVariant(args.kpt_weight, args.head, weights=args.weights[0])]
    else:
        variants = [variant_from_file(w) for w in args.weights]
    spec = spec_of(args, args.weights[0])
    print(f"tracking in the {spec.label} setting")
    run(args.paths, variants, spec.tracking, args.max_frames, args.out, args.starts, args.nanotrack)
    if args.mil_seeds:
        mil_spread(args.paths, args.mil_seeds, args.max_frames, args.out)


def cmd_compare_results(args):
    from armory_siammtl.evaluation.rerun import compare

    if args.out is not None:
        out_dir(args.out)
    print(compare(args.reference, args.rerun, args.out))


def cmd_keypoints(args):
    from armory_siammtl.evaluation.keypoints import keypoint_accuracy, pose_dataset_accuracy, pose_markdown
    from armory_siammtl.models import load_model

    variant = variant_of(args)
    if variant.head is None:
        raise ValueError(f"{args.weights} is an STL model (no keypoint head); keypoints evaluates MTL models")
    model = load_model(variant)
    if args.pose_root:
        result = pose_dataset_accuracy(model, args.pose_root, alpha=args.alpha)
        print(pose_markdown(result))
        if args.out:
            write_text(out_dir(args.out) / "keypoints.md", pose_markdown(result))
    elif args.coco_annotations:
        from armory_siammtl.data.coco import coco_person_tracks

        tracks = coco_person_tracks(args.coco_annotations, args.coco_images or Path(args.coco_annotations).parent)
        result = keypoint_accuracy(model, tracks, args.pairs, alpha=args.alpha)
    else:
        from armory_siammtl.data.splits import procedural_split

        tracks = procedural_split(args.seed, args.videos, args.frames, args.height, args.width)
        result = keypoint_accuracy(model, tracks, args.pairs, alpha=args.alpha)
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        write_text(out_dir(args.out) / "keypoints.json", text + "\n")


def cmd_curves(args):
    from armory_siammtl.training.curves import write_curves

    print(write_curves(args.runs, out_dir(args.out)))


def cmd_compare_runs(args):
    from armory_siammtl.training.curves import rank_candidates

    print(rank_candidates(args.runs, args.top))


def cmd_repeat(args):
    from armory_siammtl.armory.repeat import repeat_scenario

    print(repeat_scenario(args.scenario, out_dir(args.out)))


def cmd_setup(args):
    from armory_siammtl.armory.setup import run_setup

    run_setup(args.home, args.weights_dir, replace=args.replace)


def cmd_validate(args):
    from armory_siammtl.armory.scenario_checks import dataset_note, validate_scenario
    from armory_siammtl.armory.setup import armory_dataset_dir, installed_weights_dir

    weights_dir = args.weights_dir or installed_weights_dir()
    dataset_dir = armory_dataset_dir()
    print(f"weights folder: {weights_dir}")
    failed = 0
    for path in args.scenarios:
        try:
            config = validate_scenario(path, weights_dir, load=args.load)
            note = dataset_note(config, dataset_dir)
            print(f"ok      {path}" + (f"\n        ({note})" if note else ""))
        except (ValueError, FileNotFoundError) as exc:
            failed += 1
            print(f"FAILED  {exc}")
    if failed:
        raise ValueError(f"{failed} of {len(args.scenarios)} scenarios failed validation")


def cmd_estimate(args):
    import torch

    from armory_siammtl.armory.estimate import estimate
    from armory_siammtl.armory.setup import installed_weights_dir

    found = estimate(args.scenario, args.weights_dir or installed_weights_dir())
    what = (
        f"{found['videos']} videos x {found['frames']} frames"
        if found["embedded"]
        else "per video of 30 frames (the dataset's size is not in the scenario)"
    )
    print(
        f"estimated {found['minutes']:.0f} min on this machine for {what}, {found['steps']} attack steps "
        f"({found['step_seconds_per_frame']:.2f} s per frame per step, {torch.get_num_threads()} threads)"
    )


def cmd_sweep(args):
    from armory_siammtl.evaluation.sweep import emit_scenarios, run_sweep
    from armory_siammtl.evaluation.sweep_config import load_sweep_config

    config = load_sweep_config(args.config)
    if args.emit_scenarios:
        for path in emit_scenarios(config, args.emit_scenarios):
            print(f"wrote {path}")
        return
    if args.report:
        out_dir(args.report)  # refused before hours of attack, not after
    ray = None
    if args.ray is not None:
        from armory_siammtl.evaluation.ray_sweep import RayCluster

        ray = RayCluster(None if args.ray == "local" else args.ray, args.ray_cpus, args.ray_gpus)
    print(f"sweeping in the {config.spec.label} setting")
    results = run_sweep(config, args.results, progress=not args.quiet, ray=ray)
    print(f"{len(results.rows)} rows in {results.path}")
    if args.report:
        _report(args.results, args.report)


def _report(results, out, dataset=None, paper_values=None):
    from armory_siammtl.evaluation.report import write_report

    written = write_report(results, out_dir(out), dataset, paper_values)
    print(written["markdown"])
    print(f"wrote {written['report_md']} (tables, figures and videos on one page)")


def cmd_reproduce(args):
    from armory_siammtl.reproduce.plan import with_data
    from armory_siammtl.reproduce.run import dry_run, reproduce
    from armory_siammtl.training.commands import TrainingData

    data = with_data(
        TrainingData(),
        pysot=args.pysot,
        coco_annotations=args.coco_annotations,
        coco_images=args.coco_images,
        coco_val_annotations=args.coco_val_annotations,
        coco_val_images=args.coco_val_images,
        lasot=args.lasot,
    )
    if args.dry_run:
        print(
            dry_run(
                args.table,
                args.weights_dir,
                args.carla_dir,
                args.otb_root,
                args.max_iter,
                args.carla_frames,
                args.device,
                data,
                str(Path(args.out or ".") / "runs"),
            )
        )
        return
    if args.out is None:
        raise ValueError("reproduce needs --out, the folder for its sweep, results and report")
    ray = None
    if args.ray is not None:
        from armory_siammtl.evaluation.ray_sweep import RayCluster

        ray = RayCluster(None if args.ray == "local" else args.ray, args.ray_cpus, args.ray_gpus)
    reproduce(
        args.table,
        args.weights_dir,
        out_dir(args.out),
        args.carla_dir,
        args.otb_root,
        args.max_iter,
        args.train,
        data,
        ray,
        args.paper_values,
        not args.quiet,
    )


def cmd_transfer(args):
    from armory_siammtl.evaluation.sweep_config import load_sweep_config
    from armory_siammtl.evaluation.transfer import write_transfer

    print(write_transfer(load_sweep_config(args.config), args.results, out_dir(args.out), not args.quiet))


def cmd_report(args):
    _report(args.results, args.out, args.dataset, args.paper_values)
