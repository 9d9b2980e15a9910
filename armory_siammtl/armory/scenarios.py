"""ARMORY scenario JSONs for the paper's models and attack settings (one function, many files)."""

import json
from pathlib import Path
from typing import Optional

from armory_siammtl.models.variant import ModelVariant
from armory_siammtl.tracking.config import TrackingConfig


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


REFERENCE_CHECKPOINTS = (10, 20, 50, 100, 200, 500, 1000)
# (folder under scenarios/, attack setting, steps, checkpoints): the top level runs the reference setting for
# the 100 steps of the reference code's quickstart; 1000_steps/ goes on to the paper's longest attacks;
# armory019/ is today's ARMORY-0.19-style attack
SCENARIO_SETS = (("", "skelevision", 100, (10, 20, 50, 100)),
                 ("1000_steps", "skelevision", 1000, REFERENCE_CHECKPOINTS),
                 ("armory019", "armory", 50, (10, 20, 50)))


def attack_setting(setting: str, dataset: str) -> dict:
    """The attack's kwargs and the tracker's ``model_kwargs`` of a named setting: "armory" (``armory019/``:
    ARMORY-0.19-style perspective texture with green-screen shading, signed gradients on seeded
    10-frame windows, clean frame 0) or "skelevision" (as the paper's reference code ran: the sign of the
    accumulated gradient over the whole video, the texture upright in the patch's bounding rectangle, no
    shading, frame 0 patched on CARLA and clean on OTB; search size 287, pysot's integer crops, frame 0
    tracked; the top-level scenarios)."""
    dataset_entry, shading = DATASETS[dataset]
    if setting == "armory":
        return {"attack": dict(gradient="sign", frame_batch=10, region="perspective", shading=shading,
                               clean_first_frame=True), "tracking": {}}
    if setting == "skelevision":
        tracking = TrackingConfig.skelevision()
        return {"attack": dict(gradient="sign-accumulated", frame_batch=None, region="rectangle", shading=None,
                               clean_first_frame=dataset == "otb2015_person"),
                "tracking": {k: getattr(tracking, k) for k in ("instance_size", "crop", "track_first_frame")}}
    raise ValueError(f"attack setting must be 'armory' or 'skelevision', not {setting!r}")


def scenario_config(variant: ModelVariant, step_size: float = 0.1, max_iter: int = 50, checkpoints=(10, 20, 50),
                    frame_batch: Optional[int] = 10, dataset: str = "carla_video_tracking_dev", seed: int = 0,
                    gradient: str = "sign", setting: Optional[str] = None) -> dict:
    """One CarlaVideoTracking scenario: ``variant`` (its weights file's name is the scenario's
    ``weights_file``) attacked by our AdversarialTexture, on ``dataset`` (a key of DATASETS). ``setting``
    ("armory" or "skelevision", see ``attack_setting``) replaces ``frame_batch`` and ``gradient``."""
    dataset_entry, shading = DATASETS[dataset]
    attack = dict(gradient=gradient, frame_batch=frame_batch, region="perspective", shading=shading,
                  clean_first_frame=True)
    model_kwargs = {"kpt_weight": variant.kpt_weight, "head": variant.head}
    if setting is not None:
        chosen = attack_setting(setting, dataset)
        attack = chosen["attack"]
        model_kwargs.update(chosen["tracking"])
    if variant.pretrained_head:
        model_kwargs["pretrained_head"] = True
    where = {"skelevision": ", as the paper's reference code ran it",
             "armory": ", ARMORY-0.19-style (perspective, shading, 10-frame windows)"}.get(setting, "")
    return {
        "_description": f"SiamRPN-AlexNet {variant.name} ({variant.describe()}) under the SkeleVision "
                        f"adversarial texture{where}, delta={step_size}, {max_iter} steps",
        "adhoc": None,
        "attack": {
            "knowledge": "white",
            "kwargs": {"step_size": step_size, "max_iter": max_iter, "checkpoints": list(checkpoints),
                       **attack, "seed": seed, "verbose": True},
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
    """The shipped sets (``SCENARIO_SETS``), each holding every model at delta 0.1 (``carla_<stem>.json``) and
    0.2 (``..._d02.json``) on CARLA, and STL and MTL (lambda_K 0.2) on OTB2015-Person (``otb_<stem>.json``)."""
    written = []
    for folder, setting, steps, checkpoints in SCENARIO_SETS:
        folder = Path(out_dir) / folder
        folder.mkdir(parents=True, exist_ok=True)
        runs = [(f"carla_{stem}{suffix}.json", variant, step_size, "carla_video_tracking_dev")
                for stem, variant in MODELS.items() for step_size, suffix in ((0.1, ""), (0.2, "_d02"))]
        runs += [(f"otb_{stem}.json", MODELS[stem], 0.1, "otb2015_person") for stem in ("stl", "mtl_l02")]
        for name, variant, step_size, dataset in runs:
            config = scenario_config(variant, step_size, steps, checkpoints, dataset=dataset, setting=setting)
            (folder / name).write_text(json.dumps(config, indent=4) + "\n")
            written.append(folder / name)
    return written
