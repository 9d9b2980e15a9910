"""What a sweep keeps of each attack run besides its mIoU rows, for the report's pictures: ground-truth,
benign and adversarial boxes per frame at every checkpoint, and the texture at every checkpoint.

One compressed ``.npz`` per (model, step size, video, seed) cell in ``<results>.cells/``, written atomically
before the cell's rows, so every cell the results file counts as done has its record. Textures are stored
rounded to 8 bits (what a picture shows); boxes as float32.
"""

import hashlib
import re
import zipfile
from pathlib import Path
from typing import Optional

import numpy as np

from armory_siammtl.atomic import atomic_path
from armory_siammtl.attacks.runner import AttackRun

FIELDS = ("gt_boxes", "benign_boxes", "steps", "adversarial_boxes", "textures")


def cells_dir(results_path) -> Path:
    results_path = Path(results_path)
    return results_path.with_name(results_path.name + ".cells")


def cell_path(results_path, model: str, step_size, video: str, seed) -> Path:
    """``<results>.cells/<model>_d<step size>_<video>_s<seed>.npz`` (characters other than letters, digits,
    '.', '-' and '_' become '_')."""
    name = f"{model}_d{float(step_size):g}_{video}_s{seed}"
    return cells_dir(results_path) / (re.sub(r"[^A-Za-z0-9._-]", "_", name) + ".npz")


def save_cell(path, gt_boxes: np.ndarray, run: AttackRun) -> Path:
    """Write one cell's record atomically."""
    arrays = {
        "gt_boxes": np.asarray(gt_boxes, np.float32),
        "benign_boxes": np.asarray(run.benign_boxes, np.float32),
        "steps": np.array([c.steps for c in run.checkpoints], np.int64),
        "adversarial_boxes": np.stack([c.boxes for c in run.checkpoints]).astype(np.float32),
        "textures": np.stack([np.round(c.texture * 255) for c in run.checkpoints]).astype(np.uint8),
    }
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez_compressed(handle, **arrays)
    return Path(path)


def load_cell(path) -> Optional[dict]:
    """A cell's record (textures back in [0, 1], and ``texture_sha256``: each stored 8-bit texture's digest);
    None when the sweep kept none (results written before records existed)."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        with np.load(path) as data:
            record = {k: data[k] for k in FIELDS}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"sweep cell record {path} is unreadable: {exc}") from exc
    record["texture_sha256"] = [hashlib.sha256(texture.tobytes()).hexdigest() for texture in record["textures"]]
    record["textures"] = record["textures"].astype(np.float32) / 255.0
    return record
