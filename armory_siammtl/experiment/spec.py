"""The experiment spec: everything that decides a number of the package's table (the attack's
``AttackConfig`` and the tracker's ``TrackingConfig``, which holds the network's input channel order), the
named presets, and the one way every entry point reads them.

Every entry point (scenario generation and the factory's ``model_kwargs``, sweep configs, the CLI's
``--preset``/``--set``, training's validation, ``describe-weights``) takes a preset name and flat keys
spelled as ``KEYS`` spells them; the defaults are the dataclasses' own.

Presets (``preset(name, dataset)``; ``dataset`` is the patch's kind: "carla" or "procedural", a physical
green-screen patch, or "otb", the paper's digital patch on real video):

- ``skelevision``: the paper's reference code. The sign of the running sum of all gradients over the
  whole video, the texture upright in the patch's bounding rectangle without shading, 100 steps; frame 0
  patched on CARLA and clean on OTB; its tracker (search 287, whole-pixel crops with centre and side
  truncated, frame 0 tracked); the network fed RGB on CARLA (the reference multiplied ARMORY's RGB frames
  by 255 only) and BGR on OTB (its OTB loader read BGR).
- ``armory``: ARMORY 0.19.2's own CARLA tracking attack (eval5: ART's texture attack as
  ``AdversarialPhysicalTexture``): the sign of the whole video's gradient each step, step 0.02, 100
  steps, grey start, perspective warp with green-screen shading, every frame patched; ARMORY has no
  tracker of its own, so the package's tracker. Scenarios of this preset run ARMORY's class itself.
- ``package``: this package's defaults: signed gradients on seeded 10-frame windows, perspective warp
  with green-screen shading (none on OTB), clean frame 0, 50 steps; pysot's tracker at the paper's 255
  with sub-pixel crops, BGR input.
"""

from dataclasses import dataclass, replace
from typing import Optional, Tuple

from armory_siammtl import values
from armory_siammtl.experiment.attack import AttackConfig
from armory_siammtl.tracking.config import TrackingConfig

PRESETS = ("skelevision", "armory", "package")
DATASET_KINDS = ("carla", "procedural", "otb")
ATTACK_KEYS = AttackConfig.keys()
TRACKING_KEYS = TrackingConfig.keys()
KEYS = ATTACK_KEYS + TRACKING_KEYS


@dataclass(frozen=True)
class ExperimentSpec:
    """One experiment's attack and tracker, the preset it started from and the keys changed since
    (``changes``, in order), for the ``dataset`` kind it was made for."""

    attack: AttackConfig
    tracking: TrackingConfig
    preset: str = "package"
    dataset: str = "carla"
    changes: Tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The preset's name, with the changed keys when there are any."""
        return self.preset + (f" ({', '.join(self.changes)})" if self.changes else "")

    def as_dict(self) -> dict:
        """The flat keys (``KEYS``) with their values."""
        return {**self.attack.as_dict(), **self.tracking.as_dict()}

    def changed(self, **settings) -> "ExperimentSpec":
        """This spec with flat ``settings`` changed (each checked); the preset's name gains the changes."""
        unknown = sorted(set(settings) - set(KEYS))
        if unknown:
            raise ValueError(f"unknown experiment keys {unknown}; known: {list(KEYS)}")
        if not settings:
            return self
        attack = {k: v for k, v in settings.items() if k in ATTACK_KEYS}
        if "max_iter" in attack and "checkpoints" not in attack:  # a shorter attack keeps the checkpoints below it
            length = values.whole("max_iter", attack["max_iter"], 0)
            attack["checkpoints"] = tuple(c for c in self.attack.checkpoints if c <= length)
        tracking = {k: v for k, v in settings.items() if k in TRACKING_KEYS}
        spec = ExperimentSpec(
            replace(self.attack, **attack), replace(self.tracking, **tracking), self.preset, self.dataset, self.changes
        )
        before, after = self.as_dict(), spec.as_dict()
        changes = tuple(f"{k}={after[k]!r}" for k in settings if after[k] != before[k])  # what differs, checked
        return replace(spec, changes=self.changes + changes)


