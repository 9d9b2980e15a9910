"""ARMORY model factories: ``get_art_model(model_kwargs, wrapper_kwargs, weights_path)``.

The weights file must be listed, with its sha256, in the ``manifest.json`` beside it (``armory-siammtl
setup`` puts both in ARMORY's ``saved_model_dir``); the scenario's lambda_K and head must match the entry.
There is no fallback to random weights.
"""

import json
from pathlib import Path

from armory_siammtl.estimators.pytorch_siamrpn import PyTorchSiamRPN
from armory_siammtl.models.checkpoint import CheckpointError, load_checkpoint
from armory_siammtl.models.siamrpn import SiamRPN, SiamRPNConfig

MANIFEST = "manifest.json"
TRACKING_KEYS = ("instance_size", "penalty_k", "window_influence", "lr", "context_amount")


def read_manifest(path) -> dict:
    """{file name: entry} from a manifest.json ({"weights": [{"file", "sha256", "lambda_k", "head", ...}]})."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no weights manifest at {path}: run `armory-siammtl setup` to install the weights")
    try:
        entries = json.loads(path.read_text())["weights"]
        return {entry["file"]: entry for entry in entries}
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"weights manifest {path} is malformed: {exc}") from exc


def manifest_entry(weights_path) -> dict:
    weights_path = Path(weights_path)
    entries = read_manifest(weights_path.parent / MANIFEST)
    if weights_path.name not in entries:
        raise CheckpointError(f"{weights_path.name} is not listed in {weights_path.parent / MANIFEST}; "
                              f"listed: {sorted(entries)}")
    return entries[weights_path.name]


def build_model(model_kwargs: dict, weights_path) -> SiamRPN:
    """SiamRPN for ``model_kwargs`` ({"kpt_weight": lambda_K, "head": None|"shallow"|"deep", tracking
    overrides}), loaded from ``weights_path`` after the manifest and checksum checks."""
    known = {"kpt_weight", "head", *TRACKING_KEYS}
    unknown = sorted(set(model_kwargs) - known)
    if unknown:
        raise ValueError(f"unknown model_kwargs {unknown}; expected some of {sorted(known)}")
    lambda_k = float(model_kwargs.get("kpt_weight", 0.0))
    head = model_kwargs.get("head")
    if lambda_k < 0:
        raise ValueError(f"kpt_weight (lambda_K) must be >= 0, got {lambda_k}")
    if weights_path is None:
        raise CheckpointError("the scenario names no weights_file; armory-siammtl never runs random weights")
    entry = manifest_entry(weights_path)
    if abs(float(entry.get("lambda_k", -1)) - lambda_k) > 1e-9 or entry.get("head") != head:
        raise ValueError(f"the scenario asks for lambda_K={lambda_k}, head={head!r}, but {Path(weights_path).name} "
                         f"was trained with lambda_K={entry.get('lambda_k')}, head={entry.get('head')!r}")
    config = SiamRPNConfig(kpt_head=head, **{k: model_kwargs[k] for k in TRACKING_KEYS if k in model_kwargs})
    return load_checkpoint(SiamRPN(config), weights_path, expected_sha256=entry["sha256"])


def get_art_model(model_kwargs: dict, wrapper_kwargs: dict, weights_path=None) -> PyTorchSiamRPN:
    """ARMORY entry point for STL (kpt_weight 0, head null) and MTL SiamRPN models."""
    return PyTorchSiamRPN(build_model(model_kwargs or {}, weights_path), **(wrapper_kwargs or {}))
