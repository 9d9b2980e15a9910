"""The paper's grid: models x step sizes x videos x attack seeds, one attack run per cell up to the largest
step count.

Smaller step counts come from the attack's checkpoints. Each finished cell is appended to a tidy CSV
(written atomically), after its boxes and textures (``cell_records``), so a killed sweep resumes where it
stopped; rows with ``steps == 0`` are the benign mIoU of the clean video (the same for every seed). Each
row names the runtime it was computed on (torch, CPU kernels, threads, device), since round-off there
changes single attack runs.
"""

import csv
import json
import math
from pathlib import Path
from typing import Callable, Dict, List, Optional

from tqdm.auto import tqdm

from armory_siammtl import atomic
from armory_siammtl.atomic import write_csv, write_text
from armory_siammtl.attacks.runner import AttackRun, run_attack
from armory_siammtl.data.attack_videos import AttackVideo, attack_videos
from armory_siammtl.estimators.build import build_estimator
from armory_siammtl.evaluation.cell_records import cell_path, save_cell
from armory_siammtl.evaluation.sweep_config import SweepConfig
from armory_siammtl.models.checkpoint import sha256_of
from armory_siammtl.models.variant import ModelVariant
from armory_siammtl.runtime import runtime_facts, runtime_label
from armory_siammtl.tracking.config import TrackingConfig

COLUMNS = ["model", "kpt_weight", "head", "pretrained_head", "dataset", "video", "step_size", "seed", "steps",
           "miou", "runtime"]
CELL_KEY = ("model", "dataset", "video", "step_size", "seed")
MERGED = ("models", "seeds", "runtime")  # settings a resumption may extend; the others must not change


def _cell_key(model: str, dataset: str, video: str, step_size: float, seed: int) -> tuple:
    return model, dataset, video, f"{float(step_size):g}", str(seed)


def attack_settings(config: SweepConfig) -> dict:
    """What must not change between a sweep and its resumption (models and seeds may be added), and the
    runtime this run uses (recorded, not compared)."""
    return {"dataset": config.dataset, "steps": list(config.steps), "gradient": config.gradient,
            "frame_batch": config.frame_batch, "instance_size": config.instance_size, "seeds": list(config.seeds),
            "init": config.init,
            "models": {m.name: {"weights": m.weights.name, "sha256": sha256_of(m.weights), "kpt_weight": m.kpt_weight,
                                "head": m.head} for m in config.models},
            "runtime": [runtime_facts()]}


def settings_file(results_path) -> Path:
    """``<results>.settings.json``: the attack settings a results file was written with."""
    results_path = Path(results_path)
    return results_path.with_name(results_path.name + ".settings.json")


