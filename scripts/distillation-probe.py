"""Would NanoTrack, as a teacher, make the fine-tuned SiamRPN follow people it never saw?

.venv/bin/python scripts/distillation-probe.py OUT_DIR WEIGHT -- TRAIN_ARGS...

Runs ``armory-siammtl train TRAIN_ARGS --out OUT_DIR`` with one change to the loss: WEIGHT times a feature
distillation term, the mean cosine distance between the AlexNet backbone's features (through a learned
1x1 convolution, resampled bilinearly to the teacher's grid) and NanoTrack v2's backbone features (OpenCV DNN,
../shared/models/nanotrack) of the same template and search crops. Validation and selection are the
training command's, so the learning curve compares epoch by epoch with a run of the same TRAIN_ARGS without
the term (same seed: the same pairs). A probe: the 1x1 convolutions are not saved, a run does not resume, and the
run folder records the training command without the term (its weights are not for use).
Output of the runs in docs/results/training/distillation_probe.md.
"""

import sys
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from armory_siammtl.cli import apply_runtime, build_parser
from armory_siammtl.cli.train import cmd_train
from armory_siammtl.evaluation.real_video import NANOTRACK_FILES
from armory_siammtl.training.trainer import Trainer

NANOTRACK = Path(__file__).resolve().parents[1] / ".." / "shared" / "models" / "nanotrack"


class Teacher:
    """NanoTrack v2's backbone: (B, 3, H, W) crops in pysot's convention (BGR, 0-255) -> (B, channels, h, w)."""

    def __init__(self, folder: Path):
        onnx = folder / NANOTRACK_FILES[0]
        if not onnx.is_file():
            raise SystemExit(f"no NanoTrack backbone at {onnx}")
        self.net = cv2.dnn.readNet(str(onnx))
        self.channels = self(torch.zeros(1, 3, 127, 127)).shape[1]

    @torch.no_grad()
    def __call__(self, crops: torch.Tensor) -> torch.Tensor:
        out = []
        for crop in crops.detach().cpu().numpy().astype(np.float32):  # the ONNX graph is for one crop
            self.net.setInput(crop[None])
            out.append(self.net.forward().copy())
        return torch.from_numpy(np.concatenate(out))


def distance(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Mean cosine distance over positions, the student resampled to the teacher's grid."""
    student = F.interpolate(student, size=teacher.shape[-2:], mode="bilinear", align_corners=False)
    return (1 - F.cosine_similarity(student, teacher.to(student.device), dim=1)).mean()


class DistillingTrainer(Trainer):
    """``Trainer`` whose training loss adds ``WEIGHT`` x the distillation term (validation unchanged)."""

    weight = 0.0
    teacher = None

    def __init__(self, cfg, train_tracks, val_tracks, worker=None):
        super().__init__(cfg, train_tracks, val_tracks, worker)
        if (self.folder.path / "last.pth").exists():
            raise SystemExit(f"{self.folder.path} holds a run: the probe does not resume, give a new folder")
        student, teacher = self.model.backbone.feature_size, self.teacher.channels
        self.adapters = nn.ModuleDict({k: nn.Conv2d(student, teacher, 1) for k in ("template", "search")})
        self.adapters.to(self.worker.device)
        self.optimizer.add_param_group({"params": list(self.adapters.parameters()), "lr": cfg.lr})
        self._features = None
        self.model.backbone.register_forward_hook(self._keep)

    def _keep(self, module, inputs, output):
        if self._features is not None:
            self._features.append(output)

    def step_losses(self, batch, net=None, model=None) -> dict:
        if net is None:
            return super().step_losses(batch, net, model)
        self._features = []
        try:
            losses = super().step_losses(batch, net, model)
            z_f, x_f = self._features
        finally:
            self._features = None
        term = (
            sum(
                distance(self.adapters[k](f.float()), self.teacher(batch[k]))
                for k, f in (("template", z_f), ("search", x_f))
            )
            / 2
        )
        losses["distill"] = term
        losses["total"] = losses["total"] + self.weight * term
        return losses


def main(argv) -> None:
    if len(argv) < 3 or argv[2] != "--":
        raise SystemExit(__doc__)
    out, DistillingTrainer.weight = argv[0], float(argv[1])
    DistillingTrainer.teacher = Teacher(NANOTRACK)
    cv2.setNumThreads(1)
    train_argv = ["train", *argv[3:], "--out", out]
    args = build_parser().parse_args(train_argv)
    args.argv = train_argv
    apply_runtime(args)
    cmd_train(args, trainer_class=DistillingTrainer)


if __name__ == "__main__":
    main(sys.argv[1:])
