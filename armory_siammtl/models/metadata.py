"""What a checkpoint says about itself, stored as plain values beside pysot's ``state_dict`` (so it still
loads with ``weights_only=True``): the model variant (lambda_K, head, pre-trained head), the tracking
settings it was validated with, the command that trained it, and the sha256 of its tensors.

A file that carries this block is verified against it when loaded; a plain pysot checkpoint has none.
"""

import hashlib
import warnings
from typing import Optional

import torch

from armory_siammtl.models.errors import WeightsError
from armory_siammtl.models.variant import ModelVariant

METADATA_KEY = "siammtl"
METADATA_FORMAT = 1


class UnverifiedWeightsWarning(UserWarning):
    """Weights loaded with nothing to check them against (no manifest entry, pin or metadata)."""


def tensors_sha256(state: dict) -> str:
    """sha256 over the tensors' names, dtypes, shapes and bytes, in name order: the same for the same
    weights whatever else the file holds."""
    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().cpu().contiguous()
        if tensor.dtype == torch.bfloat16:  # numpy has no bfloat16; its bits fit an int16 exactly
            tensor = tensor.view(torch.int16)
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


def describe(
    variant: ModelVariant, state: dict, tracking: Optional[dict] = None, command: Optional[str] = None
) -> dict:
    """The metadata block of a checkpoint holding ``state`` for ``variant``."""
    return {
        "format": METADATA_FORMAT,
        "kpt_weight": variant.kpt_weight,
        "head": variant.head,
        "pretrained_head": bool(variant.pretrained_head),
        "tracking": dict(tracking) if tracking else None,
        "command": command,
        "tensors_sha256": tensors_sha256(state),
    }


def read_metadata(payload: dict, path) -> Optional[dict]:
    """The checkpoint's metadata block (checked for the fields it must have), or None for a plain file."""
    block = payload.get(METADATA_KEY)
    if block is None:
        return None
    if not isinstance(block, dict):
        raise WeightsError(f"weights file {path}: its {METADATA_KEY!r} metadata is not a mapping")
    missing = [k for k in ("kpt_weight", "head", "pretrained_head", "tensors_sha256") if k not in block]
    if missing:
        raise WeightsError(f"weights file {path}: its metadata lacks {missing}")
    return block


def verify(
    payload: dict, variant: ModelVariant, path, check_model: bool = True, verified_elsewhere: bool = False
) -> Optional[dict]:
    """Check the file's tensors against its recorded sha256 and, when ``check_model``, ``variant`` against
    its recorded lambda_K, head and pre-trained head; warn when there is nothing to check and
    ``verified_elsewhere`` (a manifest or pinned sha256) is False. Returns the metadata block."""
    block = read_metadata(payload, path)
    if block is None:
        if not verified_elsewhere:
            warnings.warn(
                f"{path} is a plain pysot checkpoint with no metadata, no manifest entry and no pinned "
                f"sha256: nothing was verified; loaded as {variant.describe()}",
                UnverifiedWeightsWarning,
                stacklevel=3,
            )
        return None
    actual = tensors_sha256(payload["state_dict"])
    if actual != block["tensors_sha256"]:
        raise WeightsError(
            f"weights file {path}: its tensors hash to {actual}, but its metadata records "
            f"{block['tensors_sha256']}: the weights were changed after they were saved"
        )
    if check_model:
        variant.check_matches(
            block["kpt_weight"],
            block["head"],
            f"{path} (per its own metadata)",
            pretrained_head=bool(block["pretrained_head"]),
        )
    return block
