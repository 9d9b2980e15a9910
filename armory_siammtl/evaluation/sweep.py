"""The paper's grid: models x step sizes x videos x attack seeds, one attack run per cell up to the attack's
length, in the sweep's experiment spec (any preset, the reference one included).

Smaller step counts come from the attack's checkpoints. Each finished cell is appended to the tidy CSV
(``results_file``; written atomically) after its boxes and textures (``cell_records``), so a killed sweep
resumes where it stopped; a cell in progress goes on from its last saved attack state (``cell_state``), as
does a finished cell when ``max_iter`` grows. Rows with ``steps == 0`` are the benign scores of the clean
video. Each row names the runtime(s) it was computed on (torch, CPU, kernels, threads, device), since
round-off there changes single attack runs. Everything is checked before anything is written.
"""

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Callable, List, Optional

from tqdm.auto import tqdm

from armory_siammtl import atomic
from armory_siammtl.data.attack_videos import attack_videos
from armory_siammtl.evaluation.cell_records import cell_path, save_cell
from armory_siammtl.evaluation.cell_state import CellProgress, cell_fingerprint, state_path, video_digest
from armory_siammtl.evaluation.cells import attack_cell, load_estimator
from armory_siammtl.evaluation.results_file import ResultsFile, cell_key
from armory_siammtl.evaluation.sweep_config import SweepConfig
from armory_siammtl.models.weights_file import sha256_of
from armory_siammtl.runtime import runtime_facts, runtime_label
from armory_siammtl.tracking.metrics import METRICS

if TYPE_CHECKING:  # a type only: Ray is imported when a sweep runs on it
    from armory_siammtl.evaluation.ray_sweep import RayCluster


def _cell_key(model: str, dataset: str, video: str, step_size: float, seed: int) -> tuple:
    return cell_key(
        {"model": model, "dataset": dataset, "video": video, "step_size": f"{float(step_size):g}", "seed": seed}
    )


def pinned_models(config: SweepConfig) -> tuple:
    """The config's models, each pinned to the sha256 of its weights file as it is now (and checked against
    the sha256 the config pins, if any)."""
    pinned = []
    for model in config.models:
        digest = sha256_of(model.weights)
        if model.sha256 and model.sha256.lower() != digest:
            raise ValueError(
                f"model {model.name!r}: {model.weights} has sha256 {digest}, the config pins {model.sha256}"
            )
        pinned.append(dataclasses.replace(model, sha256=digest))
    return tuple(pinned)


def attack_settings(config: SweepConfig, models=None) -> dict:
    """What must not change between a sweep and its resumption (models and seeds may be added), and the
    runtime this run uses (recorded, not compared)."""
    return {
        "dataset": config.dataset,
        "spec": config.shared_settings(),
        "seeds": list(config.seeds),
        "models": {
            m.name: {"weights": m.weights.name, "sha256": m.sha256, "kpt_weight": m.kpt_weight, "head": m.head}
            for m in (models or pinned_models(config))
        },
        "runtime": [runtime_facts()],
    }


def exclusive(results_path):
    """Hold ``.<results>.lock`` beside the results file for the sweep's whole run; a second sweep on the
    same file is refused instead of overwriting the first one's rows."""
    path = Path(results_path)
    return atomic.exclusive(
        path.with_name(f".{path.name}.lock"),
        f"another sweep is writing {path}; wait for it or choose another --results file",
    )


def run_sweep(
    config: SweepConfig,
    results_path,
    progress: bool = True,
    on_cell: Optional[Callable[[tuple], None]] = None,
    ray: Optional["RayCluster"] = None,
) -> ResultsFile:
    """Run every cell not yet in ``results_path``, video by video (one video in memory at a time), here or
    as Ray tasks (``ray``: an ``evaluation.ray_sweep.RayCluster``); ``on_cell(key)`` is called after each
    cell is saved."""
    missing = [m for m in config.models if not m.weights.is_file()]
    if missing:
        raise FileNotFoundError(f"model {missing[0].name!r}: no weights file at {missing[0].weights}")
    results_path = Path(results_path).resolve()  # a link's target: one lock and one file, whatever the name
    if results_path.is_dir():
        raise ValueError(f"--results {results_path} is a folder; name a CSV file")
    with exclusive(results_path):
        return _run_locked(config, results_path, progress, on_cell, ray)


