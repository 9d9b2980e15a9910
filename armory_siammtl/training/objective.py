"""The objective: what turns a batch of training pairs into the loss terms (cls, reg, kpt, total)."""

import torch

from armory_siammtl.training.config import TrainConfig
from armory_siammtl.training.losses import LossWeights, mtl_loss
from armory_siammtl.training.precision import autocast


class Objective:
    """L_MTL = lambda_C L_cls + lambda_R L_reg + lambda_K L_KPT of a run (head-only training weighs the
    keypoint term alone), its keypoint and box losses, and its mixed precision."""

    def __init__(self, cfg: TrainConfig, device: torch.device):
        self.cfg, self.device = cfg, device
        kpt = cfg.variant.kpt_weight
        self.weights = LossWeights(cls=0.0, reg=0.0, kpt=kpt) if cfg.head_only else LossWeights(kpt=kpt)

    def __call__(self, network, batch: dict, mixed: bool = True) -> dict:
        """The loss terms of ``batch`` (on the device) through ``network``, under the run's autocast when
        ``mixed`` (training), in fp32 otherwise (validation)."""
        with autocast(self.cfg.amp if mixed else "off", self.device):
            outputs = network(batch["template"], batch["search"])
        outputs = {k: v.float() for k, v in outputs.items()}
        return mtl_loss(
            outputs,
            batch["labels"],
            batch["deltas"],
            self.weights,
            batch["keypoints"],
            batch["visibility"],
            self.cfg.keypoint_loss,
            self.cfg.box_loss,
        )