class ResultsFile:
    """The sweep's tidy CSV: read on start, rewritten whole (temp file + rename) after every cell.
    ``<name>.settings.json`` beside it records the attack settings, so a resumption with other settings
    is refused instead of mixing results."""

    def __init__(self, path):
        self.path = Path(path)
        self.settings_path = settings_file(self.path)
        self.rows: List[Dict[str, str]] = []
        self.damaged = 0  # rows dropped on reading (truncated, or a field that does not parse)
        if self.path.exists():
            with self.path.open(newline="") as handle:
                reader = csv.DictReader(handle)
                if reader.fieldnames != COLUMNS:
                    raise ValueError(f"{self.path} is not a sweep results file: columns {reader.fieldnames}, "
                                     f"expected {COLUMNS}")
                for row in reader:
                    if _intact(row):
                        self.rows.append(row)
                    else:
                        self.damaged += 1

    def claim(self, settings: dict) -> None:
        """Record ``settings``, or check them against those already recorded."""
        settings = json.loads(json.dumps(settings))
        if self.settings_path.exists():
            recorded = json.loads(self.settings_path.read_text())
            for key in settings:
                if key == "models":
                    changed = sorted(name for name, spec in settings["models"].items()
                                     if recorded["models"].get(name, spec) != spec)
                    if changed:
                        raise ValueError(f"{self.path} holds results of models {changed} with other weights "
                                         f"(file or sha256), lambda_K or head; choose another --results file")
                elif key not in MERGED and recorded.get(key) != settings[key]:
                    raise ValueError(f"{self.path} was written with {key}={recorded.get(key)!r}, this config "
                                     f"has {settings[key]!r}; choose another --results file")
            settings["models"] = {**recorded["models"], **settings["models"]}
            settings["seeds"] = sorted(set(recorded.get("seeds", [])) | set(settings["seeds"]))
            runs = recorded.get("runtime", [])
            settings["runtime"] = runs + [r for r in settings["runtime"] if r not in runs]
        write_text(self.settings_path, json.dumps(settings, indent=1) + "\n")

    def done(self, steps=()) -> set:
        """Cells holding a row for the benign run and for every one of ``steps``; others run again."""
        found: Dict[tuple, set] = {}
        for row in self.rows:
            found.setdefault(tuple(row[k] for k in CELL_KEY), set()).add(int(row["steps"]))
        return {cell for cell, have in found.items() if have >= {0, *steps}}

    def add(self, rows: List[dict]) -> None:
        """Append one cell's rows, replacing any partial rows of that cell, and rewrite the file."""
        new = [{k: str(row[k]) for k in COLUMNS} for row in rows]
        cells = {tuple(row[k] for k in CELL_KEY) for row in new}
        self.rows = [row for row in self.rows if tuple(row[k] for k in CELL_KEY) not in cells] + new
        write_csv(self.path, self.rows, COLUMNS)


def _intact(row: dict) -> bool:
    """A row with every field present, a whole step count and a finite mIoU."""
    if any(row.get(k) in (None, "") and k not in ("head",) for k in COLUMNS) or None in row:
        return False
    try:
        return int(row["steps"]) >= 0 and math.isfinite(float(row["miou"]))
    except ValueError:
        return False


def exclusive(results_path):
    """Hold ``.<results>.lock`` beside the results file for the sweep's whole run; a second sweep on the
    same file is refused instead of overwriting the first one's rows."""
    path = Path(results_path)
    return atomic.exclusive(path.with_name(f".{path.name}.lock"),
                            f"another sweep is writing {path}; wait for it or choose another --results file")


def load_estimator(variant: ModelVariant, instance_size: int = TrackingConfig.instance_size):
    """A PyTorchSiamRPN for one sweep model; the sha256 comes from the config or the manifest beside the
    weights, and the manifest's lambda_K/head must agree with the config's."""
    return build_estimator(variant, TrackingConfig(instance_size=instance_size))


def attack_cell(estimator, video: AttackVideo, step_size: float, seed: int, config: SweepConfig,
                on_step: Optional[Callable[[int], None]] = None) -> AttackRun:
    """The attack run of one (model, step size, video, seed) cell (``.mious()``: {steps: mIoU x 100},
    benign as steps 0)."""
    return run_attack(estimator, video, on_step=on_step, step_size=step_size, steps=config.max_steps,
                      checkpoints=config.steps, gradient=config.gradient, frame_batch=config.frame_batch,
                      seed=seed, init=config.init, verbose=False)


def run_sweep(config: SweepConfig, results_path, progress: bool = True,
              on_cell: Optional[Callable[[tuple], None]] = None, ray: Optional["RayCluster"] = None) -> ResultsFile:
    """Run every cell not yet in ``results_path``, video by video (one video in memory at a time), here or
    as Ray tasks (``ray``: an ``evaluation.ray_sweep.RayCluster``); ``on_cell(key)`` is called after each
    cell is saved."""
    missing = [m for m in config.models if not m.weights.is_file()]
    if missing:
        raise FileNotFoundError(f"model {missing[0].name!r}: no weights file at {missing[0].weights}")
    results_path = Path(results_path).resolve()  # a link's target: one lock and one file, whatever the name
    with exclusive(results_path):
        return _run_locked(config, results_path, progress, on_cell, ray)


