"""Videos ready to attack: frames, ground-truth boxes and ARMORY-style patch metadata, from any source.

Each source gives the video ids up front (cheaply, for progress and resumption) and the videos lazily,
one in memory at a time.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

import numpy as np


@dataclass
class AttackVideo:
    video_id: str
    frames: np.ndarray  # (T, H, W, 3) float32 in [0, 1]
    boxes: np.ndarray  # (T, 4) x1 y1 x2 y2
    patch_metadata: dict  # {"gs_coords", "masks"}


Source = Tuple[List[str], Iterator[AttackVideo]]


def procedural_videos(videos: int, frames: int, height: int, width: int, seed: int, **_) -> Source:
    """The package's procedural scene: the patch is its green screen, the walker occludes it; 8-bit frames
    and whole-pixel boxes, as ARMORY's CARLA loader gives them (the embedded ARMORY dataset is this)."""
    from armory_siammtl.data.synthetic import make_video

    seeds = range(seed, seed + videos)

    def load():
        for s in seeds:
            scene = make_video(s, frames, height, width)
            yield AttackVideo(
                f"scene_{s}",
                scene.video.astype(np.float32) / 255.0,
                np.round(scene.boxes).astype(np.float64),
                {"gs_coords": scene.gs_coords.astype(np.int64), "masks": scene.patch_masks},
            )

    return [f"scene_{s}" for s in seeds], load()


OTB_SEQUENCES = ("otb2015-person", "all")


def otb_videos(root, frames: int, sequences: str = "otb2015-person", **_) -> Source:
    """OTB-layout videos with the paper's digital patch (10% margin, box + 25 px uncovered): under ``root``
    (a folder or a list of folders), the 36 OTB2015-Person sequences (``sequences="otb2015-person"``, the
    missing ones named) or every sequence folder found (``"all"``, e.g. ../shared's eight evaluation videos;
    a ``root`` that is itself a sequence folder is that sequence)."""
    from armory_siammtl.data.otb import OTB_PERSON, check_otb_root, load_otb_sequence, otb_targets, sequence_folders_in
    from armory_siammtl.data.patch import digital_patch_metadata

    if sequences not in OTB_SEQUENCES:
        raise ValueError(f"dataset sequences must be one of {OTB_SEQUENCES}, not {sequences!r}")
    folders = []
    for folder in map(Path, [root] if isinstance(root, (str, Path)) else root):
        if sequences == "otb2015-person":
            check_otb_root(folder)
            folders += [folder / name for name in OTB_PERSON]
        else:
            found = sequence_folders_in(folder)
            if not found:
                raise FileNotFoundError(
                    f"no OTB-layout sequence folders (NAME/img/ + groundtruth_rect.txt) under {folder}"
                )
            folders += found
    ids = [video_id for folder in folders for video_id, _ in otb_targets(folder.parent, folder.name)]

    def load():
        for folder in folders:
            for video_id, video, boxes in load_otb_sequence(folder.parent, folder.name, frames):
                yield AttackVideo(video_id, video, boxes, digital_patch_metadata(video.shape[1:3], boxes))

    return ids, load()


def carla_videos(split: str, data_dir: Optional[str], frames: Optional[int], **_) -> Source:
    """ARMORY's real ``carla_video_tracking_dev`` through ARMORY's own loader, read from ``data_dir`` (default
    ARMORY's ``dataset_dir``); refused, naming where it looked, when it is not there (ARMORY would try to
    download it)."""
    from armory_siammtl.runtime import load_torch_compiler_first

    if data_dir is None:
        from armory import paths

        data_dir = paths.runtime_paths().dataset_dir
    where = Path(data_dir) / "carla_video_tracking_dev"
    if not where.is_dir() or not any(where.iterdir()):
        raise FileNotFoundError(
            f"ARMORY's carla_video_tracking_dev is not in {data_dir} (looked for {where}); "
            "download it with ARMORY, or sweep the embedded set (dataset kind 'procedural')"
        )
    load_torch_compiler_first()
    from armory.data.adversarial_datasets import carla_video_tracking_dev

    kwargs = {"dataset_dir": str(data_dir)}
    batches = carla_video_tracking_dev(split=split, max_frames=frames, **kwargs)
    ids = [f"carla_{index:03d}" for index in range(batches.batches_per_epoch)]
    return ids, (
        AttackVideo(
            video_id,
            np.asarray(x[0], dtype=np.float32),
            np.asarray(y[0]["boxes"], dtype=np.float64),
            {"gs_coords": np.asarray(meta["gs_coords"]), "masks": np.asarray(meta["masks"])},
        )
        for video_id, (x, (y, meta)) in zip(ids, batches)
    )


SOURCES = {"procedural": procedural_videos, "otb": otb_videos, "carla": carla_videos}


def attack_videos(dataset: dict) -> Source:
    """(video ids, lazy videos) of a sweep's ``dataset`` entry ({"kind": ..., source options})."""
    kind = dataset["kind"]
    if kind not in SOURCES:
        raise ValueError(f"unknown dataset kind {kind!r}; known: {sorted(SOURCES)}")
    return SOURCES[kind](**{k: v for k, v in dataset.items() if k != "kind"})
