"""LaSOT person sequences (``person-N/img/*.jpg``, ``groundtruth.txt``), read from disk a frame at a time. Two
split rules: the package's (frames 1-800 train, 801-900 validate, absent frames dropped from each) and the
reference code's (prepare_lasot: the first 800 *valid* frames train and the next 100 valid ones validate,
a valid frame's box having more than 16 square pixels and no negative corner)."""

from pathlib import Path

import numpy as np

from armory_siammtl.data.otb import read_otb_boxes
from armory_siammtl.data.track import DiskTrack

SPLITS = {"train": (0, 800), "val": (800, 900)}
SPLIT_RULES = ("frames", "valid_frames")


def lasot_person_sequences(root):
    """Sorted ``person-N`` folders under ``root`` (the LaSOT ``person`` class folder or its parent)."""
    root = Path(root)
    base = root / "person" if (root / "person").is_dir() else root
    folders = sorted((p for p in base.glob("person-*") if p.is_dir()), key=lambda p: int(p.name.split("-")[1]))
    if not folders:
        raise FileNotFoundError(f"no LaSOT person-N folders under {root}")
    return folders


def load_lasot_track(folder, split: str = "train", rule: str = "frames") -> DiskTrack:
    """One sequence's frame files and boxes for ``split`` under the split ``rule`` (module docstring)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {sorted(SPLITS)}, got {split!r}")
    if rule not in SPLIT_RULES:
        raise ValueError(f"LaSOT split rule must be one of {SPLIT_RULES}, not {rule!r}")
    start, stop = SPLITS[split]
    folder = Path(folder)
    if rule == "valid_frames":
        return _valid_frames(folder, start, stop)
    boxes = read_otb_boxes(folder / "groundtruth.txt")[start:stop]  # LaSOT uses OTB's x,y,w,h lines
    absent = np.zeros(len(boxes), bool)
    for name in ("full_occlusion.txt", "out_of_view.txt"):
        flags = folder / name
        if flags.is_file():
            values = np.array(flags.read_text().replace(",", " ").split(), dtype=int)[start:stop]
            absent[: len(values)] |= values.astype(bool)
    files = sorted((folder / "img").glob("*.jpg"))[start:stop]
    if not files or len(files) < len(boxes):
        raise ValueError(f"{folder}: {len(files)} frames for {len(boxes)} boxes in split {split}")
    keep = ~absent & (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    return DiskTrack([f for f, k in zip(files, keep) if k], boxes[keep].astype(np.float32))


def _valid_frames(folder: Path, start: int, stop: int) -> DiskTrack:
    """The ``start``-th to ``stop``-th valid frames (area > 16, no negative corner) of a sequence."""
    boxes = read_otb_boxes(folder / "groundtruth.txt")
    files = sorted((folder / "img").glob("*.jpg"))
    if len(files) != len(boxes):
        raise ValueError(f"{folder}: {len(files)} frames for {len(boxes)} boxes")
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    valid = np.nonzero((area > 16) & (boxes[:, :2] >= 0).all(axis=1))[0][start:stop]
    return DiskTrack([files[i] for i in valid], boxes[valid].astype(np.float32))
