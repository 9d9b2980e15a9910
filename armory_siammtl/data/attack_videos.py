"""Videos ready to attack: frames, ground-truth boxes and ARMORY-style patch metadata, from any source.

Each source gives the video ids up front (cheaply, for progress and resumption) and the videos lazily,
one in memory at a time.
"""

from dataclasses import dataclass
from typing import Iterator, List, Optional, Tuple

import numpy as np


@dataclass
class AttackVideo:
    video_id: str
    frames: np.ndarray  # (T, H, W, 3) float32 in [0, 1]
    boxes: np.ndarray  # (T, 4) x1 y1 x2 y2
    patch_metadata: dict  # {"gs_coords", "masks"}
    shading: Optional[str]  # "green_screen" for a physical patch on CARLA's green screen, None for a digital one


Source = Tuple[List[str], Iterator[AttackVideo]]


def procedural_videos(videos: int, frames: int, height: int, width: int, seed: int, **_) -> Source:
    """The package's procedural scene: the patch is its green screen, the walker occludes it."""
    from armory_siammtl.data.synthetic import make_video

    seeds = range(seed, seed + videos)

    def load():
        for s in seeds:
            scene = make_video(s, frames, height, width)
            yield AttackVideo(f"scene_{s}", scene.video.astype(np.float32) / 255.0,
                              scene.boxes.astype(np.float64),
                              {"gs_coords": scene.gs_coords, "masks": scene.patch_masks}, "green_screen")

    return [f"scene_{s}" for s in seeds], load()


def otb_videos(root: str, frames: int, **_) -> Source:
    """OTB2015-Person with the paper's digital patch (10% margin, box + 25 px uncovered, frame 1 clean)."""
    from armory_siammtl.data.otb import OTB_PERSON, check_otb_root, iter_otb_person, otb_targets
    from armory_siammtl.data.patch import digital_patch_metadata

    check_otb_root(root)
    ids = [video_id for name in OTB_PERSON for video_id, _ in otb_targets(root, name)]
    return ids, (AttackVideo(video_id, video, boxes, digital_patch_metadata(video.shape[1:3], boxes), None)
                 for video_id, video, boxes in iter_otb_person(root, max_frames=frames))


def carla_videos(split: str, data_dir: Optional[str], frames: Optional[int], **_) -> Source:
    """ARMORY's ``carla_video_tracking_dev`` through ARMORY's own loader (real or embedded)."""
    from armory_siammtl.runtime import load_torch_compiler_first

    load_torch_compiler_first()
    from armory.data.adversarial_datasets import carla_video_tracking_dev

    kwargs = {"dataset_dir": data_dir} if data_dir else {}
    batches = carla_video_tracking_dev(split=split, max_frames=frames, **kwargs)
    ids = [f"carla_{index:03d}" for index in range(batches.batches_per_epoch)]
    return ids, (AttackVideo(video_id, np.asarray(x[0], dtype=np.float32), np.asarray(y[0]["boxes"], dtype=np.float64),
                             {"gs_coords": np.asarray(meta["gs_coords"]), "masks": np.asarray(meta["masks"])},
                             "green_screen")
                 for video_id, (x, (y, meta)) in zip(ids, batches))


SOURCES = {"procedural": procedural_videos, "otb": otb_videos, "carla": carla_videos}


def attack_videos(dataset: dict) -> Source:
    """(video ids, lazy videos) of a sweep's ``dataset`` entry ({"kind": ..., source options})."""
    kind = dataset["kind"]
    if kind not in SOURCES:
        raise ValueError(f"unknown dataset kind {kind!r}; known: {sorted(SOURCES)}")
    return SOURCES[kind](**{k: v for k, v in dataset.items() if k != "kind"})
