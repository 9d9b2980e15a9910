"""LaSOT person sequences (``person-N/img/*.jpg``, ``groundtruth.txt``): frames 1-800 train, 801-900 val,
read from disk a frame at a time."""

from pathlib import Path

import numpy as np

from armory_siammtl.data.otb import read_otb_boxes
from armory_siammtl.data.track import DiskTrack

SPLITS = {"train": (0, 800), "val": (800, 900)}


def lasot_person_sequences(root):
    """Sorted ``person-N`` folders under ``root`` (the LaSOT ``person`` class folder or its parent)."""
    root = Path(root)
    base = root / "person" if (root / "person").is_dir() else root
    folders = sorted((p for p in base.glob("person-*") if p.is_dir()), key=lambda p: int(p.name.split("-")[1]))
    if not folders:
        raise FileNotFoundError(f"no LaSOT person-N folders under {root}")
    return folders


def load_lasot_track(folder, split: str = "train") -> DiskTrack:
    """One sequence's frame files and boxes for ``split``; frames with absent targets are dropped."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {sorted(SPLITS)}, got {split!r}")
    start, stop = SPLITS[split]
    folder = Path(folder)
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