def _run_locked(config, results_path, progress, on_cell, ray) -> ResultsFile:
    results = ResultsFile(results_path)
    if results.damaged:
        tqdm.write(
            f"{results.path}: {results.damaged} rows dropped, their cells run again ("
            + "; ".join(results.reasons[:5])
            + ")"
        )
    models = pinned_models(config)
    settings = results.check(attack_settings(config, models))
    video_ids, videos = attack_videos(config.dataset)  # refuses missing data before anything is written
    if not video_ids:
        raise ValueError(f"dataset {config.dataset} holds no videos")
    results.claim(settings)
    done = results.done(config.steps)

    def key(model, step_size, video_id, seed):
        return _cell_key(model.name, config.dataset_name, video_id, step_size, seed)

    cells = [(m, d, s) for m in models for d in config.step_sizes for s in config.seeds]
    left = sum(key(m, d, v, s) not in done for v in video_ids for m, d, s in cells)
    runtime = runtime_label(runtime_facts())
    bar = tqdm(
        total=left * config.max_steps, unit="step", desc="sweep", disable=not progress, postfix={"cells left": left}
    )

    digests = {}  # the current video's id -> video_digest: one pass over its frames, not one per cell

    def progress_of(model, step_size, seed, video) -> CellProgress:
        path = state_path(cell_path(results.path, model.name, step_size, video.video_id, seed))
        if video.video_id not in digests:
            digests.clear()  # cells come video by video: only the current one is kept
            digests[video.video_id] = video_digest(video)
        fingerprint = cell_fingerprint(config, model, step_size, seed, video.video_id, digests[video.video_id])
        return CellProgress(path, fingerprint, runtime, config.max_steps)

    def record(model, step_size, seed, video, run, runtime=runtime):
        """The driver's one write path: the cell's boxes and textures, then its rows (``runtime``: where
        the cell ran)."""
        nonlocal left
        save_cell(cell_path(results.path, model.name, step_size, video.video_id, seed), video.boxes, run)
        results.add(
            [
                {
                    "model": model.name,
                    "kpt_weight": model.kpt_weight,
                    "head": model.head or "",
                    "pretrained_head": model.pretrained_head,
                    "dataset": config.dataset_name,
                    "video": video.video_id,
                    "step_size": f"{step_size:g}",
                    "seed": seed,
                    "steps": steps,
                    **{m: f"{scores[m]:.4f}" for m in METRICS},
                    "runtime": runtime,
                }
                for steps, scores in sorted(run.scores().items())
            ]
        )
        left -= 1
        bar.set_postfix({"cells left": left})
        if on_cell is not None:
            on_cell(key(model, step_size, video.video_id, seed))

    work = ((video, [c for c in cells if key(c[0], c[1], video.video_id, c[2]) not in done]) for video in videos)
    if ray is not None:
        from armory_siammtl.evaluation.ray_sweep import run_on_ray

        def record_remote(model, step_size, seed, video, run, worker_runtime):
            bar.update(config.max_steps)
            record(model, step_size, seed, video, run, worker_runtime)

        run_on_ray(ray, work, config, record_remote, progress_of)
    else:
        estimators = {}
        for video, todo in work:
            for model, step_size, seed in todo:
                if model.name not in estimators:
                    estimators[model.name] = load_estimator(model, config.spec.tracking)
                bar.set_description(f"sweep {model.name} d={step_size:g} seed {seed} {video.video_id}")
                progress = progress_of(model, step_size, seed, video)
                run = attack_cell(
                    estimators[model.name],
                    video,
                    step_size,
                    seed,
                    config,
                    on_step=_advance(bar),
                    progress=progress,
                )
                record(model, step_size, seed, video, run, progress.runtime())
    bar.close()
    return results


def _advance(bar) -> Callable[[int], None]:
    """``on_step`` for one cell: moves ``bar`` to the cell's steps done (a resumed cell jumps ahead)."""
    start = bar.n
    return lambda done: bar.update(start + done - bar.n)


# the ARMORY dataset each sweep dataset kind maps to (``armory.scenarios.DATASETS``)
ARMORY_DATASETS = {
    "procedural": "siammtl_embedded_tracking",
    "carla": "carla_video_tracking_dev",
    "otb": "otb2015_person",
}


def emit_scenarios(config: SweepConfig, out_dir) -> List[Path]:
    """One ARMORY scenario JSON per (model, step size, seed) that runs exactly what the sweep runs (its
    spec, seed and dataset); the file name carries the seed when the config has several."""
    from armory_siammtl.armory.scenarios import scenario_config

    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"--emit-scenarios {out_dir} exists and is not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for model, step_size, seed in ((m, d, s) for m in config.models for d in config.step_sizes for s in config.seeds):
        spec = config.spec.changed(step_size=step_size)
        scenario = scenario_config(model, spec, dataset=ARMORY_DATASETS[config.dataset_name], seed=seed)
        if config.dataset_name == "otb":
            roots = config.dataset["root"]
            scenario["dataset"].update(
                dataset_dir=roots[0] if len(roots) == 1 else roots,
                max_frames=config.dataset["frames"],
                sequences=config.dataset["sequences"],
            )
        if config.dataset_name == "procedural":
            scenario["dataset"].update({k: config.dataset[k] for k in ("videos", "frames", "height", "width", "seed")})
        slug = "".join(c if c.isalnum() else "_" for c in model.name).strip("_").lower()
        suffix = f"_s{seed}" if len(config.seeds) > 1 else ""
        path = out_dir / f"sweep_{slug}_d{step_size:g}{suffix}.json".replace("d0.", "d0p")
        atomic.write_text(path, json.dumps(scenario, indent=4) + "\n")
        written.append(path)
    return written
