"""``armory-siammtl train``: one training run (one process, or one ``torchrun`` rank) from its flags."""

import json
import shlex


def _alphas(text: str) -> list:
    try:
        return [float(a) for a in text.split(",")]
    except ValueError:
        raise ValueError(f"--alphas must be comma-separated numbers in [0, 1], got {text!r}") from None


def data_record(args) -> dict:
    """The flags that decide the training and validation tracks, as a run records them (a resumed run must
    read the same data)."""
    names = (
        "videos",
        "frames",
        "height",
        "width",
        "coco_annotations",
        "coco_images",
        "coco_max",
        "lasot",
        "lasot_max",
        "otb_train",
        "with_procedural",
        "backdrops",
        "distractors",
        "recipe",
        "coco_val_annotations",
        "coco_val_images",
    )
    record = {name: getattr(args, name) for name in names}
    if args.otb_val_sequence:  # recorded only when given: runs from before the flag resume as they were
        record["otb_val_sequence"] = sorted(args.otb_val_sequence)
    return record


def _config(args, variant, tracking, worker):
    """The run's TrainConfig: the recipe's settings, each flag given replacing one (``--batch-size`` replaces
    the recipe's global batch); the reference recipe trains in fp16 on CUDA unless ``--amp`` says otherwise."""
    from armory_siammtl.training.trainer import TrainConfig

    chosen = dict(
        optimizer=args.optimizer,
        lr=args.lr,
        lr_decay=args.lr_decay,
        seed=args.seed,
        keypoint_loss=args.keypoint_loss,
        head_style=args.head_style,
        epochs=args.epochs,
        iters_per_epoch=args.iters,
        batch_size=args.batch_size,
        global_batch=args.global_batch,
        amp=args.amp,
    )
    chosen = {k: v for k, v in chosen.items() if v is not None}  # else the recipe's
    if args.recipe == "skelevision":
        if args.batch_size is not None and args.global_batch is None:
            chosen["global_batch"] = None
        if args.amp is None and worker.device.type == "cuda":
            chosen["amp"] = "fp16"
    make = TrainConfig.skelevision if args.recipe == "skelevision" else TrainConfig
    cfg = make(
        out_dir=args.out,
        variant=variant,
        head_only=args.head_only,
        init_weights=args.init_weights,
        instance_size=args.instance_size,
        val_videos=args.val_videos,
        val_pairs=args.val_pairs,
        device=args.device,
        workers=args.workers,
        accumulate=args.accumulate,
        average_from=args.average_from,
        min_gain=args.min_gain,
        data=data_record(args),
        tracking=tracking,
        command=" ".join(["armory-siammtl", *map(shlex.quote, args.argv)]),
        **chosen,
    )
    for name in ("lowres", "motion_blur", "jpeg"):
        if getattr(args, name) is not None:
            setattr(cfg.augment, name, getattr(args, name))
    cfg.augment.__post_init__()  # the probabilities' check
    return cfg


def cmd_train(args, trainer_class=None) -> None:
    """``train``; ``trainer_class``: a ``Trainer`` subclass to run instead (an experiment's own objective)."""
    from armory_siammtl.data.splits import training_tracks
    from armory_siammtl.experiment.spec import preset
    from armory_siammtl.models.variant import ModelVariant
    from armory_siammtl.training.distributed import join, leave
    from armory_siammtl.training.trainer import Trainer

    alphas = _alphas(args.alphas) if args.interpolate_to else None  # refused before any data is read
    variant = ModelVariant.for_training(args.kpt_weight, args.head, args.head_only, args.pretrained_head)
    tracking = preset(args.preset or "package", "otb", **dict(args.settings)).tracking  # validation on real video
    worker = join(args.device, args.dist_timeout)
    try:
        cfg = _config(args, variant, tracking, worker)
        log = print if worker.is_main else (lambda *_: None)
        tracks = training_tracks(
            args.videos,
            args.val_videos,
            args.frames,
            args.height,
            args.width,
            cfg.seed,
            args.coco_annotations,
            args.coco_images,
            args.coco_max,
            args.lasot,
            args.lasot_max,
            args.otb_train,
            args.with_procedural,
            args.backdrops,
            args.distractors,
            log=log,
            recipe=args.recipe,
            coco_val_annotations=args.coco_val_annotations,
            coco_val_images=args.coco_val_images,
            otb_held_out=args.otb_val_sequence,
        )
        trainer = (trainer_class or Trainer)(cfg, *tracks, worker=worker)
        with trainer.exclusive():
            if args.interpolate_to:
                best = trainer.interpolate(args.interpolate_to, alphas)
            else:
                if trainer.resume():
                    log(f"resuming after epoch {trainer.start_epoch}")
                best = trainer.fit()
        log("best epoch:", json.dumps(best))
    finally:
        leave(worker)
