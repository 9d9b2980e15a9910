"""ART estimator wrapping the differentiable SiamRPN tracker."""

from armory_siammtl.estimators.build import build_estimator
from armory_siammtl.estimators.pytorch_siamrpn import PyTorchSiamRPN

__all__ = ["PyTorchSiamRPN", "build_estimator"]
