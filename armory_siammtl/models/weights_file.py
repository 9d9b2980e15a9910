"""Weights files in pysot's format (pysot calls them checkpoints; here a checkpoint is an attack step count):
plain ``state_dict`` files, or dicts holding one under ``state_dict`` (the reference code's Lightning
checkpoints are read too, their names turned into pysot's)."""

import hashlib
import inspect
import pickle
import types
from pathlib import Path
from typing import Optional

import torch

from armory_siammtl.atomic import atomic_path
from armory_siammtl.models.errors import WeightsError
from armory_siammtl.models.metadata import METADATA_KEY, describe
from armory_siammtl.models.reference_names import is_reference_layout, rename_reference
from armory_siammtl.models.variant import ModelVariant

REFERENCE_LAYOUT = "reference_layout"  # payload key: the file used the reference code's names


def sha256_of(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


HAS_WEIGHTS_ONLY = "weights_only" in inspect.signature(torch.load).parameters  # torch >= 1.13
# what a checkpoint of tensors and plain containers may name: tensor and parameter rebuilders, torch.Size,
# OrderedDict (state_dicts); storages are resolved by torch itself before the unpickler is asked
ALLOWED_GLOBALS = {
    ("torch._utils", "_rebuild_tensor_v2"),
    ("torch._utils", "_rebuild_tensor"),
    ("torch._utils", "_rebuild_parameter"),
    ("torch._utils", "_rebuild_parameter_with_state"),
    ("torch", "Size"),
    ("collections", "OrderedDict"),
}


class _TensorsOnlyUnpickler(pickle.Unpickler):
    """Refuses every global outside ALLOWED_GLOBALS, so a weights file cannot run code while it loads."""

    def find_class(self, module, name):
        if (module, name) in ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not a tensor or a plain container; refused")


TENSORS_ONLY = types.SimpleNamespace(
    Unpickler=_TensorsOnlyUnpickler,
    __name__="tensors_only_pickle",
    load=lambda f, **kw: _TensorsOnlyUnpickler(f, **kw).load(),
)


def safe_torch_load(path, restricted: bool = not HAS_WEIGHTS_ONLY):
    """``torch.load`` that accepts only tensors and plain containers: ``weights_only=True`` where torch has
    it (>= 1.13), else (``restricted``) through an unpickler that refuses every other global."""
    if not restricted:
        if not HAS_WEIGHTS_ONLY:
            raise RuntimeError(
                f"torch {torch.__version__} has no torch.load(weights_only=True) (added in torch "
                "1.13); load with restricted=True"
            )
        return torch.load(path, map_location="cpu", weights_only=True)
    extra = {"weights_only": False} if HAS_WEIGHTS_ONLY else {}  # our unpickler does the restricting
    return torch.load(path, map_location="cpu", pickle_module=TENSORS_ONLY, **extra)


def read_weights(path, expected_sha256: Optional[str] = None) -> dict:
    """The whole checkpoint payload, read with ``weights_only=True`` after the sha256 check (when one is
    given); a plain ``state_dict`` file comes back as ``{"state_dict": ...}``."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}")
    if expected_sha256:
        actual = sha256_of(path)
        if actual != expected_sha256.lower():
            raise WeightsError(
                f"weights file {path} has sha256 {actual}, expected {expected_sha256}: "
                "the file is corrupted or not the one the manifest names"
            )
    try:
        obj = safe_torch_load(path)
    except Exception as exc:  # torch raises several types for truncated, foreign or unsafe files
        raise WeightsError(
            f"cannot read weights file {path} (truncated, not a torch checkpoint, or holding "
            f"more than tensors): {type(exc).__name__}: {exc}"
        ) from exc
    if isinstance(obj, dict) and "state_dict" not in obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        obj = {"state_dict": obj}
    if (
        not isinstance(obj, dict)
        or not isinstance(obj.get("state_dict"), dict)
        or not all(isinstance(v, torch.Tensor) for v in obj["state_dict"].values())
    ):
        raise WeightsError(f"weights file {path} does not hold a state_dict of tensors")
    obj["state_dict"] = {k[len("module.") :] if k.startswith("module.") else k: v for k, v in obj["state_dict"].items()}
    if is_reference_layout(obj["state_dict"]):
        try:
            obj["state_dict"] = rename_reference(obj["state_dict"])
        except ValueError as exc:
            raise WeightsError(f"weights file {path}: {exc}") from exc
        obj[REFERENCE_LAYOUT] = True
    return obj


def read_state_dict(path, expected_sha256: Optional[str] = None) -> dict:
    """The checkpoint's tensors (``module.`` stripped), checked as ``read_weights`` does."""
    return read_weights(path, expected_sha256)["state_dict"]


def load_state(model: torch.nn.Module, state: dict, path, allow_missing_prefixes=()) -> torch.nn.Module:
    """Load ``state`` (read from ``path``) into ``model``; every missing or unexpected key is named.

    ``allow_missing_prefixes`` lets a tracking-only checkpoint start an MTL model (e.g. ``("kpt_head.",)``).
    """
    own = model.state_dict()
    missing = [k for k in own if k not in state and not k.startswith(tuple(allow_missing_prefixes))]
    unexpected = [k for k in state if k not in own]
    wrong_shape = [
        f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in state
        if k in own and state[k].shape != own[k].shape
    ]
    problems = []
    if missing:
        problems.append(f"missing keys {missing}")
    if unexpected:
        problems.append(f"unexpected keys {unexpected}")
    if wrong_shape:
        problems.append(f"shape mismatches {wrong_shape}")
    if problems:
        raise WeightsError(f"weights file {path} does not fit the model: " + "; ".join(problems))
    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise WeightsError(
            f"weights file {path} holds NaN or infinite values in {bad[:5]}"
            + (f" and {len(bad) - 5} more tensors" if len(bad) > 5 else "")
        )
    model.load_state_dict(state, strict=False)
    return model


def load_weights(
    model: torch.nn.Module, path, expected_sha256: Optional[str] = None, allow_missing_prefixes=()
) -> torch.nn.Module:
    """Read a pysot checkpoint (checked) and load it into ``model``."""
    return load_state(model, read_state_dict(path, expected_sha256), path, allow_missing_prefixes)


def save_weights(
    model_or_state,
    path,
    variant: ModelVariant,
    tracking: Optional[dict] = None,
    command: Optional[str] = None,
    extra: Optional[dict] = None,
) -> str:
    """Write a self-describing pysot-style checkpoint atomically and return its sha256.

    The file holds ``state_dict``, ``network`` (when ``model_or_state`` is a model that has a config), the
    metadata block of ``variant`` (``metadata.describe``: lambda_K, head, pre-trained head, ``tracking``,
    the training ``command``, the tensors' sha256) and ``extra``; all plain values, so it loads with
    ``weights_only=True``.
    """
    state = model_or_state.state_dict() if hasattr(model_or_state, "state_dict") else model_or_state
    state = {k: v.detach().cpu() for k, v in state.items()}
    payload = {"state_dict": state, METADATA_KEY: describe(variant, state, tracking, command)}
    config = getattr(model_or_state, "config", None)
    if hasattr(config, "as_dict"):
        payload["network"] = config.as_dict()
    payload.update(extra or {})
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return sha256_of(path)
