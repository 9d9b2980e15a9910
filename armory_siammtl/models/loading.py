"""The one way the package builds a SiamRPN and loads its weights: ``load_model(variant)``."""

from pathlib import Path
from typing import Optional

from armory_siammtl.models.checkpoint import CheckpointError, load_state, read_checkpoint
from armory_siammtl.models.manifest import MANIFEST, manifest_beside, manifest_entry
from armory_siammtl.models.siamrpn import NetworkConfig, SiamRPN
from armory_siammtl.models.variant import ModelVariant


def _expected_sha256(variant: ModelVariant, require_manifest: bool, check_model: bool) -> Optional[str]:
    """The sha256 the weights must have: the variant's own, else the manifest's (whose lambda_K and head
    must agree with the variant when ``check_model``). ``require_manifest`` refuses weights that no
    manifest lists."""
    if not require_manifest and (variant.sha256 or manifest_beside(variant.weights) is None):
        return variant.sha256
    entry = manifest_entry(variant.weights)
    if check_model:
        variant.check_matches(entry.get("kpt_weight"), entry.get("head"),
                              f"{variant.weights.name} (per {variant.weights.parent / MANIFEST})")
    if variant.sha256 and variant.sha256.lower() != str(entry["sha256"]).lower():
        raise CheckpointError(f"{variant.weights}: the sha256 asked for ({variant.sha256}) is not the manifest's "
                              f"({entry['sha256']})")
    return variant.sha256 or entry["sha256"]


def load_model(variant: ModelVariant, network: Optional[NetworkConfig] = None, require_manifest: bool = False,
               allow_missing_head: bool = False, into: Optional[SiamRPN] = None) -> SiamRPN:
    """A SiamRPN for ``variant`` with its weights loaded, in eval mode; never random weights.

    :param variant: the model; its ``weights`` file is required.
    :param network: the architecture; default ``NetworkConfig(head=variant.head)``.
    :param require_manifest: refuse weights that are not listed, with their sha256, in the manifest beside
        them (ARMORY's factory); otherwise the manifest is used when there is one and no sha256 is given.
    :param allow_missing_head: a checkpoint without keypoint head may start an MTL model (training): the
        head and lambda_K the file records are not compared, and a missing head keeps its initial weights.
    :param into: load into this model (its architecture is ``network``) instead of a new one.
    """
    if variant.weights is None:
        raise CheckpointError("no weights file given; armory-siammtl never runs random weights")
    network = network or (into.config if into is not None else NetworkConfig(head=variant.head))
    if network.head != variant.head:
        raise ValueError(f"network head {network.head!r} differs from the model's head {variant.head!r}")
    weights = Path(variant.weights)
    payload = read_checkpoint(weights, _expected_sha256(variant, require_manifest, not allow_missing_head))
    recorded = payload.get("network")
    if isinstance(recorded, dict):
        wanted = network.as_dict()
        ignored = {"head"} if allow_missing_head else set()
        differing = sorted(k for k in wanted if k in recorded and k not in ignored and recorded[k] != wanted[k])
        if differing:
            raise CheckpointError(f"weights file {weights} was saved for another network: "
                                  + ", ".join(f"{k}={recorded[k]!r} (asked for {wanted[k]!r})" for k in differing))
    model = into if into is not None else SiamRPN(network)
    load_state(model, payload["state_dict"], weights, ("kpt_head.",) if allow_missing_head else ())
    return model.eval()
