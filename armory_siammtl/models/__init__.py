"""SiamRPN (AlexNet) with an optional keypoint head, pysot-checkpoint compatible."""

from armory_siammtl.models.siamrpn import SiamRPN, SiamRPNConfig
from armory_siammtl.models.checkpoint import load_checkpoint, save_checkpoint, sha256_of

__all__ = ["SiamRPN", "SiamRPNConfig", "load_checkpoint", "save_checkpoint", "sha256_of"]
