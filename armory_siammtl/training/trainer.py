"""STL / MTL fine-tuning and keypoint-head pre-training, resumable, with best-on-validation selection; on CPU
or GPU, in fp32 or mixed precision, in one process or as ``torchrun`` DDP ranks."""

import contextlib
import copy
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import List, Optional, Sequence

import torch
from tqdm.auto import tqdm

from armory_siammtl.atomic import exclusive, write_csv, write_text
from armory_siammtl.models.anchors import anchor_grid, score_size
from armory_siammtl.models.checkpoint import read_checkpoint, save_checkpoint
from armory_siammtl.models.keypoint_head import KEYPOINT_LOSSES
from armory_siammtl.models.loading import load_model
from armory_siammtl.models.siamrpn import NetworkConfig, SiamRPN
from armory_siammtl.models.variant import ModelVariant
from armory_siammtl.tracking.config import TrackingConfig
from armory_siammtl.tracking.metrics import miou_percent, video_mean_iou
from armory_siammtl.tracking.tracker import SiamRPNTracker
from armory_siammtl.training.averaging import WeightAverage, interpolate, refresh_batch_norm
from armory_siammtl.training.batches import PairDataset, RankBatches, pair_loader, split_batch
from armory_siammtl.training.distributed import Placement, place
from armory_siammtl.training.losses import BOX_LOSSES, LossWeights, mtl_loss
from armory_siammtl.training.pairs import Augment
from armory_siammtl.training.precision import AMP_MODES, autocast, check_amp, grad_scaler


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

    @classmethod
    def skelevision(cls, **overrides) -> "TrainConfig":
        """The paper's reference recipe: SGD (momentum 0.9, weight decay 1e-4) at 8e-4 decayed by 0.95 per
        epoch, pysot's weighted L1 box loss, no gradient clipping, no negative pairs, blur 0.2, frame range
        10, the reference keypoint head and loss, best epoch by lowest validation loss, seed 42.
        (Its fp16 and 4-GPU batches of 256 are hardware, not recipe; its 50 epochs are ``epochs``.)"""
        settings = dict(optimizer="sgd", lr=8e-4, lr_decay=0.95, box_loss="l1", grad_clip=None,
                        keypoint_loss="softmax_ce", head_style="skelevision", select_by="val_total", seed=42,
                        augment=Augment(negative=0.0, blur=0.2, frame_range=10))
        settings.update(overrides)
        return cls(**settings)

    def __post_init__(self):
        for name in ("epochs", "iters_per_epoch", "batch_size", "val_pairs", "val_videos", "instance_size", "accumulate"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"training {name} must be a whole number >= 1, got {value!r}")
        if self.head_only:
            self.variant = ModelVariant.for_training(self.variant.kpt_weight, self.variant.head, head_only=True)
        if self.lr is None:
            self.lr = 1e-3 if self.head_only else 8e-4
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"training lr must be a finite number > 0, got {self.lr!r}")
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
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 0:
            raise ValueError(f"training workers must be a whole number >= 0, got {self.workers!r}")
        if self.batch_size % self.accumulate:
            raise ValueError(f"batch size {self.batch_size} does not split into {self.accumulate} accumulation steps")
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd', not {self.optimizer!r}")
        if self.average_from is not None and not (isinstance(self.average_from, int) and not isinstance(
                self.average_from, bool) and 1 <= self.average_from <= self.epochs):
            raise ValueError(f"average_from must be an epoch from 1 to {self.epochs}, got {self.average_from!r}")
        if not (isinstance(self.min_gain, (int, float)) and math.isfinite(self.min_gain) and self.min_gain >= 0):
            raise ValueError(f"min_gain must be a finite number >= 0, got {self.min_gain!r}")
        if self.variant.pretrained_head and not self.init_weights:
            raise ValueError("a pre-trained-head model starts from init_weights that hold the pre-trained head")

    def record(self) -> dict:
        """What a checkpoint records of this run (plain values, readable with ``weights_only=True``); a run
        resumes only with the same record."""
        return {"kpt_weight": self.variant.kpt_weight, "head": self.variant.head,
                "pretrained_head": self.variant.pretrained_head, "head_only": self.head_only,
                "instance_size": self.instance_size, "seed": self.seed, "keypoint_loss": self.keypoint_loss,
                "head_style": self.head_style, "box_loss": self.box_loss, "average_from": self.average_from,
                "tracking": self.tracking.as_dict(), "optimizer": self.optimizer, "lr": self.lr,
                "lr_decay": self.lr_decay, "grad_clip": self.grad_clip, "select_by": self.select_by,
                "batch_size": self.batch_size, "iters_per_epoch": self.iters_per_epoch,
                "val_pairs": self.val_pairs, "val_videos": self.val_videos, "augment": asdict(self.augment),
                "init_weights": self.init_weights, "min_gain": self.min_gain, "data": dict(self.data)}


