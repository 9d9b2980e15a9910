"""OTB2015-Person (36 sequences, 38 annotated targets); only the first 100 frames are used (the paper's
setting). Its digital patch is ``data.patch.digital_patch_metadata``."""

from pathlib import Path
from typing import List, Tuple

import numpy as np

from armory_siammtl.data.track import DiskTrack
from armory_siammtl.data.video import frame_files, read_video
from armory_siammtl.input_checks import check_boxes, parse_box_text

# OTB2015 sequences with a person target, as listed by the SkeleVision authors; Jogging and Skating2
# have two annotated people each (groundtruth_rect.1.txt / .2.txt), making 38 videos
OTB_PERSON = (
    "Basketball",
    "BlurBody",
    "Bolt",
    "Bolt2",
    "Couple",
    "Crossing",
    "Crowds",
    "Dancer",
    "Dancer2",
    "David3",
    "Diving",
    "Girl2",
    "Gym",
    "Human2",
    "Human3",
    "Human4",
    "Human5",
    "Human6",
    "Human7",
    "Human8",
    "Human9",
    "Jogging",
    "Jump",
    "MotorRolling",
    "MountainBike",
    "Singer1",
    "Singer2",
    "Skater",
    "Skater2",
    "Skating1",
    "Skating2",
    "Skiing",
    "Subway",
    "Walking",
    "Walking2",
    "Woman",
)
ANNOTATED_FRAMES = {"Diving": 215}  # OTB videos whose annotation is shorter than the frames
MAX_FRAMES = 100


def read_otb_boxes(path) -> np.ndarray:
    """OTB ``groundtruth_rect*.txt`` (x, y, w, h; commas, tabs or spaces) -> (T, 4) x1 y1 x2 y2 (rows of an
    absent target, NaN or zeros, stay as they are: ``input_checks.check_boxes`` reads them)."""
    boxes = parse_box_text(Path(path).read_text(), path)
    boxes[:, 2:] += boxes[:, :2]
    return boxes


def otb_targets(root, name: str) -> List[Tuple[str, Path]]:
    """[(video id, ground-truth file)] of one sequence: ``name``, or ``name-1``, ``name-2`` for two targets."""
    folder = Path(root) / name
    files = sorted(p for p in folder.glob("groundtruth_rect*.txt") if p.read_text().strip())
    if not files:
        raise FileNotFoundError(f"no non-empty groundtruth_rect*.txt in {folder}")
    return [(name if len(files) == 1 else f"{name}-{index + 1}", file) for index, file in enumerate(files)]


def load_otb_sequence(root, name: str, max_frames: int = MAX_FRAMES) -> List[Tuple[str, np.ndarray, np.ndarray]]:
    """[(video id, frames (T, H, W, 3) in [0, 1], boxes (T, 4))] for one OTB sequence folder."""
    targets = otb_targets(root, name)
    limit = min(max_frames, ANNOTATED_FRAMES.get(name, max_frames))
    frames = read_video(Path(root) / name / "img", max_frames=limit)
    videos = []
    for video_id, file in targets:
        boxes = read_otb_boxes(file)[:limit]
        if len(boxes) < len(frames):
            raise ValueError(f"{file}: {len(boxes)} boxes for {len(frames)} frames")
        boxes = check_boxes(boxes[: len(frames)], len(frames), *frames.shape[1:3], what=str(file))
        videos.append((video_id, frames, boxes))
    return videos


def otb_disk_tracks(folder) -> List[DiskTrack]:
    """Each annotated target of one OTB-layout sequence folder (``img/`` + ``groundtruth_rect*.txt``) as a
    ``DiskTrack`` over its frame files; frames past the last box line or with an empty box are not used."""
    folder = Path(folder)
    files = frame_files(folder / "img") if (folder / "img").is_dir() else []
    if not files:
        raise FileNotFoundError(f"no frames in {folder / 'img'}")
    tracks = []
    for _, box_file in otb_targets(folder.parent, folder.name):
        boxes = read_otb_boxes(box_file)
        if len(boxes) > len(files):
            raise ValueError(f"{box_file}: {len(boxes)} boxes for {len(files)} frames")
        keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        tracks.append(DiskTrack([f for f, k in zip(files, keep) if k], boxes[keep].astype(np.float32)))
    return tracks


def sequence_folders_in(path) -> List[Path]:
    """The OTB-layout sequence folders (``NAME/img/``) at ``path``: ``path`` itself when it is one, else its
    subfolders that are, sorted; empty when there are none."""
    path = Path(path)
    if (path / "img").is_dir():
        return [path]
    return sorted(p for p in path.iterdir() if (p / "img").is_dir()) if path.is_dir() else []


def check_otb_root(root, names=OTB_PERSON) -> None:
    """Raise FileNotFoundError naming the sequences missing under ``root``."""
    missing = [n for n in names if not (Path(root) / n).is_dir()]
    if missing:
        raise FileNotFoundError(f"OTB2015 sequences missing under {root}: {missing}")


def iter_otb_person(root, max_frames: int = MAX_FRAMES, names=OTB_PERSON):
    """The OTB2015-Person videos under ``root``, one sequence in memory at a time."""
    check_otb_root(root, names)
    for name in names:
        yield from load_otb_sequence(root, name, max_frames)


def load_otb_person(root, max_frames: int = MAX_FRAMES, names=OTB_PERSON):
    """Every OTB2015-Person video found under ``root``; names the missing sequences in its error."""
    return list(iter_otb_person(root, max_frames, names))
