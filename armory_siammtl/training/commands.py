"""The ``train`` command lines that make one model of the paper's family with the reference recipe: one run,
or two for a pre-trained keypoint head (the head alone on COCO persons first, backbone and RPN frozen; then
the whole model from it). The one place the scenario checks and ``reproduce`` take them from."""

import shlex
from dataclasses import dataclass
from pathlib import PurePath
from typing import List, Optional

from armory_siammtl.models.variant import ModelVariant

PYSOT_START = "siamrpn_alex_dwxcorr.pth"  # pysot's AlexNet checkpoint, the reference's starting weights


@dataclass(frozen=True)
class TrainingData:
    """Where the reference recipe's data lies (placeholders in capitals when unknown)."""

    pysot: str = PYSOT_START
    coco_annotations: str = "COCO/annotations/person_keypoints_train2017.json"
    coco_images: str = "COCO/train2017"
    coco_val_annotations: str = "COCO/annotations/person_keypoints_val2017.json"
    coco_val_images: str = "COCO/val2017"
    lasot: Optional[str] = "LaSOT/person"

    def flags(self, with_lasot: bool = True) -> List[str]:
        flags = [
            "--coco-annotations",
            self.coco_annotations,
            "--coco-images",
            self.coco_images,
            "--coco-val-annotations",
            self.coco_val_annotations,
            "--coco-val-images",
            self.coco_val_images,
        ]
        return flags + (["--lasot", self.lasot] if with_lasot and self.lasot else [])


def train_commands(variant: ModelVariant, out: str, data: TrainingData = TrainingData()) -> List[List[str]]:
    """argv lists (after ``armory-siammtl``) that train ``variant`` with ``--recipe skelevision`` into run
    folders under ``out`` named after the weights file; the model is the last run's ``best.pth``."""
    stem = PurePath(variant.weights).stem if variant.weights else "model"
    model = ["--kpt-weight", f"{variant.kpt_weight:g}"] + (["--head", variant.head] if variant.head else [])
    runs = []
    start = data.pysot
    if variant.pretrained_head:
        head_run = str(PurePath(out) / f"{stem}_head")
        runs.append(
            [
                "train",
                "--recipe",
                "skelevision",
                "--out",
                head_run,
                *model,
                "--head-only",
                "--init-weights",
                start,
                *data.flags(with_lasot=False),
            ]
        )
        start = str(PurePath(head_run) / "best.pth")
    final = [
        "train",
        "--recipe",
        "skelevision",
        "--out",
        str(PurePath(out) / stem),
        *model,
        "--init-weights",
        start,
        *data.flags(),
    ]
    if variant.pretrained_head:
        final.append("--pretrained-head")
    return runs + [final]


def command_text(argv: List[str]) -> str:
    return "armory-siammtl " + " ".join(map(shlex.quote, argv))
