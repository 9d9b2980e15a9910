"""The embedded default: procedural person videos as an ARMORY dataset of the package's own name,
``siammtl_embedded_tracking``, in the CARLA tracking format (``x`` (1, T, H, W, 3) in [0, 1], ``y`` =
([{"boxes"}], {"gs_coords", "masks"}), a green-screen patch the walker occludes).

The videos are rendered when ARMORY asks for them (about 3 s per 960x1280 video of 30 frames) by the
sweep's ``procedural`` source (``data.attack_videos.procedural_videos``), so a sweep and an ``armory run``
see the same videos: nothing is written to disk, and nothing under any of ARMORY's dataset names. Frames
are 8-bit, boxes whole pixels and patch masks 3-channel, as ARMORY's CARLA loader gives them (ARMORY's
own texture attack needs the last).

Scenario entry: ``{"module": "armory_siammtl.armory.embedded_dataset", "name": "siammtl_embedded_tracking",
"batch_size": 1, "videos": 3, "frames": 12}`` (and optionally ``height``, ``width``, ``seed``).
"""

import numpy as np

from armory_siammtl import values
from armory_siammtl.data.attack_videos import procedural_videos
from armory_siammtl.data.splits import EMBEDDED_SEED

NAME = "siammtl_embedded_tracking"
CARLA_FRAME_RATE = 10  # ARMORY's CARLA tracking videos are 10 frames/s
CARLA_SIZE = (960, 1280)


def siammtl_embedded_tracking(
    split: str = "dev",
    epochs: int = 1,
    batch_size: int = 1,
    framework: str = "numpy",
    videos: int = 3,
    frames: int = 30,
    height: int = CARLA_SIZE[0],
    width: int = CARLA_SIZE[1],
    seed: int = EMBEDDED_SEED,
    **_,
):
    """ARMORY data generator over ``videos`` procedural videos (seeds ``seed``, ``seed + 1``, ...)."""
    from armory.data.datasets import ArmoryDataGenerator, VideoContext

    if batch_size != 1 or framework != "numpy":
        raise ValueError(
            f"{NAME} gives one numpy video per batch; got batch_size={batch_size}, framework={framework!r}"
        )
    if split != "dev":
        raise ValueError(f"{NAME} has one split, 'dev'; got {split!r}")
    videos, frames = values.whole(f"{NAME} videos", videos, 1), values.whole(f"{NAME} frames", frames, 2)
    height, width = values.whole(f"{NAME} height", height, 64), values.whole(f"{NAME} width", width, 64)
    seed = values.whole(f"{NAME} seed", seed, 0)

    def batches():
        for _ in range(epochs):
            for video in procedural_videos(videos, frames, height, width, seed)[1]:
                masks = np.repeat(video.patch_metadata["masks"][..., None], 3, axis=-1)  # (T, H, W, 3), as CARLA's
                metadata = {"gs_coords": video.patch_metadata["gs_coords"], "masks": masks}
                yield video.frames[None], ([{"boxes": video.boxes.astype(np.float32)}], metadata)

    return ArmoryDataGenerator(
        batches(),
        size=videos,
        epochs=epochs,
        batch_size=1,
        context=VideoContext(x_shape=(None, None, None, 3), frame_rate=CARLA_FRAME_RATE),
    )
