"""The sweep's configuration file (JSON or YAML): models, dataset, step sizes, step counts, seed.

Example (YAML)::

    models:
      - {name: STL, weights: armory_siammtl/model_weights/siamrpn_alex_stl.pth, kpt_weight: 0.0}
      - {name: MTL-0.2, weights: armory_siammtl/model_weights/siamrpn_alex_mtl_l02.pth, kpt_weight: 0.2, head: shallow}
    dataset: {kind: procedural, videos: 3, frames: 30, height: 480, width: 640, seed: 900000}
    step_sizes: [0.1, 0.2]
    steps: [10, 20, 50, 100]
    seeds: [0, 1, 2]

Relative weights paths and dataset roots are resolved against the config file's folder.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple

from armory_siammtl.attacks.adversarial_texture import texture_settings
from armory_siammtl.data.splits import HELD_OUT_SEED
from armory_siammtl.models.variant import ModelVariant

DATASET_KINDS = {
    "procedural": {"videos": 3, "frames": 30, "height": 480, "width": 640, "seed": HELD_OUT_SEED},
    "otb": {"root": None, "frames": 100},
    "carla": {"data_dir": None, "frames": None, "split": "dev"},
}


@dataclass(frozen=True)
class SweepConfig:
    models: Tuple[ModelVariant, ...]
    dataset: dict
    step_sizes: Tuple[float, ...] = (0.1, 0.2)
    steps: Tuple[int, ...] = (10, 20, 50, 100, 200, 500, 1000)
    gradient: str = "sign"
    frame_batch: Optional[int] = 10
    instance_size: int = 255
    seeds: Tuple[int, ...] = (0,)  # attack seeds (frame-window order, random init): one run per seed
    init: str = "mean"  # the texture's start: "mean" (0.5 grey) or "random" (uniform, seeded)

    @property
    def dataset_name(self) -> str:
        return self.dataset["kind"]

    @property
    def max_steps(self) -> int:
        return max(self.steps)


def _require(condition, message):
    if not condition:
        raise ValueError(message)


def _model(entry, index, base: Path) -> ModelVariant:
    where = f"models[{index}]"
    _require(isinstance(entry, dict), f"{where} must be a mapping with name and weights")
    unknown = sorted(set(entry) - {"name", "weights", "kpt_weight", "head", "pretrained_head", "sha256"})
    _require(not unknown, f"{where} has unknown keys {unknown}")
    _require("name" in entry and "weights" in entry, f"{where} needs 'name' and 'weights'")
    weights = Path(entry["weights"])
    try:
        return ModelVariant(entry.get("kpt_weight", 0.0), entry.get("head"), bool(entry.get("pretrained_head", False)),
                            weights if weights.is_absolute() else base / weights, entry.get("sha256"),
                            str(entry["name"]))
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from exc


def _dataset(entry, base: Path) -> dict:
    _require(isinstance(entry, dict) and "kind" in entry, "dataset must be a mapping with a 'kind'")
    kind = entry["kind"]
    _require(kind in DATASET_KINDS, f"dataset kind must be one of {sorted(DATASET_KINDS)}, got {kind!r}")
    defaults = DATASET_KINDS[kind]
    unknown = sorted(set(entry) - set(defaults) - {"kind"})
    _require(not unknown, f"dataset ({kind}) has unknown keys {unknown}; known: {sorted(defaults)}")
    dataset = {"kind": kind, **defaults, **entry}
    if kind == "otb":
        _require(dataset["root"], "dataset kind 'otb' needs 'root', the OTB2015 folder")
    for key in ("root", "data_dir"):
        if dataset.get(key) and not Path(dataset[key]).is_absolute():
            dataset[key] = str(base / dataset[key])
    return dataset


def sweep_config_from_dict(raw: dict, base=".") -> SweepConfig:
    """Validate a parsed config; every error names the offending field."""
    base = Path(base)
    _require(isinstance(raw, dict), "a sweep config must be a mapping")
    known = {"models", "dataset", "step_sizes", "steps", "gradient", "frame_batch", "instance_size", "seeds", "init"}
    unknown = sorted(set(raw) - known)
    _require("seed" not in raw, "sweep configs list attack seeds as 'seeds: [0, 1, 2]', not 'seed'")
    _require(not unknown, f"unknown sweep config keys {unknown}; known: {sorted(known)}")
    models = raw.get("models")
    _require(isinstance(models, list) and models, "models must be a non-empty list")
    specs = tuple(_model(entry, i, base) for i, entry in enumerate(models))
    names = [m.name for m in specs]
    _require(len(set(names)) == len(names), f"model names must be unique, got {names}")
    steps = tuple(sorted({int(s) for s in raw.get("steps", SweepConfig.steps)}))
    _require(steps and steps[0] >= 1, f"steps must be positive step counts, got {raw.get('steps')}")
    step_sizes = tuple(float(d) for d in raw.get("step_sizes", SweepConfig.step_sizes))
    _require(step_sizes and all(d > 0 for d in step_sizes), f"step_sizes must be positive, got {step_sizes}")
    _require(len(set(step_sizes)) == len(step_sizes), f"step_sizes repeat a value: {step_sizes}")
    gradient = raw.get("gradient", "sign")
    frame_batch = raw.get("frame_batch", 10)
    frame_batch = None if frame_batch is None else int(frame_batch)
    init = raw.get("init", SweepConfig.init)
    for step_size in step_sizes:  # the attack's own checks of its settings
        texture_settings(step_size, steps[-1], steps, gradient, frame_batch, init=init)
    seeds = raw.get("seeds", list(SweepConfig.seeds))
    _require(isinstance(seeds, list) and seeds and all(isinstance(v, int) and v >= 0 for v in seeds)
             and len(set(seeds)) == len(seeds), f"seeds must be a list of distinct whole numbers >= 0, got {seeds}")
    _require(len(seeds) == 1 or frame_batch is not None or init == "random",
             "several seeds change nothing when the attack uses the whole video (frame_batch null) from a grey "
             "texture: set init: random (seeded perturbations of the start) or a frame_batch")
    return SweepConfig(specs, _dataset(raw.get("dataset"), base), step_sizes, steps, gradient, frame_batch,
                       int(raw.get("instance_size", SweepConfig.instance_size)), tuple(seeds), init)


def load_sweep_config(path) -> SweepConfig:
    """Read a JSON or YAML sweep config."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no sweep config at {path}")
    text = path.read_text()
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            raw = yaml.safe_load(text)
        else:
            raw = json.loads(text)
    except Exception as exc:  # yaml and json raise different classes; both mean a malformed file
        raise ValueError(f"{path} is not valid {'YAML' if path.suffix.lower() in ('.yaml', '.yml') else 'JSON'}: "
                         f"{exc}") from exc
    try:
        return sweep_config_from_dict(raw, path.parent)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc

