"""The tracker's hyper-parameters, apart from the network's architecture (``models.NetworkConfig``)."""

import math
from dataclasses import asdict, dataclass, fields

REFERENCE_INSTANCE_SIZE = 287  # pysot's siamrpn_alex_dwxcorr config; the paper's text says 255


@dataclass(frozen=True)
class TrackingConfig:
    """pysot's ``siamrpn_alex_dwxcorr`` tracking settings; ``instance_size`` is the search crop's side
    (default the paper's 255; pysot's config uses 287)."""

    instance_size: int = 255
    context_amount: float = 0.5
    penalty_k: float = 0.16
    window_influence: float = 0.40
    lr: float = 0.30

    def __post_init__(self):
        for field in fields(self):
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