VALIDATION_STREAM = 999_999  # seeds the validation pairs apart from the training ones
BATCH_NORM_STREAM = 999_998  # the training pairs that recompute an average's batch-norm statistics


class Trainer:
    """Trains ``cfg`` on ``train_tracks``, validating on ``val_tracks`` (``data.track`` tracks); under
    ``torchrun`` each rank builds one and rank 0 alone validates and writes."""

    def __init__(self, cfg: TrainConfig, train_tracks: Sequence, val_tracks: Sequence,
                 placement: Optional[Placement] = None):
        if not train_tracks or not val_tracks:
            raise ValueError("training needs at least one training and one validation video")
        self.cfg = cfg
        self.placement = placement or place(cfg.device)
        check_amp(cfg.amp, self.placement.device)
        self.train_tracks, self.val_tracks = list(train_tracks), list(val_tracks)
        self.out = Path(cfg.out_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(cfg.seed)  # the initial weights, so that a run is reproducible
        self.model = SiamRPN(NetworkConfig(head=cfg.variant.head, head_style=cfg.head_style))
        if cfg.init_weights:
            start = ModelVariant(None, cfg.variant.head, weights=cfg.init_weights)
            load_model(start, allow_missing_head=True, into=self.model)
        self.model.to(self.placement.device)
        self.weights = LossWeights(kpt=cfg.variant.kpt_weight)
        if cfg.head_only:
            self.weights = LossWeights(cls=0.0, reg=0.0, kpt=cfg.variant.kpt_weight)
            for name, p in self.model.named_parameters():
                p.requires_grad_(name.startswith("kpt_head."))
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = (torch.optim.Adam(params, lr=cfg.lr) if cfg.optimizer == "adam" else
                          torch.optim.SGD(params, lr=cfg.lr, momentum=0.9, weight_decay=1e-4))
        self.scheduler = torch.optim.lr_scheduler.ExponentialLR(self.optimizer, gamma=cfg.lr_decay)
        self.scaler = grad_scaler(cfg.amp, self.placement.device)
        self.net = self.model
        if self.placement.distributed:
            cuda = self.placement.device.type == "cuda"
            self.net = torch.nn.parallel.DistributedDataParallel(
                self.model, device_ids=[self.placement.device.index] if cuda else None)
        net = self.model.config
        self.anchors = anchor_grid(score_size(cfg.instance_size, net.exemplar_size, net.stride), net.stride,
                                   net.ratios, net.scales, center=cfg.instance_size // 2)
        self.average = WeightAverage(self.model) if cfg.average_from is not None else None
        self.average_label = f"average {cfg.average_from}-{cfg.epochs}"  # its row in the history
        self.history: List[dict] = []
        self.start_epoch = 0

    # -- persistence -------------------------------------------------------------------------------
    def exclusive(self):
        """Hold ``<out_dir>/.train.lock`` for a block that resumes and fits (rank 0 alone writes, so it alone
        locks): a second run on the same folder is refused instead of interleaving its epochs with ours."""
        refusal = f"another training run is writing {self.out}; wait for it or choose another --out"
        return exclusive(self.out / ".train.lock", refusal) if self.placement.is_main else contextlib.nullcontext()

    def _save(self, name: str, extra: dict, model=None) -> str:
        return save_checkpoint(model or self.model, self.out / name, self.cfg.variant, self.cfg.tracking.as_dict(),
                               self.cfg.command, extra={"training": self.cfg.record(), **extra})

    def resume(self) -> bool:
        """Continue from ``last.pth``, the one atomic record of a finished epoch (weights, optimizer and the
        epochs' metrics); ``metrics.json``/``.csv`` are rewritten from it. A run recorded with other
        settings (lambda_K, head, pre-trained or head-only, instance size, seed) is refused."""
        last = self.out / "last.pth"
        if not last.is_file():
            return False
        payload = read_checkpoint(last)
        recorded, wanted = payload.get("training", {}), self.cfg.record()
        differing = sorted(k for k in wanted if recorded.get(k) != wanted[k])
        if differing:
            raise ValueError(f"{last} was trained with " + ", ".join(f"{k}={recorded.get(k)!r}" for k in differing)
                             + "; this run asks for " + ", ".join(f"{k}={wanted[k]!r}" for k in differing)
                             + f": choose another --out than {self.out}")
        if not isinstance(payload.get("history"), list) or "scheduler" not in payload:
            raise ValueError(f"{last} holds no epoch history or scheduler (written by an older version); choose "
                             "another --out")
        self.model.load_state_dict(payload["state_dict"])
        self.optimizer.load_state_dict(payload["optimizer"])
        self.scheduler.load_state_dict(payload["scheduler"])
        if payload.get("scaler"):
            self.scaler.load_state_dict(payload["scaler"])
        if self.average is not None and payload.get("average"):
            self.average.load_state_dict(payload["average"])
        self.start_epoch = int(payload["epoch"]) + 1
        self.history = payload["history"]
        if self.placement.is_main:
            self._write_log()
        return True

    def _write_log(self):
        write_text(self.out / "metrics.json",
                   json.dumps({"config": asdict(self.cfg), "epochs": self.history}, indent=1, default=str))
        write_csv(self.out / "metrics.csv", self.history, list(dict.fromkeys(k for r in self.history for k in r)))

    # -- loops -------------------------------------------------------------------------------------
    def _set_mode(self, training: bool):
        self.model.train(training)
        if self.cfg.head_only:
            self.model.backbone.eval()
            self.model.rpn_head.eval()

    def step_losses(self, batch, net=None, model=None) -> dict:
        """The loss terms (cls, reg, kpt, total) of one batch (on the model's device) in the current mode:
        through ``net`` (the training network, DDP-wrapped when distributed) under the run's autocast, or,
        without it, through ``model`` (default: the plain model) in fp32 (validation)."""
        with autocast(self.cfg.amp if net is not None else "off", self.placement.device):
            outputs = (net or model or self.model)(batch["template"], batch["search"])
        outputs = {k: v.float() for k, v in outputs.items()}
        return mtl_loss(outputs, batch["labels"], batch["deltas"], self.weights, batch["keypoints"],
                        batch["visibility"], self.cfg.keypoint_loss, self.cfg.box_loss)

    def pair_batches(self, tracks, stream: int, steps: int, rank: int = 0, world_size: int = 1):
        cfg = self.cfg
        data = PairDataset(tracks, self.anchors, cfg.augment, cfg.instance_size, cfg.seed, stream,
                           steps * cfg.batch_size * world_size)
        return pair_loader(data, RankBatches(steps, cfg.batch_size, rank, world_size), cfg.workers,
                           pin_memory=self.placement.device.type == "cuda")

    def _to_device(self, batch: dict) -> dict:
        return {k: v.to(self.placement.device, non_blocking=True) for k, v in batch.items()}

    def validate(self, model=None) -> dict:
        """Validation losses and benign mIoU of ``model`` (default: the model being trained, in eval mode): every
        validation track is tracked from its first box with ``cfg.tracking``, scored as evaluation scores it
        (frame 0 excluded, mean over tracks)."""
        self._set_mode(False)
        model = model or self.model
        totals, count = {}, 0
        steps = -(-self.cfg.val_pairs // self.cfg.batch_size)
        with torch.no_grad():
            for batch in self.pair_batches(self.val_tracks, VALIDATION_STREAM, steps):
                for k, v in self.step_losses(self._to_device(batch), model=model).items():
                    totals[k] = totals.get(k, 0.0) + float(v) * self.cfg.batch_size
                count += self.cfg.batch_size
            tracker = SiamRPNTracker(model, self.cfg.tracking)
            ious = []
            for track in self.val_tracks:
                video = torch.from_numpy(track.video()).to(self.placement.device).float() / 255.0
                boxes = tracker.track(video, track.boxes[0]).boxes.cpu().numpy()
                ious.append(video_mean_iou(track.boxes, boxes))
        result = {f"val_{k}": v / count for k, v in totals.items()}
        result["val_miou"] = miou_percent(ious) if ious else float("nan")
        return result

    def train_step(self, batch: dict) -> dict:
        """One optimizer step on this process's batch (in ``accumulate`` micro-batches; DDP averages the
        gradients over processes); returns the batch's mean loss terms as tensors."""
        cfg, parts = self.cfg, split_batch(self._to_device(batch), self.cfg.accumulate)
        self.optimizer.zero_grad()
        sums = {}
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            sync = self.net.no_sync() if self.placement.distributed and not last else contextlib.nullcontext()
            with sync:
                losses = self.step_losses(part, self.net)
                self.scaler.scale(losses["total"] / len(parts)).backward()
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + v.detach() / len(parts)
        if cfg.grad_clip is not None:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return sums

    def fit(self) -> dict:
        """Train the remaining epochs; returns the best epoch's log row."""
        cfg, where = self.cfg, self.placement
        if where.is_main and cfg.init_weights and not self.history:
            self._add_candidate(self.model, {"epoch": "init", **self.validate()}, {"epoch": "init"})
        for epoch in range(self.start_epoch, cfg.epochs):
            self._set_mode(True)
            sums = {}
            loader = self.pair_batches(self.train_tracks, epoch, cfg.iters_per_epoch, where.rank, where.world_size)
            bar = tqdm(loader, desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False, disable=not where.is_main)
            for batch in bar:
                losses = self.train_step(batch)
                total = float(losses["total"])
                if not math.isfinite(total) and cfg.amp != "fp16":  # fp16 overflow: the scaler skips the step
                    raise FloatingPointError(f"training loss is {total} in epoch {epoch + 1} "
                                             f"({ {k: float(v) for k, v in losses.items()} }); nothing saved for it")
                for k, v in losses.items():
                    sums[k] = sums.get(k, 0.0) + float(v)
                bar.set_postfix(loss=f"{total:.3f}")
            means = where.mean({f"train_{k}": v / cfg.iters_per_epoch for k, v in sums.items()})
            self.scheduler.step()
            if where.is_main:
                if self.average is not None and epoch + 1 >= cfg.average_from:
                    self.average.add(self.model)
                self._end_epoch(epoch, {"epoch": epoch, **means, **self.validate()})
            where.barrier()
            if not where.is_main:
                self.history.append({"epoch": epoch, **means})
        if where.is_main and self.average is not None and all(r["epoch"] != self.average_label for r in self.history):
            self._end_average()
        return min(self.history, key=self._badness) if where.is_main else self.history[-1]

    def interpolate(self, end_weights, alphas: Sequence[float]) -> dict:
        """Instead of training: validate ``(1 - alpha) * init_weights + alpha * end_weights`` for each alpha
        (``averaging.interpolate``; batch-norm statistics recomputed on ``iters_per_epoch`` batches of training
        pairs where 0 < alpha < 1, the end points keep their own) as candidates for ``best.pth``, each saved as
        ``alpha_<alpha>.pth``; returns the best row."""
        if not self.cfg.init_weights:
            raise ValueError("interpolation runs from init_weights (--init-weights) to the end weights")
        if (self.out / "last.pth").exists():
            raise ValueError(f"{self.out} holds a training run (last.pth); interpolate into another folder")
        if not alphas or any(not 0 <= a <= 1 for a in alphas):
            raise ValueError(f"interpolation alphas must be numbers in [0, 1], got {list(alphas)!r}")
        end = SiamRPN(self.model.config)
        load_model(ModelVariant(None, self.cfg.variant.head, weights=end_weights), into=end)
        start, end = self.model.state_dict(), end.state_dict()
        for alpha in alphas:
            model = copy.deepcopy(self.model)
            model.load_state_dict(interpolate(start, end, alpha))
            if 0 < alpha < 1:
                self._refresh_batch_norm(model)
            label = f"alpha {alpha:g}"
            extra = {"epoch": label, "interpolated": {"start": str(self.cfg.init_weights), "end": str(end_weights),
                                                      "alpha": float(alpha)}}
            self._save(f"alpha_{alpha:g}.pth", extra, model)
            self._add_candidate(model, {"epoch": label, **self.validate(model)}, extra)
            self._write_log()
        return min(self.history, key=self._badness)

    def _end_epoch(self, epoch: int, row: dict) -> None:
        self._add_candidate(self.model, row, {"epoch": epoch})
        self._save_last(epoch)

    def _end_average(self) -> None:
        """Validate the weight average (batch-norm statistics recomputed on ``iters_per_epoch`` batches of
        training pairs) as one more candidate for ``best.pth``; it is also saved as ``average.pth``."""
        model = self.average.copy()
        self._refresh_batch_norm(model)
        label = self.average_label
        row = {**{k: float("nan") for k in self.history[-1]}, "epoch": label, **self.validate(model)}
        extra = {"epoch": label, "averaged_epochs": self.average.count}
        digest = self._save("average.pth", extra, model)
        write_text(self.out / "average.pth.sha256", f"{digest}  average.pth\n")
        last_epoch = max(r["epoch"] for r in self.history if isinstance(r["epoch"], int))
        self._add_candidate(model, row, extra)
        self._save_last(last_epoch)

    def _refresh_batch_norm(self, model) -> None:
        steps = self.pair_batches(self.train_tracks, BATCH_NORM_STREAM, self.cfg.iters_per_epoch)
        refresh_batch_norm(model, map(self._to_device, steps), lambda m, b: m(b["template"], b["search"]))

    def _add_candidate(self, model, row: dict, extra: dict) -> None:
        improved = self._is_best(row)
        self.history.append(row)
        if improved:
            digest = self._save("best.pth", extra, model)
            write_text(self.out / "best.pth.sha256", f"{digest}  best.pth\n")
        tqdm.write(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))

    def _save_last(self, epoch: int) -> None:
        """last.pth is the record of the finished epochs: written atomically, with the whole history."""
        extra = {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                 "scaler": self.scaler.state_dict(), "epoch": epoch, "history": self.history}
        if self.average is not None:
            extra["average"] = self.average.state_dict()
        self._save("last.pth", extra)
        self._write_log()

    def _badness(self, row: dict) -> float:
        """What ``select_by`` minimises: minus the validation mIoU, or the validation total loss; the start
        weights' row counts ``min_gain`` better."""
        badness = -row["val_miou"] if self.cfg.select_by == "val_miou" else row["val_total"]
        return badness - self.cfg.min_gain if row["epoch"] == "init" else badness

    def _is_best(self, row: dict) -> bool:
        return all(self._badness(row) < self._badness(r) for r in self.history)
