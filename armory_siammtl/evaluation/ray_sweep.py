"""Sweep cells as Ray tasks: the driver loads each video once, puts it in Ray's object store and submits
one task per (model, step size, seed) cell with its CPU/GPU request; it alone writes the results file,
cell by cell as tasks finish, so a killed driver or a lost worker loses no finished cell (a lost worker's
task is retried by Ray; a killed driver's unfinished cells run again on resumption). Install with
``pip install armory-siammtl[ray]``. Weights paths must be readable on every node."""

import dataclasses
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, Optional, Tuple

_ESTIMATORS: Dict[tuple, object] = {}  # per Ray worker process: one estimator per model, reused across tasks


@dataclass
class RayCluster:
    """Where and how cells run: ``address`` of a running cluster ("auto", "ray://host:10001"), or None to
    start a local instance (or join ``RAY_ADDRESS``); each cell asks for ``cpus`` CPUs (its torch threads)
    and ``gpus`` GPUs; at most ``videos_in_flight`` videos are in the object store at once."""

    address: Optional[str] = None
    cpus: float = 1
    gpus: float = 0
    videos_in_flight: int = 2

    def __post_init__(self):
        if not self.cpus > 0 or not self.gpus >= 0 or self.videos_in_flight < 1:
            raise ValueError(f"a Ray cell needs cpus > 0, gpus >= 0 and videos_in_flight >= 1, got {self}")


def _attack_cell_task(model, video, step_size: float, seed: int, config, threads: int, use_gpu: bool, progress):
    """One cell on a Ray worker (its estimator cached in the worker process), saving and going on from its
    state through ``progress`` (a ``CellProgress``, its path readable and writable on the worker): the run
    without the attacked video, which the driver does not keep, and the runtime label(s) for the cell's rows."""
    import torch

    from armory_siammtl.evaluation.cells import attack_cell, load_estimator
    from armory_siammtl.runtime import runtime_facts, runtime_label

    torch.set_num_threads(threads)
    progress.runtimes = [runtime_label(runtime_facts())]  # this worker's, not the driver's
    key = (model.name, str(model.weights), model.sha256, config.spec.tracking, use_gpu)
    if key not in _ESTIMATORS:
        _ESTIMATORS[key] = load_estimator(model, config.spec.tracking, "gpu" if use_gpu else "cpu")
    run = attack_cell(_ESTIMATORS[key], video, step_size, seed, config, progress=progress)
    return dataclasses.replace(run, adversarial=None), progress.runtime()


Cell = Tuple[object, float, int]  # (model, step size, seed)


def run_on_ray(
    cluster: RayCluster,
    work: Iterable[Tuple[object, List[Cell]]],
    config,
    record: Callable[..., None],
    progress_of: Callable[..., object],
) -> None:
    """Run every ``(video, cells)`` of ``work`` on Ray; ``record(model, step_size, seed, video, run,
    runtime)`` is called in this process for each finished cell, in the order they finish;
    ``progress_of(model, step_size, seed, video)`` gives each cell's ``CellProgress``."""
    try:
        import ray
    except ImportError:
        raise ValueError("--ray needs Ray: pip install 'armory-siammtl[ray]'") from None
    started = not ray.is_initialized()
    if started:
        ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False)
    task = ray.remote(_attack_cell_task).options(num_cpus=cluster.cpus, num_gpus=cluster.gpus, max_retries=2)
    in_flight: Dict[object, tuple] = {}
    open_cells: Dict[str, int] = {}

    def collect_one():
        (ready,), _ = ray.wait(list(in_flight), num_returns=1)
        model, step_size, seed, video = in_flight.pop(ready)
        record(model, step_size, seed, video, *ray.get(ready))
        open_cells[video.video_id] -= 1
        if not open_cells[video.video_id]:
            del open_cells[video.video_id]

    try:
        for video, cells in work:
            if not cells:
                continue
            while len(open_cells) >= cluster.videos_in_flight:
                collect_one()
            frames = ray.put(video)
            for model, step_size, seed in cells:
                progress = progress_of(model, step_size, seed, video)
                threads = max(1, int(cluster.cpus))
                ref = task.remote(model, frames, step_size, seed, config, threads, cluster.gpus > 0, progress)
                in_flight[ref] = (model, step_size, seed, video)
            open_cells[video.video_id] = len(cells)
        while in_flight:
            collect_one()
    finally:
        for ref in in_flight:
            ray.cancel(ref)
        if started:
            ray.shutdown()
