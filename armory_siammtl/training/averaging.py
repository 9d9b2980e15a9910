"""Stochastic weight averaging (SWA, Izmailov et al. 2018): the running mean of a model's weights at the end of
chosen epochs, and batch-norm statistics recomputed for that mean (the statistics of averaged weights are not
the average of the epochs' statistics)."""

import copy
from typing import Callable, Iterable

import torch
from torch.optim.swa_utils import AveragedModel


class WeightAverage:
    """The running mean of ``model``'s parameters (``torch.optim.swa_utils.AveragedModel``); its buffers are
    not averaged, ``refreshed`` recomputes the batch-norm ones."""

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

    def refreshed(self, batches: Iterable, forward: Callable[[torch.nn.Module, object], object]) -> torch.nn.Module:
        """A copy of the averaged model whose batch-norm running means and variances are the plain average
        over ``batches`` (``forward(model, batch)`` runs one in training mode, without gradients); the
        running mean itself is left as it is, so that averaging can go on."""
        model = copy.deepcopy(self._average.module)
        norms = _batch_norms(model)
        for norm in norms:
            norm.reset_running_stats()
            norm.momentum = None  # cumulative average over the batches
        model.train()
        if norms:
            with torch.no_grad():
                for batch in batches:
                    forward(model, batch)
        for norm, source in zip(norms, _batch_norms(self._average.module)):
            norm.momentum = source.momentum
        model.eval()
        return model


def _batch_norms(model: torch.nn.Module) -> list:
    return [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
