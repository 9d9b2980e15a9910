"""ART estimator wrapping the differentiable SiamRPN tracker."""

from armory_siammtl.estimators.pytorch_siamrpn import PyTorchSiamRPN

__all__ = ["PyTorchSiamRPN"]
