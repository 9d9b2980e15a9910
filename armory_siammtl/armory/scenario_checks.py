"""Scenario checks for tracking models.

ARMORY 0.19.2's ``armory run --validate-config`` accepts only classifiers, detectors and speech models, so
it rejects every object tracker (its own GOTURN baseline too). This runs the same kinds of checks for
trackers: ARMORY's JSON schema, importable scenario/attack/model entries, and, given ARMORY's
``saved_model_dir``, that the scenario's weights are installed there (ARMORY itself would try S3 before any
model code runs) and agree with the manifest that lists them; with ``load=True``, the model's predict and
loss_gradient on a small video.
"""

import dataclasses
import importlib
import inspect
import json
from pathlib import Path

import numpy as np

from armory_siammtl.armory.factories import scenario_model
from armory_siammtl.attacks.adversarial_texture import AdversarialTexture, check_attack_settings
from armory_siammtl.models.errors import WeightsError
from armory_siammtl.models.loading import load_model
from armory_siammtl.models.manifest import MANIFEST, SHIPPED_WEIGHTS, read_manifest
from armory_siammtl.models.variant import ModelVariant
from armory_siammtl.training.commands import command_text, train_commands

FACTORY_MODULE = "armory_siammtl.armory.factories"
ARMORY_DATASETS = ("carla_video_tracking_dev", "carla_video_tracking_test")  # what ARMORY downloads itself


def _import(section: dict, what: str):
    try:
        return getattr(importlib.import_module(section["module"]), section["name"])
    except (ImportError, AttributeError, KeyError) as exc:
        raise ValueError(f"{what} {section.get('module')}.{section.get('name')} cannot be imported: {exc}") from exc


def shipped_weights() -> dict:
    """{file name: manifest entry} of the weights this package ships (and has)."""
    return {
        name: entry
        for name, entry in read_manifest(SHIPPED_WEIGHTS / MANIFEST).items()
        if (SHIPPED_WEIGHTS / name).is_file()
    }


def missing_weights(variant: ModelVariant, weights_file: str, saved_model_dir) -> str:
    """What to do about a scenario's weights file that is not in ``saved_model_dir``."""
    target = Path(saved_model_dir) / weights_file
    if weights_file in shipped_weights():
        return f"weights {weights_file} are not installed in {saved_model_dir}; run `armory-siammtl setup`"
    commands = train_commands(dataclasses.replace(variant, weights=weights_file), "runs")
    steps = " then ".join(f"`{command_text(argv)}`" for argv in commands)
    return (
        f"weights {weights_file} are not installed in {saved_model_dir} and this project ships none for "
        f"{variant.describe()}; train them as the paper did with {steps} (your paths in place of the "
        f"placeholders) and copy runs/{Path(weights_file).stem}/best.pth to {target} (without them ARMORY "
        "tries to download the file from S3)"
    )


def validate_scenario(path, saved_model_dir=None, load: bool = False) -> dict:
    """Raise ValueError naming the first problem; return the config when it is sound.

    :param saved_model_dir: ARMORY's weights folder; when given, the scenario's ``weights_file`` must be
        there (and agree with a manifest listing it); None checks the scenario file alone.
    :param load: also build the model and run predict and loss_gradient on a small video.
    """
    from armory.utils.configuration import validate_config
    from jsonschema import ValidationError

    path = Path(path)
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable JSON file: {exc}") from exc
    try:
        validate_config(config)
    except ValidationError as exc:
        raise ValueError(f"{path}: ARMORY schema: {exc.message} at {'.'.join(map(str, exc.absolute_path))}") from None
    _import(config["scenario"], "scenario")
    attack_cls = _import(config["attack"], "attack")
    params = inspect.signature(attack_cls.__init__).parameters
    if not any(p.kind == p.VAR_KEYWORD for p in params.values()):
        unknown = sorted(set(config["attack"].get("kwargs", {})) - set(params))
        if unknown:
            raise ValueError(f"{path}: attack {attack_cls.__name__} takes no {unknown}")
    if attack_cls is AdversarialTexture:
        try:
            check_attack_settings(config["attack"].get("kwargs") or {})
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{path}: attack kwargs: {exc}") from exc
    model = config["model"]
    factory = _import(model, "model factory")
    if model["module"] == FACTORY_MODULE:
        kwargs = model["model_kwargs"]
        if not isinstance(model.get("weights_file"), str) or not model["weights_file"]:
            raise ValueError(
                f"{path}: model weights_file must name the weights file; armory-siammtl never runs random weights"
            )
        try:
            variant, _ = scenario_model(kwargs, wrapper_kwargs=model.get("wrapper_kwargs"))
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from exc
        if saved_model_dir is None:
            if load:
                raise ValueError(f"{path}: loading the model needs ARMORY's saved_model_dir")
            return config
        weights = Path(saved_model_dir) / model["weights_file"]
        if not weights.is_file():
            raise ValueError(f"{path}: {missing_weights(variant, model['weights_file'], saved_model_dir)}")
        try:  # the factory's own checks: pinned sha256, the manifest listing the file, the file's metadata
            if load:
                estimator = factory(kwargs, model["wrapper_kwargs"], weights)
            else:
                load_model(dataclasses.replace(variant, weights=weights))
        except (ValueError, TypeError, WeightsError) as exc:
            raise ValueError(f"{path}: model_kwargs {kwargs} and weights {weights}: {exc}") from exc
        if load:
            rng = np.random.default_rng(0)
            x = rng.uniform(0, 1, (1, 3, 128, 160, 3)).astype(np.float32)
            y = [{"boxes": np.array([[50, 40, 90, 110]] * 3, np.float32)}]
            copy = x.copy()
            pred = estimator.predict(x, y_init=y[0]["boxes"][:1])
            grad = estimator.loss_gradient(x, y)
            if pred[0]["boxes"].shape != (3, 4) or grad.shape != x.shape or not np.isfinite(grad).all():
                raise ValueError(f"{path}: model output or gradient has the wrong shape or non-finite values")
            if not np.array_equal(x, copy):
                raise ValueError(f"{path}: the model overwrote its input")
    return config


def dataset_note(config: dict, dataset_dir) -> str:
    """What ``armory run`` will do about the scenario's dataset: for ARMORY's CARLA datasets absent from
    ``dataset_dir``, that ARMORY downloads them (and the embedded set is the offline alternative)."""
    name = config.get("dataset", {}).get("name")
    if name not in ARMORY_DATASETS:
        return ""
    folder = Path(dataset_dir) / name if dataset_dir else None
    if folder is not None and folder.is_dir() and any(folder.iterdir()):
        return f"ARMORY's {name} is in {folder}"
    return (
        f"ARMORY will download {name} from its S3 bucket into {dataset_dir or 'its dataset_dir'} (network "
        "needed); offline, scenarios/embedded/ runs the same attack on the package's embedded set"
    )
