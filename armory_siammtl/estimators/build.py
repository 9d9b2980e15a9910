"""``build_estimator``: the one way a model variant becomes an ART estimator."""

from typing import Optional

from armory_siammtl.estimators.pytorch_siamrpn import PyTorchSiamRPN
from armory_siammtl.models.loading import load_model
from armory_siammtl.models.variant import ModelVariant
from armory_siammtl.tracking.config import TrackingConfig


def build_estimator(
    variant: ModelVariant, tracking: Optional[TrackingConfig] = None, device_type: str = "gpu", **estimator_kwargs
) -> PyTorchSiamRPN:
    """``PyTorchSiamRPN`` around ``load_model(variant)`` (which verifies the weights).

    :param variant: the model and its weights file.
    :param tracking: the tracker's hyper-parameters (default ``TrackingConfig()``).
    :param device_type: "gpu" (when CUDA is available) or "cpu".
    :param estimator_kwargs: further ``PyTorchSiamRPN`` arguments (ARMORY's ``wrapper_kwargs``).
    """
    model = load_model(variant)
    return PyTorchSiamRPN(model, tracking, device_type=device_type, **estimator_kwargs)
