"""Weights averaged over training: SWA (Izmailov et al. 2018), the running mean of a model's weights at the end
of chosen epochs; WiSE-FT-style interpolation (Wortsman et al. 2022) between a model and its further
fine-tuned self; and the batch-norm statistics recomputed for either (the statistics of averaged weights are
not the average of the statistics)."""

import copy
from typing import Callable, Iterable

import torch
from torch.optim.swa_utils import AveragedModel


class WeightAverage:
    """The running mean of ``model``'s parameters (``torch.optim.swa_utils.AveragedModel``); its buffers are
    not averaged (``refresh_batch_norm`` recomputes the batch-norm ones)."""

    def __init__(self, model: torch.nn.Module):
        self._average = AveragedModel(model)

    def add(self, model: torch.nn.Module) -> None:
        """Add ``model``'s current parameters to the mean."""
        self._average.update_parameters(model)

    @property
    def count(self) -> int:
        """How many weight sets the mean holds."""
        return int(self._average.n_averaged)

    def state_dict(self) -> dict:
        return self._average.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self._average.load_state_dict(state)

    def copy(self) -> torch.nn.Module:
        """A copy of the averaged model (its batch-norm statistics still to be recomputed:
        ``refresh_batch_norm``); the running mean itself is left as it is, so that averaging can go on."""
        return copy.deepcopy(self._average.module)


def interpolate(start: dict, end: dict, alpha: float) -> dict:
    """The state dict ``(1 - alpha) * start + alpha * end`` for floating-point tensors (WiSE-FT, Wortsman et
    al. 2022, between a model and its further fine-tuned self); other tensors (batch counts) are ``end``'s.
    Batch-norm statistics of a mixture are not a mixture of statistics: recompute them (``refresh_batch_norm``)."""
    if not 0 <= alpha <= 1:
        raise ValueError(f"interpolation alpha must lie in [0, 1], got {alpha!r}")
    if start.keys() != end.keys():
        raise ValueError(f"the two state dicts hold different tensors: {sorted(set(start) ^ set(end))[:5]}")
    mixed = {}
    for key, b in end.items():
        a = start[key]
        if a.shape != b.shape:
            raise ValueError(f"{key}: shapes {tuple(a.shape)} and {tuple(b.shape)} differ")
        mixed[key] = torch.lerp(a, b, alpha) if b.is_floating_point() else b.clone()
    return mixed


def refresh_batch_norm(
    model: torch.nn.Module, batches: Iterable, forward: Callable[[torch.nn.Module, object], object]
) -> None:
    """Make every batch-norm layer's running mean and variance the plain average over ``batches``
    (``forward(model, batch)`` runs one in training mode, without gradients); the model is left in eval mode."""
    norms = _batch_norms(model)
    momenta = [norm.momentum for norm in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average over the batches
    model.train()
    if norms:
        with torch.no_grad():
            for batch in batches:
                forward(model, batch)
    for norm, momentum in zip(norms, momenta):
        norm.momentum = momentum
    model.eval()


def _batch_norms(model: torch.nn.Module) -> list:
    return [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
