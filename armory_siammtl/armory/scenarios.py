"""ARMORY scenario JSONs for the paper's models and attack settings (one function, many files)."""

import json
from pathlib import Path
from typing import Optional

from armory_siammtl.models.variant import ModelVariant


def weights_file(stem: str) -> str:
    return f"siamrpn_alex_{stem}.pth"


def _family() -> dict:
    """{file stem: ModelVariant} of the paper's model family; weights file names follow the stems."""
    variants = {"stl": ModelVariant(0.0)}
    variants.update({f"mtl_l{int(round(lk * 10)):02d}": ModelVariant(lk, "shallow") for lk in (0.2, 0.4, 0.6, 0.8, 1.0)})
    variants["mtl_l02_deep"] = ModelVariant(0.2, "deep")
    variants["mtl_l02_pretrained"] = ModelVariant(0.2, "shallow", pretrained_head=True)
    return {stem: ModelVariant(v.kpt_weight, v.head, v.pretrained_head, weights=weights_file(stem), name=stem)
            for stem, v in variants.items()}


MODELS = _family()


# dataset entries of the scenario JSON, and the attack's shading there: CARLA's patch is a green screen
# that the texture is shaded by; OTB's digital patch is pasted as is
DATASETS = {
    "carla_video_tracking_dev": ({"module": "armory.data.adversarial_datasets", "name": "carla_video_tracking_dev"},
                                 "green_screen"),
    "otb2015_person": ({"module": "armory_siammtl.armory.otb_dataset", "name": "otb2015_person"}, None),
}


def scenario_config(variant: ModelVariant, step_size: float = 0.1, max_iter: int = 50, checkpoints=(10, 20, 50),
                    frame_batch: Optional[int] = 10, dataset: str = "carla_video_tracking_dev", seed: int = 0,
                    gradient: str = "sign") -> dict:
    """One CarlaVideoTracking scenario: ``variant`` (its weights file's name is the scenario's
    ``weights_file``) attacked by our AdversarialTexture, on ``dataset`` (a key of DATASETS)."""
    dataset_entry, shading = DATASETS[dataset]
    model_kwargs = {"kpt_weight": variant.kpt_weight, "head": variant.head}
    if variant.pretrained_head:
        model_kwargs["pretrained_head"] = True
    return {
        "_description": f"SiamRPN-AlexNet {variant.name} ({variant.describe()}) under the SkeleVision "
                        f"adversarial texture, delta={step_size}, {max_iter} steps",
        "adhoc": None,
        "attack": {
            "knowledge": "white",
            "kwargs": {"step_size": step_size, "max_iter": max_iter, "checkpoints": list(checkpoints),
                       "gradient": gradient, "frame_batch": frame_batch, "shading": shading,
                       "clean_first_frame": True, "seed": seed, "verbose": True},
            "module": "armory_siammtl.attacks",
            "name": "AdversarialTexture",
            "use_label": True,
        },
        "dataset": {"batch_size": 1, "eval_split": "dev", "framework": "numpy", **dataset_entry},
        "defense": None,
        "metric": {"means": True, "perturbation": "l0", "record_metric_per_sample": True,
                   "task": ["video_tracking_mean_iou", "video_tracking_mean_success_rate"]},
        "model": {"fit": False, "fit_kwargs": {}, "model_kwargs": model_kwargs,
                  "module": "armory_siammtl.armory.factories", "name": "get_art_model",
                  "weights_file": Path(variant.weights).name, "wrapper_kwargs": {}},
        "scenario": {"export_batches": True, "kwargs": {}, "module": "armory_siammtl.armory.video_export",
                     "name": "CarlaVideoTracking"},
        "sysconfig": {"docker_image": "armory-siammtl:0.1.0", "external_github_repo": None, "gpus": "all",
                      "output_dir": None, "output_filename": None, "use_gpu": False},
    }


def write_scenarios(out_dir) -> list:
    """The shipped set: every model at delta 0.1 (``carla_<stem>.json``) and 0.2 (``..._d02.json``) on
    CARLA, and STL and MTL (lambda_K 0.2) on OTB2015-Person (``otb_<stem>.json``)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, variant in MODELS.items():
        for step_size, suffix in ((0.1, ""), (0.2, "_d02")):
            path = out_dir / f"carla_{stem}{suffix}.json"
            path.write_text(json.dumps(scenario_config(variant, step_size), indent=4) + "\n")
            written.append(path)
    for stem in ("stl", "mtl_l02"):
        path = out_dir / f"otb_{stem}.json"
        path.write_text(json.dumps(scenario_config(MODELS[stem], 0.1, dataset="otb2015_person"), indent=4) + "\n")
        written.append(path)
    return written
