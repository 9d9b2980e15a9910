"""STL / MTL fine-tuning and keypoint-head pre-training, resumable, with best-on-validation selection."""

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from armory_siammtl.atomic import write_csv, write_text
from armory_siammtl.data.track import Track
from armory_siammtl.models.anchors import anchor_grid, score_size
from armory_siammtl.models.checkpoint import read_checkpoint, save_checkpoint
from armory_siammtl.models.keypoint_head import KEYPOINT_LOSSES
from armory_siammtl.models.loading import load_model
from armory_siammtl.models.siamrpn import NetworkConfig, SiamRPN, to_model_input
from armory_siammtl.models.variant import ModelVariant
from armory_siammtl.tracking.config import TrackingConfig
from armory_siammtl.tracking.metrics import miou_percent, video_mean_iou
from armory_siammtl.tracking.tracker import SiamRPNTracker
from armory_siammtl.training.losses import BOX_LOSSES, LossWeights, anchor_targets, mtl_loss
from armory_siammtl.training.pairs import Augment, sample_pair


@dataclass
class TrainConfig:
    """One training run. ``variant`` is the model it trains (lambda_K, head; see
    ``ModelVariant.for_training``); ``head_only`` trains the keypoint head alone, backbone and RPN frozen
    (the first stage of a pre-trained-head model). Search crops are ``instance_size`` pixels during training;
    validation tracks with ``TrackingConfig()`` (the paper's 255). Both are recorded in every checkpoint."""

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
        for name in ("epochs", "iters_per_epoch", "batch_size", "val_pairs", "val_videos", "instance_size"):
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
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd', not {self.optimizer!r}")
        if self.variant.pretrained_head and not self.init_weights:
            raise ValueError("a pre-trained-head model starts from init_weights that hold the pre-trained head")

    def record(self) -> dict:
        """What a checkpoint records of this run (plain values, readable with ``weights_only=True``); a run
        resumes only with the same record."""
        return {"kpt_weight": self.variant.kpt_weight, "head": self.variant.head,
                "pretrained_head": self.variant.pretrained_head, "head_only": self.head_only,
                "instance_size": self.instance_size, "seed": self.seed, "keypoint_loss": self.keypoint_loss,
                "head_style": self.head_style, "box_loss": self.box_loss}


def training_batch(tracks, rng, cfg: TrainConfig, anchors, generator) -> dict:
    """``cfg.batch_size`` sampled pairs as model inputs with anchor labels, deltas and keypoints."""
    pairs = [sample_pair(tracks, rng, cfg.augment, search=cfg.instance_size) for _ in range(cfg.batch_size)]
    labels, deltas = zip(*(anchor_targets(anchors, p["box"], generator) for p in pairs))
    return {"template": to_model_input(torch.stack([p["template"] for p in pairs])),
            "search": to_model_input(torch.stack([p["search"] for p in pairs])),
            "labels": torch.stack(labels), "deltas": torch.stack(deltas),
            "keypoints": torch.from_numpy(np.stack([p["keypoints"] for p in pairs])),
            "visibility": torch.from_numpy(np.stack([p["visibility"] for p in pairs]))}


VALIDATION_STREAM = 999_999  # seeds the validation pairs apart from the training ones


