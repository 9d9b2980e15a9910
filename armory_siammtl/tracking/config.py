"""The tracker's hyper-parameters, apart from the network's architecture (``models.NetworkConfig``)."""

import math
from dataclasses import asdict, dataclass, fields

from armory_siammtl.tracking.crop import CROPS

REFERENCE_INSTANCE_SIZE = 287  # pysot's siamrpn_alex_dwxcorr config; the paper's text says 255


@dataclass(frozen=True)
class TrackingConfig:
    """pysot's ``siamrpn_alex_dwxcorr`` tracking settings; ``instance_size`` is the search crop's side
    (default the paper's 255; pysot's config uses 287). ``crop`` is the crop geometry ("subpixel", pysot's
    "integer" or the reference code's "skelevision", ``tracking.crop``); ``track_first_frame`` runs the
    tracker on frame 0 as well (the reference did), instead of returning the given box there.
    ``skelevision()`` is the reference setting."""

    instance_size: int = 255
    context_amount: float = 0.5
    penalty_k: float = 0.16
    window_influence: float = 0.40
    lr: float = 0.30
    crop: str = "subpixel"
    track_first_frame: bool = False

    @classmethod
    def skelevision(cls, **overrides) -> "TrackingConfig":
        """How the paper's reference code tracked: search size 287, its whole-pixel crops, frame 0 tracked."""
        return cls(**{"instance_size": REFERENCE_INSTANCE_SIZE, "crop": "skelevision", "track_first_frame": True,
                      **overrides})

    def __post_init__(self):
        if self.crop not in CROPS:
            raise ValueError(f"tracking crop must be one of {CROPS}, not {self.crop!r}")
        if not isinstance(self.track_first_frame, bool):
            raise ValueError(f"tracking track_first_frame must be true or false, got {self.track_first_frame!r}")
        for field in fields(self):
            if field.name in ("crop", "track_first_frame"):
                continue
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"tracking {field.name} must be a finite number, got {value!r}")
        if self.instance_size <= 0 or int(self.instance_size) != self.instance_size:
            raise ValueError(f"tracking instance_size must be a positive whole number, got {self.instance_size}")

    @classmethod
    def keys(cls) -> tuple:
        return tuple(f.name for f in fields(cls))

    def as_dict(self) -> dict:
        return asdict(self)
