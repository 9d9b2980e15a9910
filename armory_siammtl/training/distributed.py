"""Where a training process runs: its device, and its place among ``torchrun`` processes (DDP over gloo on
CPU, nccl on GPU). One process without ``torchrun`` is rank 0 of 1."""

import contextlib
import os
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist

from armory_siammtl.values import positive

DEVICES = ("auto", "cpu", "cuda")
# how long a process waits for the others (for rank 0's validation at the end of each epoch too) before its
# collective fails: torch's gloo default, three times its NCCL default, so that validation on a large set fits
DEFAULT_TIMEOUT_S = 1800.0
MAX_TIMEOUT_S = 30 * 24 * 3600.0  # a month: room for any validation, far inside what timedelta holds


@dataclass
class Worker:
    """One training process: its device, its rank among ``world_size`` processes and how long its collectives
    wait for the others (``timeout_s``)."""

    device: torch.device
    rank: int = 0
    world_size: int = 1
    timeout_s: float = DEFAULT_TIMEOUT_S

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def mean(self, values: dict, where: str = "") -> dict:
        """``values`` (name -> float) averaged over all processes; unchanged in a single process. ``where``
        (e.g. "after epoch 3's steps") names the point of the run in the error raised when the others do not
        come."""
        if not self.distributed:
            return values
        names = sorted(values)
        tensor = torch.tensor(
            [float(values[k]) for k in names],
            dtype=torch.float64,
            device=self.device if self.device.type == "cuda" else "cpu",
        )
        with self._waiting(where):
            dist.all_reduce(tensor)
        return {k: float(v) / self.world_size for k, v in zip(names, tensor.tolist())}

    def barrier(self, where: str = "") -> None:
        """Wait for every process (no-op in a single process); ``where`` as for ``mean``."""
        if self.distributed:
            with self._waiting(where):
                dist.barrier()

    @contextlib.contextmanager
    def _waiting(self, where: str):
        try:
            yield
        except RuntimeError as exc:  # gloo and NCCL timeouts, a peer that died
            point = f" {where}" if where else ""
            raise RuntimeError(
                f"rank {self.rank} of {self.world_size} stopped waiting for the other processes{point}: they "
                f"failed, or took longer than {self.timeout_s:g} s (--dist-timeout). {exc}"
            ) from exc


def join(device: str = "auto", timeout_s: float = DEFAULT_TIMEOUT_S) -> Worker:
    """This process as a training worker: joins the ``torchrun`` process group when ``WORLD_SIZE`` > 1 (each
    rank on ``cuda:LOCAL_RANK`` when CUDA is used).

    :param device: auto (CUDA when available), cpu or cuda.
    :param timeout_s: seconds a collective (and the group's start) waits for the other processes.
    """
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, not {device!r}")
    timeout_s = positive("timeout_s", timeout_s, MAX_TIMEOUT_S)
    use_cuda = torch.cuda.is_available() if device == "auto" else device == "cuda"
    if use_cuda and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was asked for, but torch sees no CUDA device")
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    target = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(target)
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo", timeout=timedelta(seconds=timeout_s))
    return Worker(target, rank, world_size, timeout_s)


def leave(worker: Worker) -> None:
    if worker.distributed and dist.is_initialized():
        dist.destroy_process_group()
