"""``armory-siammtl reproduce TABLE``: train the table's missing models (when asked), run its grid as a
resumable sweep (here or on Ray) and write the paper-layout report; ``dry_run`` prints the runs and their
measured cost instead and writes nothing."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

from armory_siammtl import atomic
from armory_siammtl.armory.scenarios import MODELS
from armory_siammtl.evaluation.report import write_report
from armory_siammtl.evaluation.sweep import run_sweep
from armory_siammtl.evaluation.sweep_config import sweep_config_from_dict
from armory_siammtl.reproduce.plan import (
    dataset_entry,
    measured_seconds,
    missing_training,
    projected_hours,
    sweep_raw,
    workload,
)
from armory_siammtl.reproduce.tables import PAPER_TABLES, STEP_SIZES
from armory_siammtl.training.commands import TrainingData, command_text


def paper_table(name: str):
    if name not in PAPER_TABLES:
        raise ValueError(f"table must be one of {sorted(PAPER_TABLES)}, not {name!r}")
    return PAPER_TABLES[name]


def dry_run(
    name: str,
    weights_dir,
    carla_dir=None,
    otb_root=None,
    max_iter: int = 100,
    carla_frames: int = 100,
    device: str = "cpu",
    data: TrainingData = TrainingData(),
    runs_dir: str = "runs",
) -> str:
    """The table's runs with their weights' state and projected hours on this machine (measured here), and
    the train commands of the missing weights."""
    table = paper_table(name)
    dataset = dataset_entry(table, carla_dir, otb_root)
    sweep_raw(table, weights_dir, dataset, max_iter)  # the same checks as a real run
    work = workload(table, dataset, carla_frames)
    step, forward, where = measured_seconds(table, work, device)
    hours = projected_hours(step, forward, max_iter)
    missing = missing_training(table, weights_dir, runs_dir, data)
    lines = [
        f"{table.name}: {table.what}; reference preset, {max_iter} steps, delta {', '.join(map(str, STEP_SIZES))}",
        f"data: {work.source}; {work.frames} frames per run",
        f"measured on {where}: {step / work.frames:.3f} s per frame per attack step, "
        f"{forward / work.frames:.3f} s per frame per tracking pass",
        "",
        "| model | delta | weights | hours |",
        "|---|---|---|---|",
    ]
    for stem in table.models:
        state = "missing: train" if stem in missing else "present"
        lines += [f"| {stem} | {d:g} | {state} | {hours:.1f} |" for d in STEP_SIZES]
    runs = len(table.models) * len(STEP_SIZES)
    lines += ["", f"{runs} runs, {runs * hours:.1f} hours in sequence on this device (Ray: divided by the workers)"]
    if missing:
        lines += [
            "",
            f"{len(missing)} models to train first (`--train` runs these; the reference trained each "
            "50 epochs on 4 GPUs):",
        ]
        lines += [f"  {command_text(argv)}" for commands in missing.values() for argv in commands]
    return "\n".join(lines) + "\n"


def _train(missing: dict, weights_dir: Path, data: TrainingData) -> None:
    """Run each missing model's train commands, then copy its best.pth into ``weights_dir``."""
    unknown = [
        v
        for v in (data.pysot, data.coco_annotations, data.coco_images, data.coco_val_annotations, data.coco_val_images)
        if not Path(v).exists()
    ]
    if unknown:
        raise FileNotFoundError(
            f"--train needs the training data: {unknown} do not exist (give --pysot, "
            "--coco-annotations, --coco-images, --coco-val-annotations, --coco-val-images)"
        )
    for stem, commands in missing.items():
        for argv in commands:
            print(command_text(argv), flush=True)
            subprocess.run([sys.executable, "-m", "armory_siammtl.cli", *argv], check=True)
        best = Path(commands[-1][commands[-1].index("--out") + 1]) / "best.pth"
        target = weights_dir / MODELS[stem].weights
        if target.exists():
            raise FileExistsError(f"{target} appeared while training {stem}; not overwritten")
        shutil.copyfile(best, target)


def reproduce(
    name: str,
    weights_dir,
    out,
    carla_dir=None,
    otb_root=None,
    max_iter: int = 100,
    train: bool = False,
    data: TrainingData = TrainingData(),
    ray=None,
    paper_values=None,
    progress: bool = True,
) -> dict:
    """Run one table end to end into ``out`` (``sweep.yaml``, ``results.csv`` and its cell records,
    ``report/``); resumes where a killed run stopped. Missing weights are refused unless ``train``."""
    table = paper_table(name)
    weights_dir, out = Path(weights_dir), Path(out)
    dataset = dataset_entry(table, carla_dir, otb_root)
    raw = sweep_raw(table, weights_dir, dataset, max_iter)
    missing = missing_training(table, weights_dir, str(out / "runs"), data)
    if missing and not train:
        raise FileNotFoundError(
            f"{table.name} needs weights not in {weights_dir}: "
            + ", ".join(Path(MODELS[s].weights).name for s in missing)
            + "; give --train (with the data flags) to train them first, or run:\n"
            + "\n".join(command_text(argv) for commands in missing.values() for argv in commands)
        )
    config = sweep_config_from_dict(raw)  # checked before any training or writing
    out.mkdir(parents=True, exist_ok=True)
    if missing:
        _train(missing, weights_dir, data)
    atomic.write_text(out / "sweep.json", json.dumps(raw, indent=1) + "\n")
    results = run_sweep(config, out / "results.csv", progress=progress, ray=ray)
    print(f"{len(results.rows)} rows in {results.path}")
    return write_report(out / "results.csv", out / "report", paper_values=paper_values)
