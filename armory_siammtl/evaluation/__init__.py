"""Tracking metrics: per-frame IoU, per-video mean IoU, mIoU x 100, success rate."""
