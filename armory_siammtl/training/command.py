"""``armory-siammtl train``: its flags and what it runs (one process, or one ``torchrun`` rank)."""

import json
import shlex

from armory_siammtl.data.splits import TRAIN_SEED
from armory_siammtl.models.keypoint_head import HEAD_STYLES, KEYPOINT_LOSSES
from armory_siammtl.models.variant import HEADS, ModelVariant
from armory_siammtl.tracking.config import TrackingConfig
from armory_siammtl.training.distributed import DEVICES
from armory_siammtl.training.precision import AMP_MODES


def add_arguments(p) -> None:
    """The training flags (the procedural scene's size and the runtime flags are added by the CLI)."""
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
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--lr-decay", type=float, default=None, help="learning rate factor per epoch (1: constant)")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--iters", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=16, help="per process (torchrun: times the processes)")
    p.add_argument("--accumulate", type=int, default=1,
                   help="split each batch into this many micro-batches, gradients added (same step, less memory)")
    p.add_argument("--instance-size", type=int, default=TrackingConfig.instance_size,
                   help="search crop size during training")
    p.add_argument("--val-videos", type=int, default=4)
    p.add_argument("--val-pairs", type=int, default=64)
    p.add_argument("--seed", type=int, default=None, help=f"run and data seed (default {TRAIN_SEED}; 42 with --recipe skelevision)")
    p.add_argument("--device", choices=DEVICES, default="auto", help="auto: CUDA when available")
    p.add_argument("--amp", choices=AMP_MODES, default="off",
                   help="mixed precision: fp16 (CUDA, loss-scaled) or bf16; off: fp32")
    p.add_argument("--workers", type=int, default=0, help="data-loading processes (0: the training process)")
    p.add_argument("--coco-annotations", default=None, help="person_keypoints_*.json: train on COCO persons")
    p.add_argument("--coco-images", default=None, help="the COCO image folder of those annotations")
    p.add_argument("--coco-max", type=int, default=None, help="use at most this many COCO persons")
    p.add_argument("--lasot", default=None, help="LaSOT person folder: frames 1-800 train, 801-900 validate")
    p.add_argument("--lasot-max", type=int, default=None, help="use at most this many sequences")
    p.add_argument("--otb-train", action="append", default=[], metavar="ROOT",
                   help="a folder of OTB-layout sequences (NAME/img/, groundtruth_rect.txt) to train on, the last "
                        "20%% of each validating; repeatable. Person-tracking evaluation videos are refused")
    p.add_argument("--with-procedural", action="store_true",
                   help="train on the procedural scene (--videos) as well as the real sources given")
    p.add_argument("--backdrops", action="append", default=[], metavar="PATH",
                   help="image files or folders: half the procedural training videos walk in front of one; repeatable")
    p.add_argument("--average-from", type=int, default=None, metavar="EPOCH",
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


def run(args) -> None:
    from armory_siammtl.data.splits import training_tracks
    from armory_siammtl.training.distributed import leave, place
    from armory_siammtl.training.trainer import TrainConfig, Trainer

    alphas = _alphas(args.alphas) if args.interpolate_to else None  # refused before any data is read
    variant = ModelVariant.for_training(args.kpt_weight, args.head, args.head_only, args.pretrained_head)
    chosen = {k: v for k, v in dict(optimizer=args.optimizer, lr=args.lr, lr_decay=args.lr_decay, seed=args.seed, keypoint_loss=args.keypoint_loss,
                                    head_style=args.head_style).items() if v is not None}  # else the recipe's
    make = TrainConfig.skelevision if args.recipe == "skelevision" else TrainConfig
    cfg = make(out_dir=args.out, variant=variant, head_only=args.head_only, init_weights=args.init_weights,
               epochs=args.epochs, iters_per_epoch=args.iters, batch_size=args.batch_size,
               instance_size=args.instance_size, val_videos=args.val_videos, val_pairs=args.val_pairs,
               device=args.device, amp=args.amp, workers=args.workers, accumulate=args.accumulate,
               average_from=args.average_from, min_gain=args.min_gain, data=_data_record(args),
               command=" ".join(["armory-siammtl", *map(shlex.quote, args.argv)]), **chosen)
    for name in ("lowres", "motion_blur", "jpeg"):
        if getattr(args, name) is not None:
            setattr(cfg.augment, name, getattr(args, name))
    cfg.augment.__post_init__()  # the probabilities' check
    placement = place(cfg.device)
    try:
        log = print if placement.is_main else (lambda *_: None)
        tracks = training_tracks(args.videos, args.val_videos, args.frames, args.height, args.width, cfg.seed,
                                 args.coco_annotations, args.coco_images, args.coco_max, args.lasot, args.lasot_max,
                                 args.otb_train, args.with_procedural, args.backdrops, args.distractors, log=log)
        trainer = Trainer(cfg, *tracks, placement=placement)
        with trainer.exclusive():
            if args.interpolate_to:
                best = trainer.interpolate(args.interpolate_to, alphas)
            else:
                if trainer.resume():
                    log(f"resuming after epoch {trainer.start_epoch}")
                best = trainer.fit()
        log("best epoch:", json.dumps(best))
    finally:
        leave(placement)


def _alphas(text: str) -> list:
    try:
        return [float(a) for a in text.split(",")]
    except ValueError:
        raise ValueError(f"--alphas must be comma-separated numbers in [0, 1], got {text!r}") from None


def _data_record(args) -> dict:
    """The flags that decide the training and validation tracks, as a run records them (a resumed run must
    read the same data)."""
    names = ("videos", "frames", "height", "width", "coco_annotations", "coco_images", "coco_max", "lasot",
             "lasot_max", "otb_train", "with_procedural", "backdrops", "distractors")
    return {name: getattr(args, name) for name in names}
