"""Differentiable SiamRPN tracking loop, its configuration, objective and metrics."""

from armory_siammtl.tracking.config import TrackingConfig
from armory_siammtl.tracking.crop import crop_subwindow
from armory_siammtl.tracking.tracker import SiamRPNTracker, TrackResult

__all__ = ["crop_subwindow", "SiamRPNTracker", "TrackingConfig", "TrackResult"]
