"""SiamRPN (AlexNet) with an optional keypoint head, pysot-checkpoint compatible."""

from armory_siammtl.models.checkpoint import CheckpointError, load_checkpoint, save_checkpoint, sha256_of
from armory_siammtl.models.loading import load_model
from armory_siammtl.models.metadata import UnverifiedWeightsWarning
from armory_siammtl.models.siamrpn import NetworkConfig, SiamRPN, to_model_input
from armory_siammtl.models.variant import ModelVariant

__all__ = [
    "CheckpointError",
    "ModelVariant",
    "NetworkConfig",
    "SiamRPN",
    "load_checkpoint",
    "load_model",
    "save_checkpoint",
    "sha256_of",
    "to_model_input",
    "UnverifiedWeightsWarning",
]
