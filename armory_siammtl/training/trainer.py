"""The training loop: STL / MTL fine-tuning and keypoint-head pre-training, resumable, with best-on-validation
selection; on CPU or GPU, in fp32 or mixed precision, in one process or as ``torchrun`` DDP ranks. What it
wires together is by concern: the settings (``config``), the network (``network``), the loss (``objective``),
the pairs (``batches``), validation (``validation``), weight averages (``averaging``) and the run's files
(``run_folder``)."""

import contextlib
import copy
import math
from typing import List, Optional, Sequence

import torch
from tqdm.auto import tqdm

from armory_siammtl.models.loading import load_model
from armory_siammtl.models.siamrpn import SiamRPN
from armory_siammtl.models.variant import ModelVariant
from armory_siammtl.training.averaging import WeightAverage, interpolate, refresh_batch_norm
from armory_siammtl.training.batches import (
    BATCH_NORM_STREAM,
    VALIDATION_STREAM,
    PairDataset,
    RankBatches,
    items_of,
    pair_loader,
    split_batch,
)
from armory_siammtl.training.config import TrainConfig, resolved
from armory_siammtl.training.distributed import Worker, join
from armory_siammtl.training.network import build_model, distributed, optimizer_and_schedule, set_mode, training_anchors
from armory_siammtl.training.objective import Objective
from armory_siammtl.training.pairs import Augment
from armory_siammtl.training.precision import check_amp, grad_scaler
from armory_siammtl.training.run_folder import RunFolder
from armory_siammtl.training.validation import validate

__all__ = ["TrainConfig", "Trainer"]


