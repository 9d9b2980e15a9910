"""The one way the package builds a SiamRPN and loads its weights: ``load_model(variant)``.

What a weights file is checked against, in this order (every check that applies is made):
1. the sha256 the caller pins (``variant.sha256``; a scenario's ``model_kwargs.weights_sha256``);
2. the manifest that lists the file's name (beside the file, else the package's own): its sha256, and its
   lambda_K and head against the variant;
3. the file's own metadata (``metadata.verify``): its tensors' sha256, and its lambda_K, head and
   pre-trained head against the variant.
A plain pysot checkpoint that none of these cover loads as the variant asks, with an
``UnverifiedWeightsWarning``.
"""

from pathlib import Path
from typing import Optional

from armory_siammtl.models.manifest import listing
from armory_siammtl.models.metadata import verify
from armory_siammtl.models.siamrpn import NetworkConfig, SiamRPN
from armory_siammtl.models.variant import ModelVariant
from armory_siammtl.models.weights_file import REFERENCE_LAYOUT, WeightsError, load_state, read_weights


def _expected_sha256(variant: ModelVariant, check_model: bool) -> Optional[str]:
    """The file's sha256 as pinned and/or listed (they must agree); lambda_K/head checked against a listing."""
    found = listing(variant.weights)
    if found is None:
        return variant.sha256
    entry, manifest = found
    if check_model:
        variant.check_matches(entry.get("kpt_weight"), entry.get("head"), f"{variant.weights.name} (per {manifest})")
    if variant.sha256 and variant.sha256.lower() != str(entry["sha256"]).lower():
        raise WeightsError(
            f"{variant.weights}: the pinned sha256 {variant.sha256} is not the one {manifest} lists ({entry['sha256']})"
        )
    return variant.sha256 or entry["sha256"]


def _check_network(payload: dict, network: NetworkConfig, weights: Path, ignored=()) -> None:
    recorded = payload.get("network")
    if not isinstance(recorded, dict):
        return
    wanted = network.as_dict()
    differing = sorted(k for k in wanted if k in recorded and k not in ignored and recorded[k] != wanted[k])
    if differing:
        raise WeightsError(
            f"weights file {weights} was saved for another network: "
            + ", ".join(f"{k}={recorded[k]!r} (asked for {wanted[k]!r})" for k in differing)
        )


def load_model(
    variant: ModelVariant,
    network: Optional[NetworkConfig] = None,
    allow_missing_head: bool = False,
    into: Optional[SiamRPN] = None,
) -> SiamRPN:
    """A SiamRPN for ``variant`` with its weights loaded and verified (see the module), in eval mode;
    never random weights.

    :param variant: the model; its ``weights`` file is required, its ``sha256`` optional.
    :param network: the architecture; default ``NetworkConfig(head=variant.head)`` with the keypoint head's
        style the file records.
    :param allow_missing_head: a checkpoint without keypoint head may start an MTL model (training): the
        lambda_K and head the file records are not compared, and a missing head keeps its initial weights.
    :param into: load into this model (its architecture is ``network``) instead of a new one.
    """
    if variant.weights is None:
        raise WeightsError("no weights file given; armory-siammtl never runs random weights")
    weights = Path(variant.weights)
    expected = _expected_sha256(variant, not allow_missing_head)
    payload = read_weights(weights, expected)
    verify(payload, variant, weights, check_model=not allow_missing_head, verified_elsewhere=expected is not None)
    if network is None and into is None:  # the head's style is the one the file was saved with
        recorded = payload.get("network") if isinstance(payload.get("network"), dict) else {}
        default_style = "skelevision" if payload.get(REFERENCE_LAYOUT) else "batchnorm"
        network = NetworkConfig(head=variant.head, head_style=recorded.get("head_style", default_style))
    network = network or into.config
    if network.head != variant.head:
        raise ValueError(f"network head {network.head!r} differs from the model's head {variant.head!r}")
    _check_network(payload, network, weights, ignored={"head"} if allow_missing_head else ())
    model = into if into is not None else SiamRPN(network)
    load_state(model, payload["state_dict"], weights, ("kpt_head.",) if allow_missing_head else ())
    return model.eval()


def variant_from_file(weights, sha256: Optional[str] = None) -> ModelVariant:
    """The model a self-describing checkpoint (``train``, ``describe-weights``, the shipped files) records:
    its lambda_K, head and pre-trained head; ValueError for a plain pysot file, which records none."""
    from armory_siammtl.models.metadata import read_metadata

    block = read_metadata(read_weights(weights, sha256), weights)
    if block is None:
        raise ValueError(
            f"{weights} records no lambda_K or head (a plain pysot checkpoint): give --kpt-weight and "
            "--head, or describe it with `armory-siammtl describe-weights`"
        )
    return ModelVariant(
        block["kpt_weight"], block["head"], bool(block["pretrained_head"]), weights=weights, sha256=sha256
    )
