"""The experiment spec: the attack's and the tracker's settings that decide a number, and named presets."""

from armory_siammtl.experiment.attack import AttackConfig
from armory_siammtl.experiment.spec import (
    ATTACK_KEYS,
    DATASET_KINDS,
    KEYS,
    PRESETS,
    TRACKING_KEYS,
    ExperimentSpec,
    preset,
    spec_from_dict,
)

__all__ = [
    "AttackConfig",
    "ATTACK_KEYS",
    "DATASET_KINDS",
    "ExperimentSpec",
    "KEYS",
    "PRESETS",
    "TRACKING_KEYS",
    "preset",
    "spec_from_dict",
]
