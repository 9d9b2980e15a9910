"""SiamRPN (AlexNet) with an optional keypoint head, pysot-checkpoint compatible."""

from armory_siammtl.models.loading import load_model
from armory_siammtl.models.metadata import UnverifiedWeightsWarning
from armory_siammtl.models.siamrpn import NetworkConfig, SiamRPN, to_model_input
from armory_siammtl.models.variant import ModelVariant
from armory_siammtl.models.weights_file import WeightsError, load_weights, save_weights, sha256_of

__all__ = [
    "WeightsError",
    "ModelVariant",
    "NetworkConfig",
    "SiamRPN",
    "load_weights",
    "load_model",
    "save_weights",
    "sha256_of",
    "to_model_input",
    "UnverifiedWeightsWarning",
]