def _run_locked(config, results_path, progress, on_cell, ray) -> ResultsFile:
    results = ResultsFile(results_path)
    if results.damaged:
        tqdm.write(f"{results.path}: {results.damaged} damaged rows dropped; their cells run again")
    results.claim(attack_settings(config))
    done = results.done(config.steps)
    video_ids, videos = attack_videos(config.dataset)
    if not video_ids:
        raise ValueError(f"dataset {config.dataset} holds no videos")

    def key(model, step_size, video_id, seed):
        return _cell_key(model.name, config.dataset_name, video_id, step_size, seed)

    cells = [(m, d, s) for m in config.models for d in config.step_sizes for s in config.seeds]
    left = sum(key(m, d, v, s) not in done for v in video_ids for m, d, s in cells)
    runtime = runtime_label(runtime_facts())
    bar = tqdm(total=left * config.max_steps, unit="step", desc="sweep", disable=not progress,
               postfix={"cells left": left})

    def record(model, step_size, seed, video, run, runtime=runtime):
        """The driver's one write path: the cell's boxes and textures, then its rows (``runtime``: where
        the cell ran)."""
        nonlocal left
        save_cell(cell_path(results.path, model.name, step_size, video.video_id, seed), video.boxes, run)
        results.add([{"model": model.name, "kpt_weight": model.kpt_weight, "head": model.head or "",
                      "pretrained_head": model.pretrained_head, "dataset": config.dataset_name,
                      "video": video.video_id, "step_size": f"{step_size:g}", "seed": seed, "steps": steps,
                      "miou": f"{miou:.4f}", "runtime": runtime} for steps, miou in sorted(run.mious().items())])
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

        run_on_ray(ray, work, config, record_remote)
    else:
        estimators = {}
        for video, todo in work:
            for model, step_size, seed in todo:
                if model.name not in estimators:
                    estimators[model.name] = load_estimator(model, config.instance_size)
                bar.set_description(f"sweep {model.name} d={step_size:g} seed {seed} {video.video_id}")
                run = attack_cell(estimators[model.name], video, step_size, seed, config,
                                  on_step=lambda _: bar.update(1))
                record(model, step_size, seed, video, run)
    bar.close()
    return results


# the ARMORY dataset each sweep dataset kind maps to; "procedural" runs on whatever carla_video_tracking_dev
# ARMORY finds (the embedded default that `armory-siammtl setup` builds, or the real one)
ARMORY_DATASETS = {"procedural": "carla_video_tracking_dev", "carla": "carla_video_tracking_dev",
                   "otb": "otb2015_person"}


def emit_scenarios(config: SweepConfig, out_dir) -> List[Path]:
    """One ARMORY scenario JSON per (model, step size, seed), for running the grid with ``armory run``;
    the file name carries the seed when the config has several."""
    from armory_siammtl.armory.scenarios import scenario_config

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for model, step_size, seed in ((m, d, s) for m in config.models for d in config.step_sizes for s in config.seeds):
        scenario = scenario_config(model, step_size, max_iter=config.max_steps, checkpoints=config.steps,
                                   frame_batch=config.frame_batch, seed=seed, gradient=config.gradient,
                                   dataset=ARMORY_DATASETS[config.dataset_name])
        if config.dataset_name == "otb":
            scenario["dataset"].update(dataset_dir=config.dataset["root"], max_frames=config.dataset["frames"])
        slug = "".join(c if c.isalnum() else "_" for c in model.name).strip("_").lower()
        suffix = f"_s{seed}" if len(config.seeds) > 1 else ""
        path = out_dir / f"sweep_{slug}_d{step_size:g}{suffix}.json".replace("d0.", "d0p")
        path.write_text(json.dumps(scenario, indent=4) + "\n")
        written.append(path)
    return written
