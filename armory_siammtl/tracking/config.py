"""The tracker's hyper-parameters and the network's input order, apart from the network's architecture
(``models.NetworkConfig``)."""

import math
from dataclasses import asdict, dataclass, fields

from armory_siammtl.models.siamrpn import CHANNEL_ORDERS
from armory_siammtl.tracking.crop import CROPS

REFERENCE_INSTANCE_SIZE = 287  # pysot's siamrpn_alex_dwxcorr config; the paper's text says 255
# (low, high, wording) of each numeric setting; OPEN_BELOW: the low end itself is refused
RANGES = {
    "instance_size": (127, 1023, "a whole number from 127 (the template) to 1023"),
    "context_amount": (0.0, 10.0, "a number in (0, 10]"),
    "penalty_k": (0.0, 10.0, "a number in [0, 10]"),
    "window_influence": (0.0, 1.0, "a number in [0, 1]"),
    "lr": (0.0, 1.0, "a number in [0, 1] (the box update's rate)"),
}
OPEN_BELOW = ("context_amount",)


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
    channel_order: str = "bgr"

    @classmethod
    def skelevision(cls, **overrides) -> "TrackingConfig":
        """How the paper's reference code tracked: search size 287, its whole-pixel crops, frame 0 tracked."""
        return cls(
            **{"instance_size": REFERENCE_INSTANCE_SIZE, "crop": "skelevision", "track_first_frame": True, **overrides}
        )

    def __post_init__(self):
        if self.crop not in CROPS:
            raise ValueError(f"tracking crop must be one of {CROPS}, not {self.crop!r}")
        if self.channel_order not in CHANNEL_ORDERS:
            raise ValueError(f"tracking channel_order must be one of {CHANNEL_ORDERS}, not {self.channel_order!r}")
        if not isinstance(self.track_first_frame, bool):
            raise ValueError(f"tracking track_first_frame must be true or false, got {self.track_first_frame!r}")
        for field in fields(self):
            if field.name in ("crop", "track_first_frame", "channel_order"):
                continue
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"tracking {field.name} must be a finite number, got {value!r}")
            low, high, what = RANGES[field.name]
            if not low <= value <= high or (field.name in OPEN_BELOW and value == low):
                raise ValueError(f"tracking {field.name} must be {what}, got {value!r}")
        if int(self.instance_size) != self.instance_size:
            raise ValueError(f"tracking instance_size must be a whole number, got {self.instance_size}")

    @classmethod
    def keys(cls) -> tuple:
        return tuple(f.name for f in fields(cls))

    def as_dict(self) -> dict:
        return asdict(self)
