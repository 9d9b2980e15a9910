"""One model of the paper's family: lambda_K, keypoint head, pre-trained head, and its weights file."""

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from armory_siammtl.models.keypoint_head import HEAD_CHANNELS

HEADS = tuple(HEAD_CHANNELS)  # "shallow", "deep"
KPT_WEIGHT_TOLERANCE = 1e-9  # lambda_K values closer than this are the same model


@dataclass(frozen=True)
class ModelVariant:
    """STL (``kpt_weight`` 0, no head) or MTL (``kpt_weight`` > 0 with a ``head``) SiamRPN.

    :param kpt_weight: lambda_K, the keypoint loss weight the model was trained with; None when the caller
        states only the architecture (``head``), e.g. to track with a checkpoint of unknown lambda_K.
    :param head: None, "shallow" or "deep".
    :param pretrained_head: the keypoint head was pre-trained (backbone and RPN frozen) before MTL training.
    :param weights: the checkpoint file.
    :param sha256: its expected sha256; None takes it from the manifest beside the file, when there is one.
    :param name: a display name; defaults to the weights file's stem.
    """

    kpt_weight: Optional[float] = 0.0
    head: Optional[str] = None
    pretrained_head: bool = False
    weights: Optional[Path] = None
    sha256: Optional[str] = None
    name: Optional[str] = None

    def __post_init__(self):
        if self.head not in (None, *HEADS):
            raise ValueError(f"head must be None, 'shallow' or 'deep', got {self.head!r}")
        if self.kpt_weight is not None:
            try:
                kpt_weight = float(self.kpt_weight)
            except (TypeError, ValueError):
                raise ValueError(f"kpt_weight (lambda_K) must be a number, got {self.kpt_weight!r}") from None
            if not math.isfinite(kpt_weight) or kpt_weight < 0:
                raise ValueError(f"kpt_weight (lambda_K) must be a finite number >= 0, got {self.kpt_weight}")
            if (kpt_weight > 0) != (self.head is not None):
                raise ValueError(f"an MTL model (kpt_weight > 0) needs a head and an STL model (kpt_weight 0) "
                                 f"none; got kpt_weight={kpt_weight}, head={self.head!r}")
            object.__setattr__(self, "kpt_weight", kpt_weight)
        if self.pretrained_head and self.head is None:
            raise ValueError("pretrained_head needs a keypoint head")
        if self.weights is not None:
            object.__setattr__(self, "weights", Path(self.weights))
        if self.name is None and self.weights is not None:
            object.__setattr__(self, "name", self.weights.stem)

    @classmethod
    def for_training(cls, kpt_weight: float = 0.0, head: Optional[str] = None, head_only: bool = False,
                     pretrained_head: bool = False) -> "ModelVariant":
        """The variant a training run produces: a keypoint task gets the shallow head unless one is named,
        and head-only training (keypoint head pre-training) weighs the keypoint loss 1 unless told."""
        if head_only and not kpt_weight:
            kpt_weight = 1.0
        if kpt_weight > 0 and head is None:
            head = "shallow"
        return cls(kpt_weight, head, pretrained_head)

    def describe(self) -> str:
        return f"lambda_K={self.kpt_weight}, head={self.head!r}"

    def check_matches(self, kpt_weight, head, source: str) -> None:
        """Raise ValueError when ``source`` (a manifest entry, a checkpoint) records another model."""
        same_weight = (self.kpt_weight is None
                       or abs(float(kpt_weight if kpt_weight is not None else -1) - self.kpt_weight)
                       <= KPT_WEIGHT_TOLERANCE)
        if not same_weight or head != self.head:
            raise ValueError(f"the model asked for has {self.describe()}, but {source} was trained with "
                             f"lambda_K={kpt_weight}, head={head!r}")
