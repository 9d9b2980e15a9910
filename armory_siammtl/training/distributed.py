"""Where a training process runs: its device, and its place among ``torchrun`` processes (DDP over gloo on
CPU, nccl on GPU). One process without ``torchrun`` is rank 0 of 1."""

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

DEVICES = ("auto", "cpu", "cuda")


@dataclass
class Worker:
    """One training process: its device and its rank among ``world_size`` processes."""

    device: torch.device
    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def mean(self, values: dict) -> dict:
        """``values`` (name -> float) averaged over all processes; unchanged in a single process."""
        if not self.distributed:
            return values
        names = sorted(values)
        tensor = torch.tensor(
            [float(values[k]) for k in names],
            dtype=torch.float64,
            device=self.device if self.device.type == "cuda" else "cpu",
        )
        dist.all_reduce(tensor)
        return {k: float(v) / self.world_size for k, v in zip(names, tensor.tolist())}

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()


def join(device: str = "auto") -> Worker:
    """This process as a training worker: joins the ``torchrun`` process group when ``WORLD_SIZE`` > 1 (each
    rank on ``cuda:LOCAL_RANK`` when CUDA is used). ``device``: auto (CUDA when available), cpu or cuda."""
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, not {device!r}")
    use_cuda = torch.cuda.is_available() if device == "auto" else device == "cuda"
    if use_cuda and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was asked for, but torch sees no CUDA device")
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    target = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(target)
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    return Worker(target, rank, world_size)


def leave(worker: Worker) -> None:
    if worker.distributed and dist.is_initialized():
        dist.destroy_process_group()
