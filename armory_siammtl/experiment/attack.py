"""``AttackConfig``: every setting of the texture attack that decides a number, checked in one place (the
attack's ``_check_params``, scenario and sweep checks and the CLI all build one)."""

from dataclasses import asdict, dataclass, fields
from typing import Optional, Tuple

from armory_siammtl import values

GRADIENTS = ("raw", "sign", "sign-accumulated")
REGIONS = ("perspective", "rectangle")
SHADINGS = (None, "green_screen")
INITS = ("mean", "random")
# how long an attack runs and what it records, not where it goes: its first k steps are the same under any
# of them, so a run may be gone on with (or a sweep resumed) when they grow
LENGTH_SETTINGS = ("max_iter", "checkpoints")


@dataclass(frozen=True)
class AttackConfig:
    """The texture attack's settings.

    :param step_size: delta in x <- x + delta * update (the paper's 0.1 and 0.2).
    :param max_iter: gradient steps of the attack (ART's and ARMORY's name).
    :param checkpoints: step counts at which the texture and the adversarial boxes are recorded; ``max_iter``
        is always one of them.
    :param gradient: "raw" (the paper's Eq. 4), "sign" (ART >= 1.10.3's texture attack) or
        "sign-accumulated" (the sign of the sum of all gradients so far: ART 1.9.1 under the reference run).
    :param frame_batch: frames tracked per step (a seeded random window); None: the whole video.
    :param region: "perspective" (warped onto the patch's four corners) or "rectangle" (upright, texel for
        pixel, in their bounding rectangle, as the reference ran it).
    :param shading: "green_screen" (scaled by the green screen's brightness, CARLA) or None (pasted as is).
    :param clean_first_frame: leave frame 0, the template frame, without the texture.
    :param init: "mean" (0.5 grey) or "random" (seeded uniform).
    :param texture_size: (height, width) of the texture; None: the patch's extent in the frame.
    """

    step_size: float = 0.1
    max_iter: int = 50
    checkpoints: Tuple[int, ...] = (10, 20, 50)
    gradient: str = "sign"
    frame_batch: Optional[int] = 10
    region: str = "perspective"
    shading: Optional[str] = "green_screen"
    clean_first_frame: bool = True
    init: str = "mean"
    texture_size: Optional[Tuple[int, int]] = None

    def __post_init__(self):
        set_ = object.__setattr__  # frozen: normalised values are set once, here
        set_(self, "step_size", values.positive("step_size", self.step_size))
        set_(self, "max_iter", values.whole("max_iter", self.max_iter, 0))
        if not isinstance(self.checkpoints, (list, tuple)):
            raise ValueError(f"checkpoints must be a list of step counts, got {self.checkpoints!r}")
        checkpoints = [values.whole(f"checkpoints[{i}]", c, 0) for i, c in enumerate(self.checkpoints)]
        beyond = [c for c in checkpoints if c > self.max_iter]
        if beyond:
            raise ValueError(f"checkpoints {beyond} lie beyond max_iter={self.max_iter}; lower them or raise max_iter")
        set_(self, "checkpoints", tuple(sorted(set(checkpoints) | {self.max_iter})))
        for name, allowed in (("gradient", GRADIENTS), ("region", REGIONS), ("shading", SHADINGS), ("init", INITS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, not {getattr(self, name)!r}")
        if self.frame_batch is not None:
            set_(self, "frame_batch", values.whole("frame_batch", self.frame_batch, 2))
        set_(self, "clean_first_frame", values.boolean("clean_first_frame", self.clean_first_frame))
        if self.texture_size is not None:
            size = self.texture_size
            if not isinstance(size, (list, tuple)) or len(size) != 2:
                raise ValueError(f"texture_size must be (height, width), got {size!r}")
            set_(
                self, "texture_size", tuple(values.whole(f"texture_size[{i}]", v, 1, 8192) for i, v in enumerate(size))
            )

    @classmethod
    def keys(cls) -> tuple:
        return tuple(f.name for f in fields(cls))

    def as_dict(self) -> dict:
        """Plain JSON values (lists for tuples)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}