class Trainer:
    def __init__(self, cfg: TrainConfig, train_tracks: Sequence[Track], val_tracks: Sequence[Track]):
        if not train_tracks or not val_tracks:
            raise ValueError("training needs at least one training and one validation video")
        self.cfg = cfg
        self.train_tracks, self.val_tracks = list(train_tracks), list(val_tracks)
        self.out = Path(cfg.out_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(cfg.seed)  # the initial weights, so that a run is reproducible
        self.model = SiamRPN(NetworkConfig(head=cfg.variant.head, head_style=cfg.head_style))
        if cfg.init_weights:
            start = ModelVariant(None, cfg.variant.head, weights=cfg.init_weights)
            load_model(start, allow_missing_head=True, into=self.model)
        self.weights = LossWeights(kpt=cfg.variant.kpt_weight)
        if cfg.head_only:
            self.weights = LossWeights(cls=0.0, reg=0.0, kpt=cfg.variant.kpt_weight)
            for name, p in self.model.named_parameters():
                p.requires_grad_(name.startswith("kpt_head."))
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = (torch.optim.Adam(params, lr=cfg.lr) if cfg.optimizer == "adam" else
                          torch.optim.SGD(params, lr=cfg.lr, momentum=0.9, weight_decay=1e-4))
        self.scheduler = torch.optim.lr_scheduler.ExponentialLR(self.optimizer, gamma=cfg.lr_decay)
        net = self.model.config
        self.anchors = anchor_grid(score_size(cfg.instance_size, net.exemplar_size, net.stride), net.stride,
                                   net.ratios, net.scales, center=cfg.instance_size // 2)
        self.history: List[dict] = []
        self.start_epoch = 0

    # -- persistence -------------------------------------------------------------------------------
    def _save(self, name: str, extra: dict) -> str:
        return save_checkpoint(self.model, self.out / name, self.cfg.variant, TrackingConfig().as_dict(),
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
        self.start_epoch = int(payload["epoch"]) + 1
        self.history = payload["history"]
        self._write_log()
        return True

    def _write_log(self):
        write_text(self.out / "metrics.json",
                   json.dumps({"config": asdict(self.cfg), "epochs": self.history}, indent=1, default=str))
        write_csv(self.out / "metrics.csv", self.history, list(self.history[0]))

    # -- loops -------------------------------------------------------------------------------------
    def _set_mode(self, training: bool):
        self.model.train(training)
        if self.cfg.head_only:
            self.model.backbone.eval()
            self.model.rpn_head.eval()

    def step_losses(self, batch) -> dict:
        """The loss terms (cls, reg, kpt, total) of one batch in the current mode."""
        outputs = self.model(batch["template"], batch["search"])
        return mtl_loss(outputs, batch["labels"], batch["deltas"], LossWeights(
            self.weights.cls, self.weights.reg, self.weights.kpt), batch["keypoints"], batch["visibility"],
            self.cfg.keypoint_loss, self.cfg.box_loss)

    def validate(self) -> dict:
        self._set_mode(False)
        rng = np.random.default_rng([self.cfg.seed, VALIDATION_STREAM])
        generator = torch.Generator().manual_seed(self.cfg.seed + VALIDATION_STREAM)
        totals, count = {}, 0
        with torch.no_grad():
            while count < self.cfg.val_pairs:
                batch = training_batch(self.val_tracks, rng, self.cfg, self.anchors, generator)
                for k, v in self.step_losses(batch).items():
                    totals[k] = totals.get(k, 0.0) + float(v) * self.cfg.batch_size
                count += self.cfg.batch_size
            tracker = SiamRPNTracker(self.model, TrackingConfig())
            ious = []
            for track in self.val_tracks[: self.cfg.val_videos]:
                video = torch.from_numpy(track.frames).float() / 255.0
                boxes = tracker.track(video, track.boxes[0]).boxes.numpy()
                ious.append(video_mean_iou(track.boxes, boxes))
        result = {f"val_{k}": v / count for k, v in totals.items()}
        result["val_miou"] = miou_percent(ious) if ious else float("nan")
        return result

    def fit(self) -> dict:
        """Train the remaining epochs; returns the best epoch's log row."""
        cfg = self.cfg
        for epoch in range(self.start_epoch, cfg.epochs):
            rng = np.random.default_rng([cfg.seed, epoch])
            generator = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)
            self._set_mode(True)
            sums = {}
            bar = tqdm(range(cfg.iters_per_epoch), desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False)
            for _ in bar:
                batch = training_batch(self.train_tracks, rng, cfg, self.anchors, generator)
                losses = self.step_losses(batch)
                if not torch.isfinite(losses["total"]):
                    raise FloatingPointError(f"training loss is {float(losses['total'])} in epoch {epoch + 1} "
                                             f"({ {k: float(v) for k, v in losses.items()} }); nothing saved for it")
                self.optimizer.zero_grad()
                losses["total"].backward()
                if cfg.grad_clip is not None:
                    torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
                self.optimizer.step()
                for k, v in losses.items():
                    sums[k] = sums.get(k, 0.0) + float(v.detach())
                bar.set_postfix(loss=f"{float(losses['total'].detach()):.3f}")
            row = {"epoch": epoch, **{f"train_{k}": v / cfg.iters_per_epoch for k, v in sums.items()},
                   **self.validate()}
            self.scheduler.step()
            improved = self._is_best(row)
            self.history.append(row)
            if improved:
                digest = self._save("best.pth", {"epoch": epoch})
                write_text(self.out / "best.pth.sha256", f"{digest}  best.pth\n")
            # last.pth is the epoch's record: written once, atomically, with the whole history
            self._save("last.pth", {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                                    "epoch": epoch, "history": self.history})
            self._write_log()
            tqdm.write(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
        return min(self.history, key=self._badness)

    def _badness(self, row: dict) -> float:
        """What ``select_by`` minimises: minus the validation mIoU, or the validation total loss."""
        return -row["val_miou"] if self.cfg.select_by == "val_miou" else row["val_total"]

    def _is_best(self, row: dict) -> bool:
        return all(self._badness(row) < self._badness(r) for r in self.history)
