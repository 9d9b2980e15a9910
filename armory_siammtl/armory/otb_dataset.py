"""OTB2015-Person as an ARMORY dataset for the ``CarlaVideoTracking`` scenario: one video per batch,
``x`` (1, T, H, W, 3) in [0, 1] and ``y`` = ([{"boxes"}], patch_metadata) with the paper's digital patch.

Scenario entry: ``{"module": "armory_siammtl.armory.otb_dataset", "name": "otb2015_person", "batch_size": 1,
"dataset_dir": "<folder holding the OTB2015 sequences>"}``; without ``dataset_dir`` the ``OTB2015`` folder
in ARMORY's dataset directory is read.
"""

from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from armory_siammtl.data.otb import MAX_FRAMES, OTB_PERSON, check_otb_root, iter_otb_person, otb_targets
from armory_siammtl.data.patch import digital_patch_metadata

OTB_FRAME_RATE = 30  # for ARMORY's video exporter; OTB ships frames, not a frame rate


def _batches(root: Path, names: Sequence[str], max_frames: int, epochs: int):
    for _ in range(epochs):
        for _, frames, boxes in iter_otb_person(root, max_frames, names):
            metadata = digital_patch_metadata(frames.shape[1:3], boxes)
            yield frames[None], ([{"boxes": boxes.astype(np.float32)}], metadata)


def otb2015_person(split: str = "dev", epochs: int = 1, batch_size: int = 1, dataset_dir: Optional[str] = None,
                   framework: str = "numpy", max_frames: int = MAX_FRAMES, names: Sequence[str] = OTB_PERSON,
                   **_):
    """ARMORY data generator over the OTB2015-Person videos (36 sequences, 38 targets) found in
    ``dataset_dir``; names the missing sequences in its error."""
    from armory.data.datasets import ArmoryDataGenerator, VideoContext

    if batch_size != 1 or framework != "numpy":
        raise ValueError(f"otb2015_person gives one numpy video per batch; got batch_size={batch_size}, "
                         f"framework={framework!r}")
    if dataset_dir is None:
        from armory import paths

        dataset_dir = Path(paths.runtime_paths().dataset_dir) / "OTB2015"
    root = Path(dataset_dir)
    check_otb_root(root, names)
    size = sum(len(otb_targets(root, n)) for n in names)
    return ArmoryDataGenerator(_batches(root, list(names), max_frames, epochs), size=size, epochs=epochs,
                               batch_size=1, context=VideoContext(x_shape=(None, None, None, 3),
                                                                  frame_rate=OTB_FRAME_RATE))
