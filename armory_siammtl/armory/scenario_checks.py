"""Scenario checks for tracking models.

ARMORY 0.19.2's ``armory run --validate-config`` accepts only classifiers, detectors and speech models, so
it rejects every object tracker (its own GOTURN baseline too). This runs the same kinds of checks for
trackers: ARMORY's JSON schema, importable scenario/attack/model entries, our model_kwargs against the
weights manifest, and, with ``load=True``, the model's predict and loss_gradient on a small video.
"""

import importlib
import inspect
import json
from pathlib import Path

import numpy as np

from armory_siammtl.armory.factories import scenario_model
from armory_siammtl.attacks.adversarial_texture import AdversarialTexture, texture_settings
from armory_siammtl.armory.setup import REPO_WEIGHTS
from armory_siammtl.models.manifest import MANIFEST, read_manifest


FACTORY_MODULE = "armory_siammtl.armory.factories"
TEXTURE_SETTINGS = tuple(inspect.signature(texture_settings).parameters)


def _import(section: dict, what: str):
    try:
        return getattr(importlib.import_module(section["module"]), section["name"])
    except (ImportError, AttributeError, KeyError) as exc:
        raise ValueError(f"{what} {section.get('module')}.{section.get('name')} cannot be imported: {exc}") from exc


def validate_scenario(path, weights_dir=REPO_WEIGHTS, load: bool = False) -> dict:
    """Raise ValueError naming the first problem; return the config when it is sound."""
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
        raise ValueError(f"{path}: ARMORY schema: {exc.message} at {'.'.join(map(str, exc.absolute_path))}")
    _import(config["scenario"], "scenario")
    attack_cls = _import(config["attack"], "attack")
    params = inspect.signature(attack_cls.__init__).parameters
    if not any(p.kind == p.VAR_KEYWORD for p in params.values()):
        unknown = sorted(set(config["attack"].get("kwargs", {})) - set(params))
        if unknown:
            raise ValueError(f"{path}: attack {attack_cls.__name__} takes no {unknown}")
    if attack_cls is AdversarialTexture:
        kwargs = config["attack"].get("kwargs", {})
        try:
            texture_settings(**{k: v for k, v in kwargs.items() if k in TEXTURE_SETTINGS})
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{path}: attack kwargs: {exc}") from exc
    model = config["model"]
    factory = _import(model, "model factory")
    if model["module"] == FACTORY_MODULE:
        kwargs = model["model_kwargs"]
        try:
            variant, _ = scenario_model(kwargs)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from exc
        entry = read_manifest(Path(weights_dir) / MANIFEST).get(model["weights_file"])
        if entry is not None:
            try:
                variant.check_matches(entry.get("kpt_weight"), entry.get("head"),
                                      f"{model['weights_file']} (per {Path(weights_dir) / MANIFEST})")
            except ValueError as exc:
                raise ValueError(f"{path}: model_kwargs {kwargs} disagree with the manifest: {exc}") from exc
        if load:
            if entry is None:
                raise ValueError(f"{path}: {model['weights_file']} is not in {Path(weights_dir) / MANIFEST}")
            estimator = factory(kwargs, model["wrapper_kwargs"], Path(weights_dir) / model["weights_file"])
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
