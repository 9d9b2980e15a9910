"""Differentiable SiamRPN tracking loop."""

from armory_siammtl.tracking.crop import crop_subwindow
from armory_siammtl.tracking.tracker import SiamRPNTracker, TrackResult

__all__ = ["crop_subwindow", "SiamRPNTracker", "TrackResult"]
