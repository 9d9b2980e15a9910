"""The sweep's configuration file (JSON or YAML): models, dataset, step sizes, attack seeds, and the
experiment spec (a ``preset`` and any of its keys, spelled as ``experiment.KEYS``).

Example (YAML)::

    preset: skelevision            # the paper's reference attack and tracker (experiment.spec)
    models:
      - {name: STL, weights: armory_siammtl/model_weights/siamrpn_alex_stl.pth, kpt_weight: 0.0}
      - {name: MTL-0.2, weights: armory_siammtl/model_weights/siamrpn_alex_mtl_l02.pth, kpt_weight: 0.2, head: shallow}
    dataset: {kind: procedural, videos: 3, frames: 30, height: 480, width: 640, seed: 900000}
    step_sizes: [0.1, 0.2]
    max_iter: 100                  # the attack's length; spec keys override the preset's
    checkpoints: [10, 20, 50, 100]
    seeds: [0]

Relative weights paths and dataset roots are resolved against the config file's folder.
"""

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Tuple

from armory_siammtl import values
from armory_siammtl.data.splits import HELD_OUT_SEED
from armory_siammtl.experiment import KEYS, ExperimentSpec, spec_from_dict
from armory_siammtl.experiment.attack import AttackConfig
from armory_siammtl.models.variant import ModelVariant

DATASET_KINDS = {
    "procedural": {"videos": 3, "frames": 30, "height": 480, "width": 640, "seed": HELD_OUT_SEED},
    "otb": {"root": None, "frames": 100, "sequences": "otb2015-person"},
    "carla": {"data_dir": None, "frames": None, "split": "dev"},
}
OWN_KEYS = ("models", "dataset", "step_sizes", "seeds", "preset")


@dataclass(frozen=True)
class SweepConfig:
    """A sweep: every model x step size x video x seed is one cell, attacked once up to ``spec.attack.max_iter``
    (the smaller step counts are its checkpoints), in the setting ``spec``."""

    models: Tuple[ModelVariant, ...]
    dataset: dict
    spec: ExperimentSpec
    step_sizes: Tuple[float, ...] = (0.1, 0.2)
    seeds: Tuple[int, ...] = (0,)  # attack seeds (frame-window order, random init): one run per seed

    @property
    def dataset_name(self) -> str:
        return self.dataset["kind"]

    @property
    def steps(self) -> Tuple[int, ...]:
        """The step counts recorded (the attack's checkpoints)."""
        return self.spec.attack.checkpoints

    @property
    def max_steps(self) -> int:
        return self.spec.attack.max_iter

    def shared_settings(self) -> dict:
        """The spec's settings every cell shares: all but the step size, which the sweep varies per cell."""
        settings = self.spec.as_dict()
        settings.pop("step_size", None)
        return settings

    def attack(self, step_size: float) -> AttackConfig:
        """The attack of one cell."""
        return replace(self.spec.attack, step_size=step_size)


def _require(condition, message):
    if not condition:
        raise ValueError(message)