def preset(name: str = "package", dataset: str = "carla", **settings) -> ExperimentSpec:
    """The named preset for ``dataset`` (a key of ``DATASET_KINDS``), with flat ``settings`` changed."""
    if dataset not in DATASET_KINDS:
        raise ValueError(f"dataset kind must be one of {DATASET_KINDS}, not {dataset!r}")
    physical = dataset != "otb"
    shading = "green_screen" if physical else None
    if name == "package":
        spec = ExperimentSpec(AttackConfig(shading=shading), TrackingConfig(), name, dataset)
    elif name == "skelevision":
        attack = AttackConfig(
            max_iter=100,
            checkpoints=(10, 20, 50, 100),
            gradient="sign-accumulated",
            frame_batch=None,
            region="rectangle",
            shading=None,
            clean_first_frame=not physical,
        )
        spec = ExperimentSpec(
            attack, TrackingConfig.skelevision(channel_order="rgb" if physical else "bgr"), name, dataset
        )
    elif name == "armory":
        attack = AttackConfig(
            step_size=0.02,
            max_iter=100,
            checkpoints=(10, 20, 50, 100),
            gradient="sign",
            frame_batch=None,
            region="perspective",
            shading=shading,
            clean_first_frame=False,
        )
        spec = ExperimentSpec(attack, TrackingConfig(), name, dataset)
    else:
        raise ValueError(f"preset must be one of {PRESETS}, not {name!r}")
    return spec.changed(**settings)


def spec_from_dict(raw: Optional[dict], dataset: str = "carla", default_preset: str = "package") -> ExperimentSpec:
    """A spec from ``{"preset": name, KEY: value, ...}`` (a sweep config's or a CLI's settings)."""
    raw = dict(raw or {})
    name = raw.pop("preset", None) or default_preset
    return preset(name, dataset, **raw)


def keys_table() -> str:
    """The README's table of the spec's keys: each preset's value on CARLA (and on OTB where it differs)."""
    specs = {name: (preset(name, "carla").as_dict(), preset(name, "otb").as_dict()) for name in PRESETS}
    lines = ["| key | where | " + " | ".join(f"`{n}`" for n in PRESETS) + " |", "|---|---|" + "---|" * len(PRESETS)]
    for key in KEYS:
        where = "attack" if key in ATTACK_KEYS else "tracker"
        cells = []
        for name in PRESETS:
            carla, otb = specs[name]
            cell = f"`{_plain(carla[key])}`"
            if otb[key] != carla[key]:
                cell += f" (OTB `{_plain(otb[key])}`)"
            cells.append(cell)
        lines.append(f"| `{key}` | {where} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _plain(value) -> str:
    import json

    return json.dumps(value)


def recorded_tracking(weights) -> Optional[TrackingConfig]:
    """The tracking setting a checkpoint records (the one it was validated with; ``train`` and
    ``describe-weights`` write it), or None for a file that records none."""
    from armory_siammtl.models.metadata import read_metadata
    from armory_siammtl.models.weights_file import read_weights

    block = read_metadata(read_weights(weights), weights)
    recorded = (block or {}).get("tracking")
    if not isinstance(recorded, dict):
        return None
    try:
        return TrackingConfig(**{k: v for k, v in recorded.items() if k in TRACKING_KEYS})
    except (TypeError, ValueError) as exc:
        raise ValueError(f"weights file {weights} records an unusable tracking setting: {exc}") from None


def spec_for(
    weights=None, name: Optional[str] = None, settings: Optional[dict] = None, dataset: str = "otb"
) -> ExperimentSpec:
    """The spec a command runs: the preset ``name`` with ``settings`` when either is given; otherwise the
    ``package`` preset's attack with the tracking setting ``weights`` records (that it was validated
    with), or the package's when it records none."""
    if name or settings:
        return preset(name or "package", dataset, **(settings or {}))
    spec = preset("package", dataset)
    recorded = recorded_tracking(weights) if weights is not None else None
    if recorded is None or recorded == spec.tracking:
        return spec
    return spec.changed(**{k: v for k, v in recorded.as_dict().items() if v != spec.tracking.as_dict()[k]})
