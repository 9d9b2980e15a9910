"""ARMORY scenario JSONs for the paper's models, from the experiment spec (one function, many files).

A scenario runs exactly its spec: the attack's keys are the package attack's kwargs, the tracker's keys
that differ from ``TrackingConfig()`` are ``model_kwargs``; the ``armory`` preset's scenarios run ARMORY's
own ``AdversarialPhysicalTexture`` with eval5's kwargs instead.
"""

import json
from pathlib import Path
from typing import Optional

from armory_siammtl.experiment import ExperimentSpec, preset
from armory_siammtl.models.variant import ModelVariant
from armory_siammtl.tracking.config import TrackingConfig


def weights_file(stem: str) -> str:
    return f"siamrpn_alex_{stem}.pth"


def _family() -> dict:
    """{file stem: ModelVariant} of the paper's model family (its Tables 1-3): STL; MTL with the shallow head
    at lambda_K 0.2-1.0; and the ablations deep head, pre-trained head, and both, at 0.2 and 1.0. Weights
    file names follow the stems."""
    variants = {"stl": ModelVariant(0.0)}
    variants.update(
        {f"mtl_l{int(round(lk * 10)):02d}": ModelVariant(lk, "shallow") for lk in (0.2, 0.4, 0.6, 0.8, 1.0)}
    )
    for lk in (0.2, 1.0):
        stem = f"mtl_l{int(round(lk * 10)):02d}"
        variants[f"{stem}_deep"] = ModelVariant(lk, "deep")
        variants[f"{stem}_pretrained"] = ModelVariant(lk, "shallow", pretrained_head=True)
        variants[f"{stem}_pretrained_deep"] = ModelVariant(lk, "deep", pretrained_head=True)
    return {
        stem: ModelVariant(v.kpt_weight, v.head, v.pretrained_head, weights=weights_file(stem), name=stem)
        for stem, v in variants.items()
    }


MODELS = _family()

# ARMORY dataset entries: (scenario "dataset" entry, the spec's dataset kind). The embedded set is this
# package's own (armory.embedded_dataset); the CARLA ones are ARMORY's real datasets, never written here
DATASETS = {
    "carla_video_tracking_dev": (
        {"module": "armory.data.adversarial_datasets", "name": "carla_video_tracking_dev", "eval_split": "dev"},
        "carla",
    ),
    "carla_video_tracking_test": (
        {"module": "armory.data.adversarial_datasets", "name": "carla_video_tracking_test", "eval_split": "test"},
        "carla",
    ),
    "siammtl_embedded_tracking": (
        {"module": "armory_siammtl.armory.embedded_dataset", "name": "siammtl_embedded_tracking", "eval_split": "dev"},
        "procedural",
    ),
    "otb2015_person": (
        {"module": "armory_siammtl.armory.otb_dataset", "name": "otb2015_person", "eval_split": "dev"},
        "otb",
    ),
}
# ARMORY 0.19.2's defended CARLA tracking evaluation (eval5's ..._defended.json): H.264 re-encoding
VIDEO_COMPRESSION = {
    "kwargs": {
        "apply_fit": False,
        "apply_predict": True,
        "channels_first": False,
        "constant_rate_factor": 28,
        "verbose": False,
        "video_format": "avi",
    },
    "module": "armory.art_experimental.defences.video_compression_normalized",
    "name": "VideoCompressionNormalizedPyTorch",
    "type": "Preprocessor",
}
EMBEDDED_MAIN_JOB = {"videos": 3, "frames": 12}  # sized for about 10 minutes on 2 cores (README, main job)


def tracking_kwargs(tracking: TrackingConfig) -> dict:
    """The tracker's keys that differ from ``TrackingConfig()``, for ``model_kwargs``."""
    default = TrackingConfig().as_dict()
    return {k: v for k, v in tracking.as_dict().items() if v != default[k]}


def attack_entry(spec: ExperimentSpec, seed: int = 0) -> dict:
    """The scenario's ``attack`` section for ``spec``: the package's attack with every spec key, or, for the
    ``armory`` preset, ARMORY's own class with eval5's kwargs."""
    if spec.preset == "armory":
        own = preset("armory", spec.dataset).attack.as_dict()
        other = sorted(
            k
            for k, v in spec.attack.as_dict().items()
            if k not in ("step_size", "max_iter", "checkpoints") and own[k] != v
        )
        if other:
            raise ValueError(f"ARMORY's own attack takes step_size and max_iter only; this spec changes {other}")
        return {
            "knowledge": "white",
            "kwargs": {
                "batch_size": 1,
                "max_iter": spec.attack.max_iter,
                "step_size": spec.attack.step_size,
                "verbose": True,
            },
            "module": "armory.art_experimental.attacks.carla_adversarial_texture",
            "name": "AdversarialPhysicalTexture",
            "use_label": True,
        }
    return {
        "knowledge": "white",
        "kwargs": {**spec.attack.as_dict(), "seed": seed, "verbose": True},
        "module": "armory_siammtl.attacks",
        "name": "AdversarialTexture",
        "use_label": True,
    }