def _model(entry, index, base: Path) -> ModelVariant:
    where = f"models[{index}]"
    _require(isinstance(entry, dict), f"{where} must be a mapping with name and weights")
    _require("sha256" not in entry, f"{where}: the checksum key is 'weights_sha256' (as in scenarios), not 'sha256'")
    unknown = sorted(set(entry) - {"name", "weights", "kpt_weight", "head", "pretrained_head", "weights_sha256"})
    _require(not unknown, f"{where} has unknown keys {unknown}")
    _require("name" in entry and "weights" in entry, f"{where} needs 'name' and 'weights'")
    _require(isinstance(entry["weights"], str) and entry["weights"], f"{where}: weights must be a file path")
    weights = Path(entry["weights"])
    try:
        return ModelVariant(
            entry.get("kpt_weight", 0.0),
            entry.get("head"),
            values.boolean("pretrained_head", entry.get("pretrained_head", False)),
            weights if weights.is_absolute() else base / weights,
            entry.get("weights_sha256"),
            str(entry["name"]),
        )
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
        _require(dataset["root"], "dataset kind 'otb' needs 'root', an OTB2015 folder (or a list of folders)")
        roots = dataset["root"] if isinstance(dataset["root"], list) else [dataset["root"]]
        dataset["root"] = [str(base / r) if not Path(r).is_absolute() else str(r) for r in roots]
    if kind == "carla" and dataset.get("data_dir") and not Path(dataset["data_dir"]).is_absolute():
        dataset["data_dir"] = str(base / dataset["data_dir"])
    if kind == "procedural":
        for key in ("videos", "frames"):
            values.whole(f"dataset {key}", dataset[key], 1 if key == "videos" else 2)
        for key in ("height", "width"):
            values.whole(f"dataset {key}", dataset[key], 64)
        values.whole("dataset seed", dataset["seed"], 0)
    if dataset.get("frames") is not None:
        values.whole("dataset frames", dataset["frames"], 2)
    return dataset


def sweep_config_from_dict(raw: dict, base=".") -> SweepConfig:
    """Validate a parsed config; every error names the offending field. Nothing is written."""
    base = Path(base)
    _require(isinstance(raw, dict), "a sweep config must be a mapping")
    _require("seed" not in raw, "sweep configs list attack seeds as 'seeds: [0, 1, 2]', not 'seed'")
    _require("step_size" not in raw, "a sweep lists its step sizes as 'step_sizes: [0.1, 0.2]'")
    _require(
        "steps" not in raw,
        "the attack's length is 'max_iter' (a number) and the step counts to record "
        "are 'checkpoints' (a list); 'steps' is neither",
    )
    known = set(OWN_KEYS) | (set(KEYS) - {"step_size"})
    unknown = sorted(set(raw) - known)
    _require(not unknown, f"unknown sweep config keys {unknown}; known: {sorted(known)}")
    models = raw.get("models")
    _require(isinstance(models, list) and models, "models must be a non-empty list")
    specs = tuple(_model(entry, i, base) for i, entry in enumerate(models))
    names = [m.name for m in specs]
    _require(len(set(names)) == len(names), f"model names must be unique, got {names}")
    dataset = _dataset(raw.get("dataset"), base)
    spec = spec_from_dict({k: raw[k] for k in raw if k in KEYS or k == "preset"}, dataset["kind"])
    step_sizes = raw.get("step_sizes", list(SweepConfig.step_sizes))
    _require(isinstance(step_sizes, list) and step_sizes, f"step_sizes must be a non-empty list, got {step_sizes!r}")
    step_sizes = tuple(values.positive(f"step_sizes[{i}]", d) for i, d in enumerate(step_sizes))
    _require(len(set(step_sizes)) == len(step_sizes), f"step_sizes repeat a value: {step_sizes}")
    seeds = values.seeds("seeds", raw.get("seeds", list(SweepConfig.seeds)))
    _require(
        len(seeds) == 1 or spec.attack.frame_batch is not None or spec.attack.init == "random",
        "several seeds change nothing when the attack uses the whole video (frame_batch null) from a grey "
        "texture: set init: random (seeded perturbations of the start) or a frame_batch",
    )
    return SweepConfig(specs, dataset, spec, step_sizes, seeds)


def load_sweep_config(path) -> SweepConfig:
    """Read a JSON or YAML sweep config."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no sweep config at {path}")
    yaml_file = path.suffix.lower() in (".yaml", ".yml")
    try:
        text = path.read_text()
        if yaml_file:
            import yaml

            raw = yaml.safe_load(text)
        else:
            raw = json.loads(text)
    except Exception as exc:  # yaml, json and decoding raise different classes; all mean a malformed file
        raise ValueError(f"{path} is not valid {'YAML' if yaml_file else 'JSON'}: {exc}") from exc
    try:
        return sweep_config_from_dict(raw, path.parent)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc
