"""One model of the paper's family: lambda_K, keypoint head, pre-trained head, and its weights file."""

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from armory_siammtl import values
from armory_siammtl.models.keypoint_head import HEAD_CHANNELS

HEADS = tuple(HEAD_CHANNELS)  # "shallow", "deep"
KPT_WEIGHT_TOLERANCE = 1e-9  # lambda_K values closer than this are the same model


def is_sha256(text) -> bool:
    return isinstance(text, str) and len(text) == 64 and all(c in "0123456789abcdefABCDEF" for c in text)


@dataclass(frozen=True)
class ModelVariant:
    """STL (``kpt_weight`` 0, no head) or MTL (``kpt_weight`` > 0 with a ``head``) SiamRPN.

    :param kpt_weight: lambda_K, the keypoint loss weight the model was trained with; None when the caller
        states only the architecture (``head``), e.g. to track with a checkpoint of unknown lambda_K.
    :param head: None, "shallow" or "deep".
    :param pretrained_head: the keypoint head was pre-trained (backbone and RPN frozen) before MTL training.
    :param weights: the checkpoint file.
    :param sha256: its expected sha256 (64 hex digits), pinned; None relies on a manifest listing the file
        and the file's own metadata (see ``models.loading``).
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
            kpt_weight = values.non_negative("kpt_weight (lambda_K)", self.kpt_weight)
            if (kpt_weight > 0) != (self.head is not None):
                raise ValueError(
                    f"an MTL model (kpt_weight > 0) needs a head and an STL model (kpt_weight 0) "
                    f"none; got kpt_weight={kpt_weight}, head={self.head!r}"
                )
            object.__setattr__(self, "kpt_weight", kpt_weight)
        if self.pretrained_head and self.head is None:
            raise ValueError("pretrained_head needs a keypoint head")
        if self.sha256 is not None and not is_sha256(self.sha256):
            raise ValueError(f"a pinned weights sha256 must be 64 hex digits, got {self.sha256!r}")
        if self.weights is not None:
            object.__setattr__(self, "weights", Path(self.weights))
        if self.name is None and self.weights is not None:
            object.__setattr__(self, "name", self.weights.stem)

    @classmethod
    def for_training(
        cls, kpt_weight: float = 0.0, head: Optional[str] = None, head_only: bool = False, pretrained_head: bool = False
    ) -> "ModelVariant":
        """The variant a training run produces: a keypoint task gets the shallow head unless one is named,
        and head-only training (keypoint head pre-training) weighs the keypoint loss 1 unless told."""
        if head_only and not kpt_weight:
            kpt_weight = 1.0
        if kpt_weight > 0 and head is None:
            head = "shallow"
        return cls(kpt_weight, head, pretrained_head)

    def describe(self) -> str:
        return f"lambda_K={self.kpt_weight}, head={self.head!r}" + (
            ", pre-trained head" if self.pretrained_head else ""
        )

    def check_matches(self, kpt_weight, head, source: str, pretrained_head: Optional[bool] = None) -> None:
        """Raise ValueError when ``source`` (a manifest entry, a checkpoint) records another model
        (``pretrained_head`` is compared when the source records it)."""
        try:
            recorded_weight = -1.0 if kpt_weight is None else float(kpt_weight)
            if isinstance(kpt_weight, bool):
                raise TypeError
        except (TypeError, ValueError):
            raise ValueError(f"{source} records lambda_K {kpt_weight!r}, which is not a number") from None
        same_weight = self.kpt_weight is None or abs(recorded_weight - self.kpt_weight) <= KPT_WEIGHT_TOLERANCE
        same_start = pretrained_head is None or self.kpt_weight is None or pretrained_head == self.pretrained_head
        if not same_weight or head != self.head or not same_start:
            recorded = f"lambda_K={kpt_weight}, head={head!r}" + (", pre-trained head" if pretrained_head else "")
            raise ValueError(f"the model asked for has {self.describe()}, but {source} was trained with {recorded}")
