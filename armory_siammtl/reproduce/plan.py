"""What reproducing one table takes: its sweep config (the family's weights in one folder, the reference
preset, both step sizes), which weights are missing and the ``train`` runs that make them, and the
attack's cost on this machine, measured, then projected over the table's runs."""

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from armory_siammtl.armory.scenarios import MODELS
from armory_siammtl.data.otb import MAX_FRAMES, OTB_PERSON, otb_targets
from armory_siammtl.reproduce.tables import STEP_SIZES, PaperTable
from armory_siammtl.training.commands import TrainingData, train_commands

CARLA_DEV_VIDEOS = 20  # ARMORY's carla_video_tracking_dev (docs/adversarial_datasets.md)
CARLA_FRAME = (960, 1280)
OTB_PERSON_TARGETS = 38  # 36 sequences, two with two targets
OTB_ASSUMED_FRAME = (480, 640)  # when no OTB root is at hand: the most common OTB frame size
CHECKPOINTS = {100: (10, 20, 50, 100), 1000: (10, 20, 50, 100, 200, 500, 1000)}


@dataclass(frozen=True)
class Workload:
    """The frames one run of a table attacks: (frames, height, width) per video, and how that was known."""

    videos: Tuple[Tuple[int, int, int], ...]
    source: str

    @property
    def frames(self) -> int:
        return sum(v[0] for v in self.videos)


def dataset_entry(table: PaperTable, carla_dir: Optional[str] = None, otb_root: Optional[str] = None) -> dict:
    """The sweep config's ``dataset`` for ``table``."""
    if table.dataset == "otb":
        if not otb_root:
            raise ValueError(f"{table.name} runs on OTB2015-Person: give --otb-root, the OTB2015 folder")
        return {"kind": "otb", "root": str(otb_root), "frames": MAX_FRAMES, "sequences": "otb2015-person"}
    return {"kind": "carla", "split": "dev", **({"data_dir": str(carla_dir)} if carla_dir else {})}


def sweep_raw(table: PaperTable, weights_dir, dataset: dict, max_iter: int = 100) -> dict:
    """The sweep config (a mapping, as its YAML file holds it) that runs ``table``."""
    if max_iter not in CHECKPOINTS:
        raise ValueError(f"the paper's attacks ran 100 (quickstart) or up to 1000 steps; got {max_iter}")
    models = []
    for stem in table.models:
        variant = MODELS[stem]
        entry = {
            "name": stem,
            "weights": str(Path(weights_dir).resolve() / variant.weights),
            "kpt_weight": variant.kpt_weight,
        }
        if variant.head:
            entry["head"] = variant.head
        if variant.pretrained_head:
            entry["pretrained_head"] = True
        models.append(entry)
    return {
        "preset": "skelevision",
        "models": models,
        "dataset": dataset,
        "step_sizes": list(STEP_SIZES),
        "max_iter": max_iter,
        "checkpoints": list(CHECKPOINTS[max_iter]),
        "seeds": [0],
    }


def missing_training(
    table: PaperTable, weights_dir, runs_dir: str = "runs", data: TrainingData = TrainingData()
) -> Dict[str, List[List[str]]]:
    """{family stem: its train argv lists} for each model of ``table`` whose weights are not in
    ``weights_dir``."""
    return {
        stem: train_commands(MODELS[stem], runs_dir, data)
        for stem in table.models
        if not (Path(weights_dir) / MODELS[stem].weights).is_file()
    }


def workload(table: PaperTable, dataset: dict, carla_frames: int = 100) -> Workload:
    """The frames each run attacks: OTB's read from the root when it is there (first 100 frames per
    target, each sequence's frame size), else the benchmark's 38 targets at an assumed 480x640; CARLA dev's
    20 videos of 960x1280 at ``carla_frames`` frames each (their lengths are not known here)."""
    if table.dataset == "carla":
        return Workload(
            ((carla_frames, *CARLA_FRAME),) * CARLA_DEV_VIDEOS,
            f"CARLA dev: {CARLA_DEV_VIDEOS} videos of 960x1280, {carla_frames} frames each assumed (--carla-frames)",
        )
    root = Path(dataset["root"])
    if not all((root / name).is_dir() for name in OTB_PERSON):
        return Workload(
            ((MAX_FRAMES, *OTB_ASSUMED_FRAME),) * OTB_PERSON_TARGETS,
            f"OTB2015-Person not complete under {root}: {OTB_PERSON_TARGETS} targets of "
            f"{MAX_FRAMES} frames at an assumed 480x640",
        )
    from PIL import Image

    videos = []
    for name in OTB_PERSON:
        first = min((root / name / "img").iterdir())
        width, height = Image.open(first).size
        for _, truth in otb_targets(root, name):
            rows = sum(1 for line in truth.read_text().splitlines() if line.strip())
            videos.append((min(MAX_FRAMES, rows), height, width))
    return Workload(tuple(videos), f"OTB2015-Person under {root}: {len(videos)} targets, sizes read")


def measured_seconds(table: PaperTable, work: Workload, device: str = "cpu") -> Tuple[float, float, str]:
    """(attack step, benign pass) seconds for one whole run's frames on ``device``, measured on the shipped
    STL weights in the table's tracker (the keypoint head does not run while tracking, so every model of
    the family costs the same), at each distinct frame size of ``work``."""
    import torch

    from armory_siammtl.armory.estimate import per_frame_seconds
    from armory_siammtl.estimators.build import build_estimator
    from armory_siammtl.experiment.spec import preset
    from armory_siammtl.models.manifest import SHIPPED_WEIGHTS
    from armory_siammtl.models.variant import ModelVariant

    tracking = preset("skelevision", table.dataset).tracking
    estimator = build_estimator(
        ModelVariant(0.0, weights=SHIPPED_WEIGHTS / MODELS["stl"].weights),
        tracking,
        device_type="gpu" if device == "cuda" else "cpu",
    )
    step = forward = 0.0
    sizes = {}
    for frames, height, width in work.videos:
        sizes[(height, width)] = sizes.get((height, width), 0) + frames
    for (height, width), frames in sizes.items():
        per_step, per_pass = per_frame_seconds(estimator, height, width)
        step, forward = step + frames * per_step, forward + frames * per_pass
    where = torch.cuda.get_device_name(0) if device == "cuda" else "CPU"
    return step, forward, f"{where}, {torch.get_num_threads()} threads" if device == "cpu" else where


def projected_hours(step_seconds: float, forward_seconds: float, max_iter: int) -> float:
    """Hours of one run (one model, one step size): ``max_iter`` attack steps over every frame, the benign
    pass and one tracking pass per checkpoint and at the end."""
    return (max_iter * step_seconds + (len(CHECKPOINTS[max_iter]) + 2) * forward_seconds) / 3600


def with_data(data: TrainingData, **paths) -> TrainingData:
    """``data`` with the paths given (None: keep the placeholder)."""
    return replace(data, **{k: str(v) for k, v in paths.items() if v is not None})
