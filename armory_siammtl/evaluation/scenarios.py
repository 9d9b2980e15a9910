"""ARMORY scenario JSONs for the paper's models and attack settings (one function, many files)."""

import json
from pathlib import Path
from typing import Optional

# (file stem, lambda_K, head, pre-trained head) of the paper's model family; weights file names follow
MODELS = [("stl", 0.0, None, False)] + [
    (f"mtl_l{int(round(lk * 10)):02d}", lk, "shallow", False) for lk in (0.2, 0.4, 0.6, 0.8, 1.0)] + [
    ("mtl_l02_deep", 0.2, "deep", False), ("mtl_l02_pretrained", 0.2, "shallow", True)]


# dataset entries of the scenario JSON, and the attack's shading there: CARLA's patch is a green screen
# that the texture is shaded by; OTB's digital patch is pasted as is
DATASETS = {
    "carla_video_tracking_dev": ({"module": "armory.data.adversarial_datasets", "name": "carla_video_tracking_dev"},
                                 "green_screen"),
    "otb2015_person": ({"module": "armory_siammtl.data.armory_otb", "name": "otb2015_person"}, None),
}


def weights_file(stem: str) -> str:
    return f"siamrpn_alex_{stem}.pth"


def scenario_config(stem: str, lambda_k: float, head: Optional[str], step_size: float = 0.1,
                    max_iter: int = 50, checkpoints=(10, 20, 50), frame_batch: Optional[int] = 10,
                    dataset: str = "carla_video_tracking_dev", seed: int = 0, weights: Optional[str] = None,
                    gradient: str = "sign") -> dict:
    """One CarlaVideoTracking scenario: model ``stem`` (weights ``weights``, default the stem's file in
    ``model_weights/``) attacked by our AdversarialTexture, on ``dataset`` (a key of DATASETS)."""
    dataset_entry, shading = DATASETS[dataset]
    return {
        "_description": f"SiamRPN-AlexNet {stem} (lambda_K={lambda_k}, head={head}) under the SkeleVision "
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
        "model": {"fit": False, "fit_kwargs": {}, "model_kwargs": {"kpt_weight": lambda_k, "head": head},
                  "module": "armory_siammtl.estimators.factories", "name": "get_art_model",
                  "weights_file": weights or weights_file(stem), "wrapper_kwargs": {}},
        "scenario": {"kwargs": {}, "module": "armory.scenarios.carla_video_tracking", "name": "CarlaVideoTracking"},
        "sysconfig": {"docker_image": "armory-siammtl:0.1.0", "external_github_repo": None, "gpus": "all",
                      "output_dir": None, "output_filename": None, "use_gpu": False},
    }


def write_scenarios(out_dir) -> list:
    """The shipped set: every model at delta 0.1 (``carla_<stem>.json``) and 0.2 (``..._d02.json``) on
    CARLA, and STL and MTL (lambda_K 0.2) on OTB2015-Person (``otb_<stem>.json``)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, lambda_k, head, _ in MODELS:
        for step_size, suffix in ((0.1, ""), (0.2, "_d02")):
            path = out_dir / f"carla_{stem}{suffix}.json"
            path.write_text(json.dumps(scenario_config(stem, lambda_k, head, step_size), indent=4) + "\n")
            written.append(path)
    for stem in ("stl", "mtl_l02"):
        _, lambda_k, head, _ = next(m for m in MODELS if m[0] == stem)
        path = out_dir / f"otb_{stem}.json"
        path.write_text(json.dumps(scenario_config(stem, lambda_k, head, 0.1, dataset="otb2015_person"), indent=4)
                        + "\n")
        written.append(path)
    return written