def scenario_config(
    variant: ModelVariant,
    spec: ExperimentSpec,
    dataset: str = "carla_video_tracking_dev",
    seed: int = 0,
    defended: bool = False,
    dataset_kwargs: Optional[dict] = None,
) -> dict:
    """One CarlaVideoTracking scenario: ``variant`` (its weights file's name is the scenario's
    ``weights_file``) under ``spec`` on ``dataset`` (a key of ``DATASETS``; its kind must be the spec's),
    with ARMORY's video-compression defence when ``defended``."""
    dataset_entry, kind = DATASETS[dataset]
    if kind != spec.dataset:
        raise ValueError(f"the spec is for {spec.dataset!r} data, {dataset} is {kind!r}")
    model_kwargs = {"kpt_weight": variant.kpt_weight, "head": variant.head, **tracking_kwargs(spec.tracking)}
    if variant.pretrained_head:
        model_kwargs["pretrained_head"] = True
    attack = (
        "ARMORY's own AdversarialPhysicalTexture (eval5)"
        if spec.preset == "armory"
        else f"the SkeleVision adversarial texture, preset {spec.preset}"
    )
    return {
        "_description": f"SiamRPN-AlexNet {variant.name} ({variant.describe()}) under {attack}, "
        f"delta={spec.attack.step_size}, {spec.attack.max_iter} steps"
        + (", video-compression defence" if defended else ""),
        "adhoc": None,
        "attack": attack_entry(spec, seed),
        "dataset": {"batch_size": 1, "framework": "numpy", **dataset_entry, **(dataset_kwargs or {})},
        "defense": VIDEO_COMPRESSION if defended else None,
        "metric": {
            "means": True,
            "perturbation": "l0",
            "record_metric_per_sample": True,
            "task": ["video_tracking_mean_iou", "video_tracking_mean_success_rate"],
        },
        "model": {
            "fit": False,
            "fit_kwargs": {},
            "model_kwargs": model_kwargs,
            "module": "armory_siammtl.armory.factories",
            "name": "get_art_model",
            "weights_file": Path(variant.weights).name,
            "wrapper_kwargs": {},
        },
        "scenario": {
            "export_batches": True,
            "kwargs": {},
            "module": "armory_siammtl.armory.scenario",
            "name": "CarlaVideoTracking",
        },
        "sysconfig": {
            "docker_image": "twosixarmory/armory:0.19.2",
            "external_github_repo": None,
            "gpus": "all",
            "local_repo_path": None,
            "output_dir": None,
            "output_filename": None,
            "use_gpu": False,
        },
    }


def _suffix(step_size: float) -> str:
    """File-name suffix of a step size: none for the paper's 0.1, ``_d02`` for 0.2."""
    return "" if step_size == 0.1 else f"_d{int(round(step_size * 10)):02d}"


def scenario_sets() -> list:
    """(relative path, variant, spec, dataset, defended, dataset kwargs) of every shipped scenario."""
    runs = []
    for folder, name, steps, checkpoints in (
        ("", "skelevision", 100, (10, 20, 50, 100)),
        ("1000_steps", "skelevision", 1000, (10, 20, 50, 100, 200, 500, 1000)),
        ("package", "package", 50, (10, 20, 50)),
    ):
        for step_size in (0.1, 0.2):
            for stem, variant in MODELS.items():
                spec = preset(name, "carla", step_size=step_size, max_iter=steps, checkpoints=checkpoints)
                runs.append(
                    (
                        f"{folder}/carla_{stem}{_suffix(step_size)}.json",
                        variant,
                        spec,
                        "carla_video_tracking_dev",
                        False,
                        None,
                    )
                )
                spec = preset(name, "otb", step_size=step_size, max_iter=steps, checkpoints=checkpoints)
                runs.append(
                    (f"{folder}/otb_{stem}{_suffix(step_size)}.json", variant, spec, "otb2015_person", False, None)
                )
    for stem in ("stl", "mtl_l02"):
        spec = preset("skelevision", "procedural")
        runs.append(
            (
                f"embedded/embedded_{stem}.json",
                MODELS[stem],
                spec,
                "siammtl_embedded_tracking",
                False,
                EMBEDDED_MAIN_JOB,
            )
        )
        for split in ("dev", "test"):
            for defended in (False, True):
                name = f"armory/carla_{split}_{stem}{'_defended' if defended else ''}.json"
                runs.append(
                    (name, MODELS[stem], preset("armory", "carla"), f"carla_video_tracking_{split}", defended, None)
                )
        runs.append(
            (
                f"armory/embedded_{stem}_defended.json",
                MODELS[stem],
                preset("armory", "procedural"),
                "siammtl_embedded_tracking",
                True,
                EMBEDDED_MAIN_JOB,
            )
        )
    return runs


def write_scenarios(out_dir) -> list:
    """Every shipped scenario (``scenario_sets``) under ``out_dir``."""
    written = []
    for relative, variant, spec, dataset, defended, dataset_kwargs in scenario_sets():
        path = Path(out_dir) / relative.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        config = scenario_config(variant, spec, dataset, defended=defended, dataset_kwargs=dataset_kwargs)
        path.write_text(json.dumps(config, indent=4) + "\n")
        written.append(path)
    return written


if __name__ == "__main__":  # python -m armory_siammtl.armory.scenarios [OUT_DIR]: regenerate scenarios/
    import sys

    for written in write_scenarios(sys.argv[1] if len(sys.argv) > 1 else "scenarios"):
        print(written)
