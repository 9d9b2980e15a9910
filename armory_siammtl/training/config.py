"""``TrainConfig``: one training run's settings, the paper's reference recipe (``TrainConfig.skelevision``),
and the record a run's checkpoints carry (a run resumes only with the same record)."""

from dataclasses import asdict, dataclass, field, replace
from typing import Optional

from armory_siammtl import values
from armory_siammtl.models.keypoint_head import KEYPOINT_LOSSES
from armory_siammtl.models.variant import ModelVariant
from armory_siammtl.tracking.config import TrackingConfig
from armory_siammtl.training.losses import BOX_LOSSES
from armory_siammtl.training.pairs import Augment
from armory_siammtl.training.precision import AMP_MODES


@dataclass
class TrainConfig:
    """One training run. ``variant`` is the model it trains (lambda_K, head; see
    ``ModelVariant.for_training``); ``head_only`` trains the keypoint head alone, backbone and RPN frozen
    (the first stage of a pre-trained-head model). Search crops are ``instance_size`` pixels during training;
    validation tracks every validation video with ``tracking`` (the setting the weights are meant for). Both
    are recorded in every checkpoint.
    ``batch_size`` is per process (a ``torchrun`` run's global batch is it times the number of processes);
    ``accumulate`` splits it into that many micro-batches whose gradients add up (the same step, less
    memory); ``workers`` data-loading processes; ``device`` auto/cpu/cuda; ``amp`` off/fp16/bf16.
    ``average_from``: from this epoch (1-based) to the last, the weights at the end of each epoch enter a
    running mean (SWA, ``training.averaging``); after the last epoch the mean, with batch-norm statistics
    recomputed on training pairs, is validated as one more candidate for ``best.pth`` and saved as
    ``average.pth``. A run from ``init_weights`` validates them first: they compete for ``best.pth`` too, so
    that further training is kept only where it scores higher on the same validation set, by more than
    ``min_gain`` (mIoU points, or loss with ``select_by="val_total"``: a margin for validation noise)."""

    out_dir: str
    variant: ModelVariant = field(default_factory=ModelVariant)
    head_only: bool = False
    init_weights: Optional[str] = None  # a pysot checkpoint to start from
    optimizer: str = "adam"  # "adam" or "sgd" (momentum 0.9, weight decay 1e-4, as pysot)
    lr: Optional[float] = None  # 8e-4, or 1e-3 for head-only training
    epochs: int = 10
    iters_per_epoch: int = 100
    batch_size: int = 16
    val_pairs: int = 64
    val_videos: int = 4
    seed: int = 0
    instance_size: int = 255
    augment: Augment = field(default_factory=Augment)
    command: Optional[str] = None  # the command line that started the run, recorded in its checkpoints
    keypoint_loss: str = "heatmap_bce"  # or "softmax_ce", the reference code's (models.keypoint_head)
    head_style: str = "batchnorm"  # or "skelevision", the reference code's keypoint head
    box_loss: str = "smooth_l1"  # or "l1", pysot's weighted L1 (losses.regression_loss)
    lr_decay: float = 1.0  # the learning rate is multiplied by this after every epoch (ExponentialLR)
    grad_clip: Optional[float] = 10.0  # pysot's GRAD_CLIP; None: no clipping
    select_by: str = "val_miou"  # best.pth: highest validation mIoU, or "val_total": lowest validation loss
    device: str = "auto"
    amp: str = "off"
    workers: int = 0
    accumulate: int = 1
    average_from: Optional[int] = None
    min_gain: float = 0.0  # the start weights stay best.pth unless a candidate beats them by more than this
    tracking: TrackingConfig = field(default_factory=TrackingConfig)  # validation tracks with it; recorded
    data: dict = field(default_factory=dict)  # what the training and validation tracks were made from
    recipe: str = "package"  # or "skelevision" (``skelevision()``)
    sampling: str = "tracks"  # or "items": an epoch is every (track, frame) once (batches.PairDataset)
    validation_pairs: str = "augmented"  # or "clean": every validation item once, no jitter, previous frame
    negatives: Optional[int] = None  # negative anchors per pair: filled to 64, or exactly this many
    head_only_batch_norm: str = "frozen"  # head-only training: backbone batch norm "frozen" or "updating"
    global_batch: Optional[int] = None  # pairs per step over all processes; None: batch_size per process

    @classmethod
    def skelevision(cls, **overrides) -> "TrainConfig":
        """The paper's reference recipe (its tuning configs, data module and Makefile; the differences that
        remain are in docs/reproducing.md): fine-tuning pysot's ``siamrpn_alex_dwxcorr`` (``init_weights``
        required) with SGD (momentum 0.9, weight decay 1e-4) at 8e-4 (1e-3 pre-training the head), x0.95 per
        epoch, 50 epochs; an epoch is every COCO person and LaSOT frame once, shuffled, the template within 10
        frames of it; a global batch of 1024 (256 per GPU on 4 GPUs under Lightning's DDP), fp16 on CUDA (the
        command line's choice); anisotropic affine jitter with whole-pixel
        shifts, pysot's PCA colour offset on both crops and its 7-pixel cross blur on 20 % of search crops; no
        negative pairs and exactly 48 negative anchors per pair; pysot's weighted L1 box loss (weight 1.2), no
        gradient clipping; the reference keypoint head and loss; validation on every validation item once,
        without jitter, the template the previous frame; the best epoch by lowest validation loss; seed 42;
        head pre-training with the backbone's batch-norm statistics updating."""
        settings = dict(
            recipe="skelevision",
            optimizer="sgd",
            lr=1e-3 if overrides.get("head_only") else 8e-4,
            lr_decay=0.95,
            epochs=50,
            box_loss="l1",
            grad_clip=None,
            keypoint_loss="softmax_ce",
            head_style="skelevision",
            select_by="val_total",
            seed=42,
            sampling="items",
            validation_pairs="clean",
            negatives=48,
            head_only_batch_norm="updating",
            global_batch=1024,
            augment=Augment(
                negative=0.0,
                blur=0.2,
                frame_range=10,
                colour=0.0,
                pca_colour=1.0,
                affine="anisotropic",
                blur_kernel="cross",
            ),
        )
        settings.update(overrides)
        return cls(**settings)

    def __post_init__(self):
        for name in (
            "epochs",
            "iters_per_epoch",
            "batch_size",
            "val_pairs",
            "val_videos",
            "instance_size",
            "accumulate",
        ):
            setattr(self, name, values.whole(f"training {name}", getattr(self, name), minimum=1))
        if self.head_only:
            self.variant = ModelVariant.for_training(self.variant.kpt_weight, self.variant.head, head_only=True)
        if self.lr is None:
            self.lr = 1e-3 if self.head_only else 8e-4
        self.lr = values.positive("training lr", self.lr)
        if self.keypoint_loss not in KEYPOINT_LOSSES:
            raise ValueError(f"keypoint_loss must be one of {KEYPOINT_LOSSES}, not {self.keypoint_loss!r}")
        if self.box_loss not in BOX_LOSSES:
            raise ValueError(f"box_loss must be one of {BOX_LOSSES}, not {self.box_loss!r}")
        if self.select_by not in ("val_miou", "val_total"):
            raise ValueError(f"select_by must be 'val_miou' or 'val_total', not {self.select_by!r}")
        if not 0 < self.lr_decay <= 1:
            raise ValueError(f"lr_decay must lie in (0, 1], got {self.lr_decay}")
        if self.amp not in AMP_MODES:
            raise ValueError(f"amp must be one of {AMP_MODES}, not {self.amp!r}")
        self.workers = values.whole("training workers", self.workers, minimum=0)
        if self.batch_size % self.accumulate:
            raise ValueError(f"batch size {self.batch_size} does not split into {self.accumulate} accumulation steps")
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd', not {self.optimizer!r}")
        if self.average_from is not None and not (
            isinstance(self.average_from, int)
            and not isinstance(self.average_from, bool)
            and 1 <= self.average_from <= self.epochs
        ):
            raise ValueError(f"average_from must be an epoch from 1 to {self.epochs}, got {self.average_from!r}")
        self.min_gain = values.non_negative("min_gain", self.min_gain)
        if self.variant.pretrained_head and not self.init_weights:
            raise ValueError("a pre-trained-head model starts from init_weights that hold the pre-trained head")
        choices = {
            "recipe": ("package", "skelevision"),
            "sampling": ("tracks", "items"),
            "validation_pairs": ("augmented", "clean"),
            "head_only_batch_norm": ("frozen", "updating"),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"training {name} must be one of {allowed}, not {getattr(self, name)!r}")
        if self.recipe == "skelevision" and not self.init_weights:
            raise ValueError(
                "the reference recipe fine-tunes pysot's siamrpn_alex_dwxcorr checkpoint: give it as "
                "--init-weights (a pysot-format file; or --recipe package to train from scratch)"
            )
        if self.negatives is not None and not 1 <= self.negatives <= 63:
            raise ValueError(f"training negatives must be 1-63 anchors per pair, got {self.negatives!r}")
        if self.global_batch is not None and (isinstance(self.global_batch, bool) or self.global_batch < 1):
            raise ValueError(f"training global_batch must be a whole number >= 1, got {self.global_batch!r}")

    def record(self) -> dict:
        """What a checkpoint records of this run (plain values, readable with ``weights_only=True``); a run
        resumes only with the same record."""
        return {
            "kpt_weight": self.variant.kpt_weight,
            "head": self.variant.head,
            "pretrained_head": self.variant.pretrained_head,
            "head_only": self.head_only,
            "instance_size": self.instance_size,
            "seed": self.seed,
            "keypoint_loss": self.keypoint_loss,
            "head_style": self.head_style,
            "box_loss": self.box_loss,
            "average_from": self.average_from,
            "tracking": self.tracking.as_dict(),
            "optimizer": self.optimizer,
            "lr": self.lr,
            "lr_decay": self.lr_decay,
            "grad_clip": self.grad_clip,
            "select_by": self.select_by,
            "batch_size": self.batch_size,
            "iters_per_epoch": self.iters_per_epoch,
            "val_pairs": self.val_pairs,
            "val_videos": self.val_videos,
            "augment": asdict(self.augment),
            "init_weights": self.init_weights,
            "min_gain": self.min_gain,
            "data": dict(self.data),
            "recipe": self.recipe,
            "sampling": self.sampling,
            "validation_pairs": self.validation_pairs,
            "negatives": self.negatives,
            "head_only_batch_norm": self.head_only_batch_norm,
            "global_batch": self.global_batch,
        }


def resolved(cfg: TrainConfig, world_size: int, items: int) -> TrainConfig:
    """``cfg`` for a run of ``world_size`` processes over ``items`` training items: a ``global_batch`` becomes
    each process's ``batch_size``, and item-based sampling sets ``iters_per_epoch`` to one pass over the
    items (the last, incomplete batch dropped)."""
    changes = {}
    if cfg.global_batch is not None:
        if cfg.global_batch % world_size:
            raise ValueError(f"a global batch of {cfg.global_batch} does not split over {world_size} processes")
        changes["batch_size"] = cfg.global_batch // world_size
    if cfg.sampling == "items":
        step = changes.get("batch_size", cfg.batch_size) * world_size
        if items < step:
            raise ValueError(f"{items} training items cannot fill one step of {step} pairs")
        changes["iters_per_epoch"] = items // step
    return replace(cfg, **changes) if changes else cfg
