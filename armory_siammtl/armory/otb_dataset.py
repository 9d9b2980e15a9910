"""OTB-layout videos as an ARMORY dataset for the ``CarlaVideoTracking`` scenario: one video per batch,
``x`` (1, T, H, W, 3) in [0, 1] and ``y`` = ([{"boxes"}], patch_metadata) with the paper's digital patch.

Scenario entry: ``{"module": "armory_siammtl.armory.otb_dataset", "name": "otb2015_person", "batch_size": 1,
"dataset_dir": "<folder holding the OTB2015 sequences>"}``; without ``dataset_dir`` the ``OTB2015`` folder
in ARMORY's dataset directory is read. ``dataset_dir`` may be a list of folders and ``sequences`` "all"
(every sequence folder found, e.g. ../shared's eight evaluation videos) instead of the 36 OTB2015-Person
sequences (``data.attack_videos.otb_videos``, what the sweep reads).
"""

from pathlib import Path

import numpy as np

from armory_siammtl.data.attack_videos import otb_videos
from armory_siammtl.data.otb import MAX_FRAMES

OTB_FRAME_RATE = 30  # for ARMORY's video exporter; OTB ships frames, not a frame rate


def otb2015_person(
    split: str = "dev",
    epochs: int = 1,
    batch_size: int = 1,
    dataset_dir=None,
    framework: str = "numpy",
    max_frames: int = MAX_FRAMES,
    sequences: str = "otb2015-person",
    **_,
):
    """ARMORY data generator over the OTB-layout videos of ``dataset_dir`` (the 36 OTB2015-Person sequences,
    38 targets, by default; the missing ones are named in the error)."""
    from armory.data.datasets import ArmoryDataGenerator, VideoContext

    if batch_size != 1 or framework != "numpy":
        raise ValueError(
            f"otb2015_person gives one numpy video per batch; got batch_size={batch_size}, framework={framework!r}"
        )
    if dataset_dir is None:
        from armory import paths

        dataset_dir = Path(paths.runtime_paths().dataset_dir) / "OTB2015"
    ids, _ = otb_videos(dataset_dir, max_frames, sequences)  # checks the folders before ARMORY starts

    def batches():
        for _ in range(epochs):
            for video in otb_videos(dataset_dir, max_frames, sequences)[1]:
                yield video.frames[None], ([{"boxes": video.boxes.astype(np.float32)}], video.patch_metadata)

    return ArmoryDataGenerator(
        batches(),
        size=len(ids),
        epochs=epochs,
        batch_size=1,
        context=VideoContext(x_shape=(None, None, None, 3), frame_rate=OTB_FRAME_RATE),
    )
