"""The attack objective of the paper's Eq. 4: the L1 distance between tracked and ground-truth boxes."""

import torch


def box_l1(boxes: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """sum_t |box_t - target_t|_1 over (T, 4) boxes, in float32 (the tracker may run in float64), over the
    frames whose target row is present: a NaN row (the target is absent, ``input_checks.check_boxes``)
    adds nothing."""
    present = torch.isfinite(target).all(dim=1)
    return torch.abs(boxes.float()[present] - target.float()[present]).sum()