class Trainer:
    """Trains ``cfg`` on ``train_tracks``, validating on ``val_tracks`` (``data.track`` tracks); under
    ``torchrun`` each rank builds one and rank 0 alone validates and writes."""

    def __init__(self, cfg: TrainConfig, train_tracks: Sequence, val_tracks: Sequence, worker: Optional[Worker] = None):
        if not train_tracks or not val_tracks:
            raise ValueError("training needs at least one training and one validation video")
        self.worker = worker or join(cfg.device)
        self.train_tracks, self.val_tracks = list(train_tracks), list(val_tracks)
        self.cfg = cfg = resolved(cfg, self.worker.world_size, len(items_of(self.train_tracks)))
        check_amp(cfg.amp, self.worker.device)
        self.folder = RunFolder(cfg, writes=self.worker.is_main)
        self.model = build_model(cfg, self.worker.device)
        self.objective = Objective(cfg, self.worker.device)
        self.optimizer, self.scheduler = optimizer_and_schedule(cfg, self.model)
        self.scaler = grad_scaler(cfg.amp, self.worker.device)
        self.net = distributed(self.model, self.worker)
        self.anchors = training_anchors(cfg, self.model)
        self.average = WeightAverage(self.model) if cfg.average_from is not None else None
        self.average_label = f"average {cfg.average_from}-{cfg.epochs}"  # its row in the history
        self.history: List[dict] = []
        self.start_epoch = 0

    def exclusive(self):
        """The run folder's lock (``RunFolder.lock``) for a block that resumes and fits."""
        return self.folder.lock()

    def resume(self) -> bool:
        """Continue from ``last.pth`` (``RunFolder.last``: refused when recorded with other settings);
        ``metrics.json``/``.csv`` are rewritten from it."""
        payload = self.folder.last()
        if payload is None:
            return False
        self.model.load_state_dict(payload["state_dict"])
        self.optimizer.load_state_dict(payload["optimizer"])
        self.scheduler.load_state_dict(payload["scheduler"])
        if payload.get("scaler"):
            self.scaler.load_state_dict(payload["scaler"])
        if self.average is not None and payload.get("average"):
            self.average.load_state_dict(payload["average"])
        self.start_epoch = int(payload["epoch"]) + 1
        self.history = payload["history"]
        self.folder.write_log(self.history)
        return True

    def step_losses(self, batch, net=None, model=None) -> dict:
        """The loss terms of one batch (on the model's device) in the current mode: through ``net`` (the
        training network, DDP-wrapped when distributed) under the run's autocast, or, without it, through
        ``model`` (default: the plain model) in fp32 (validation)."""
        return self.objective(net or model or self.model, batch, mixed=net is not None)

    def pair_batches(self, tracks, stream: int, steps: int, rank: int = 0, world_size: int = 1):
        """Training pairs of ``tracks`` for epoch (or stream) ``stream``: ``steps`` batches of this rank."""
        cfg = self.cfg
        data = PairDataset(
            tracks,
            self.anchors,
            cfg.augment,
            cfg.instance_size,
            cfg.seed,
            stream,
            steps * cfg.batch_size * world_size,
            cfg.sampling,
            negatives=cfg.negatives,
        )
        return pair_loader(
            data,
            RankBatches(steps, cfg.batch_size, rank, world_size),
            cfg.workers,
            pin_memory=self.worker.device.type == "cuda",
        )

    def validation_batches(self, tracks, steps: int):
        """Validation pairs: ``steps`` batches of augmented pairs, or (``validation_pairs="clean"``) every
        validation item once in order, without jitter, the template the previous frame."""
        cfg = self.cfg
        if cfg.validation_pairs == "augmented":
            return self.pair_batches(tracks, VALIDATION_STREAM, steps)
        total = len(items_of(tracks))
        data = PairDataset(
            tracks,
            self.anchors,
            Augment.none(),
            cfg.instance_size,
            cfg.seed,
            VALIDATION_STREAM,
            total,
            "items",
            template="previous",
            shuffle=False,
            negatives=cfg.negatives,
        )
        steps = -(-total // cfg.batch_size)
        return pair_loader(
            data,
            RankBatches(steps, cfg.batch_size, total=total),
            cfg.workers,
            pin_memory=self.worker.device.type == "cuda",
        )

    def _to_device(self, batch: dict) -> dict:
        return {k: v.to(self.worker.device, non_blocking=True) for k, v in batch.items()}

    def validate(self, model=None) -> dict:
        """``validation.validate`` of ``model`` (default: the model being trained) in eval mode."""
        set_mode(self.cfg, self.model, False)
        model = model or self.model
        model.eval()
        return validate(model, self.cfg, self.val_tracks, self.validation_batches, self.objective, self.worker.device)

    def train_step(self, batch: dict) -> dict:
        """One optimizer step on this process's batch (in ``accumulate`` micro-batches; DDP averages the
        gradients over processes); returns the batch's mean loss terms as tensors."""
        cfg, parts = self.cfg, split_batch(self._to_device(batch), self.cfg.accumulate)
        self.optimizer.zero_grad()
        sums = {}
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            sync = self.net.no_sync() if self.worker.distributed and not last else contextlib.nullcontext()
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
        cfg, where = self.cfg, self.worker
        if cfg.init_weights and not self.history:
            if where.is_main:
                self._add_candidate(self.model, {"epoch": "init", **self.validate()}, {"epoch": "init"})
            where.barrier("while rank 0 validated the starting weights")
        for epoch in range(self.start_epoch, cfg.epochs):
            set_mode(cfg, self.model, True)
            sums = {}
            loader = self.pair_batches(self.train_tracks, epoch, cfg.iters_per_epoch, where.rank, where.world_size)
            bar = tqdm(loader, desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False, disable=not where.is_main)
            for batch in bar:
                losses = self.train_step(batch)
                total = float(losses["total"])
                if not math.isfinite(total) and cfg.amp != "fp16":  # fp16 overflow: the scaler skips the step
                    raise FloatingPointError(
                        f"training loss is {total} in epoch {epoch + 1} "
                        f"({ {k: float(v) for k, v in losses.items()} }); nothing saved for it"
                    )
                for k, v in losses.items():
                    sums[k] = sums.get(k, 0.0) + float(v)
                bar.set_postfix(loss=f"{total:.3f}")
            means = where.mean(
                {f"train_{k}": v / cfg.iters_per_epoch for k, v in sums.items()}, f"after epoch {epoch + 1}'s steps"
            )
            self.scheduler.step()
            if where.is_main:
                if self.average is not None and epoch + 1 >= cfg.average_from:
                    self.average.add(self.model)
                self._end_epoch(epoch, {"epoch": epoch, **means, **self.validate()})
            where.barrier(f"while rank 0 validated epoch {epoch + 1}")
            if not where.is_main:
                self.history.append({"epoch": epoch, **means})
        if where.is_main and self.average is not None and all(r["epoch"] != self.average_label for r in self.history):
            self._end_average()
        return min(self.history, key=self._badness) if where.is_main else self.history[-1]

    def interpolate(self, end_weights, alphas: Sequence[float]) -> dict:
        """Instead of training: validate ``(1 - alpha) * init_weights + alpha * end_weights`` for each alpha
        (``averaging.interpolate``; batch-norm statistics recomputed on ``iters_per_epoch`` batches of training
        pairs where 0 < alpha < 1, the end points keep their own) as candidates for ``best.pth``, each saved as
        ``alpha_<alpha>.pth``; alpha 0 is the start weights, so its row is ``init`` and carries the
        ``min_gain`` credit as in training; returns the best row."""
        if not self.cfg.init_weights:
            raise ValueError("interpolation runs from init_weights (--init-weights) to the end weights")
        if (self.folder.path / "last.pth").exists():
            raise ValueError(f"{self.folder.path} holds a training run (last.pth); interpolate into another folder")
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
            label = "init" if alpha == 0 else f"alpha {alpha:g}"
            extra = {
                "epoch": label,
                "interpolated": {"start": str(self.cfg.init_weights), "end": str(end_weights), "alpha": float(alpha)},
            }
            self.folder.save(f"alpha_{alpha:g}.pth", model, extra)
            self._add_candidate(model, {"epoch": label, **self.validate(model)}, extra)
            self.folder.write_log(self.history)
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
        self.folder.save("average.pth", model, extra, with_digest=True)
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
            self.folder.save("best.pth", model, extra, with_digest=True)
        tqdm.write(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))

    def _save_last(self, epoch: int) -> None:
        """last.pth is the record of the finished epochs: written atomically, with the whole history."""
        extra = {
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "epoch": epoch,
            "history": self.history,
        }
        if self.average is not None:
            extra["average"] = self.average.state_dict()
        self.folder.save("last.pth", self.model, extra)
        self.folder.write_log(self.history)

    def _badness(self, row: dict) -> float:
        """What ``select_by`` minimises: minus the validation mIoU, or the validation total loss; the start
        weights' row counts ``min_gain`` better."""
        badness = -row["val_miou"] if self.cfg.select_by == "val_miou" else row["val_total"]
        return badness - self.cfg.min_gain if row["epoch"] == "init" else badness

    def _is_best(self, row: dict) -> bool:
        return all(self._badness(row) < self._badness(r) for r in self.history)
