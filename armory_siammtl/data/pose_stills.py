"""Real people in still images from other pose datasets (``../shared/data/keypoints-eval``, mmpose's test
samples), each in its own format, mapped to COCO's 17-keypoint order for keypoint evaluation.

The joints every format has are the 12 limb joints (shoulders, elbows, wrists, hips, knees, ankles); only
those are mapped. Formats whose annotation names its keypoints (COCO-style JSON: AIC, CrowdPose, ExLPose,
Human3.6M, Human-Art, JHMDB, LV-MHP, OCHuman, PoseTrack18) are mapped by name (Human3.6M calls the ankle
"foot"); MPII (its JSON lists joints in MPII's order) and MPI-INF-3DHP (an npz in mmpose's order) by their
published order. Boxes outside the image are clipped; a person without a box (MPII, MPI-INF-3DHP) gets the
extent of its labelled joints, widened by 15 % on each side. People with fewer than 4 labelled limb joints
are left out, and so is Halpe, whose annotations are of the four COCO images in ``coco-keypoints/`` that the
package trains on.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

from armory_siammtl.data.synthetic import KEYPOINT_NAMES

LIMBS = KEYPOINT_NAMES[5:]  # COCO's 12 limb joints, indices 5..16
ALIASES = {"foot": "ankle"}
MPII_ORDER = (
    "right_ankle",
    "right_knee",
    "right_hip",
    "left_hip",
    "left_knee",
    "left_ankle",
    "pelvis",
    "thorax",
    "upper_neck",
    "head_top",
    "right_wrist",
    "right_elbow",
    "right_shoulder",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
)
MPI_INF_3DHP_ORDER = (
    "head_top",
    "neck",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "right_hip",
    "right_knee",
    "right_ankle",
    "left_hip",
    "left_knee",
    "left_ankle",
    "root",
    "spine",
    "head",
)
IN_TRAINING = ("halpe",)  # its images are the COCO sample the package trains on
MIN_LIMB_JOINTS = 4
BOX_MARGIN = 0.15


@dataclass
class PosePerson:
    dataset: str
    image: Path
    box: np.ndarray  # (4,) x1 y1 x2 y2, inside the image
    keypoints: np.ndarray  # (17, 3) x, y, labelled (1) or not (0), COCO order; only the limb joints


def coco_index(name: str) -> Optional[int]:
    """COCO's index of a limb joint named ``name`` in any dataset's spelling ("Right Shoulder",
    "Right-ankle", "left_foot"); None for a joint that is not a limb joint."""
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    side, _, part = key.partition("_")
    part = ALIASES.get(part, part)
    joined = f"{side}_{part}"
    return KEYPOINT_NAMES.index(joined) if joined in LIMBS else None


def _person(dataset, image, size, keypoints, names, bbox=None) -> Optional[PosePerson]:
    """The limb joints of ``keypoints`` (K, 3) named ``names`` in COCO order, with a clipped box."""
    width, height = size
    coco = np.zeros((17, 3), np.float64)
    for (x, y, v), name in zip(np.asarray(keypoints, np.float64), names):
        index = coco_index(name)
        if index is not None and v > 0 and 0 <= x < width and 0 <= y < height:
            coco[index] = (x, y, 1.0)
    labelled = coco[:, 2] > 0
    if labelled.sum() < MIN_LIMB_JOINTS:
        return None
    if bbox is not None and bbox[2] > 0 and bbox[3] > 0:
        box = np.array([bbox[0], bbox[1], bbox[0] + bbox[2], bbox[1] + bbox[3]], np.float64)
    else:
        low, high = coco[labelled, :2].min(axis=0), coco[labelled, :2].max(axis=0)
        margin = BOX_MARGIN * (high - low)
        box = np.r_[low - margin, high + margin]
    box = np.clip(box, 0, [width, height, width, height])
    if box[2] - box[0] < 2 or box[3] - box[1] < 2:
        return None
    return PosePerson(dataset, image, box, coco)


def _find(folder: Path, file_name: str) -> Optional[Path]:
    """An image named in an annotation file: at its path, else the one file of that name in ``folder``."""
    direct = folder / file_name
    if direct.is_file():
        return direct
    found = [p for p in folder.rglob(Path(file_name).name) if p.is_file()]
    return found[0] if len(found) == 1 else None


def _image_size(path: Path) -> Tuple[int, int]:
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError(f"{path} is not a readable image")
    return image.shape[1], image.shape[0]


def _keep(person: Optional[PosePerson], people: List[PosePerson]) -> None:
    if person is not None:
        people.append(person)


def coco_style(folder: Path, annotation: Path) -> Tuple[List[PosePerson], int]:
    """The people of a COCO-style keypoint JSON (keypoint names from its first category), and how many of
    its people were left out (image absent, or too few labelled limb joints)."""
    data = json.loads(annotation.read_text())
    names = data["categories"][0]["keypoints"]
    images = {image["id"]: image for image in data["images"]}
    people, left_out = [], 0
    for ann in data["annotations"]:
        image = images.get(ann["image_id"])
        path = _find(folder, image["file_name"]) if image else None
        keypoints = np.asarray(ann.get("keypoints") or [], np.float64).reshape(-1, 3)[: len(names)]
        person = _person(folder.name, path, _image_size(path), keypoints, names, ann.get("bbox")) if path else None
        _keep(person, people)
        left_out += person is None
    return people, left_out


def mpii_style(folder: Path, annotation: Path) -> Tuple[List[PosePerson], int]:
    """MPII's JSON (a list of {image, joints, joints_vis, center, scale}) in MPII's joint order."""
    people, left_out = [], 0
    for entry in json.loads(annotation.read_text()):
        path = _find(folder, entry["image"])
        keypoints = np.c_[np.asarray(entry["joints"], np.float64), np.asarray(entry["joints_vis"], np.float64)]
        person = _person(folder.name, path, _image_size(path), keypoints, MPII_ORDER) if path else None
        _keep(person, people)
        left_out += person is None
    return people, left_out


def mpi_inf_3dhp(folder: Path) -> Tuple[List[PosePerson], int]:
    """MPI-INF-3DHP's npz files (``imgname``, 2D ``part`` (N, 17, 3)) in mmpose's joint order."""
    people, left_out = [], 0
    for npz in sorted(folder.glob("*.npz")):
        with np.load(npz) as data:
            for name, part in zip(data["imgname"], data["part"]):
                path = _find(folder, str(name))
                person = _person(folder.name, path, _image_size(path), part, MPI_INF_3DHP_ORDER) if path else None
                _keep(person, people)
                left_out += person is None
    return people, left_out


def pose_stills(root) -> Tuple[List[PosePerson], dict]:
    """Every usable person under ``root`` (one folder per dataset), and per dataset how many were left out
    (``IN_TRAINING`` datasets: all of them, said as such)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"no pose datasets folder at {root}")
    people, left_out = [], {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if folder.name in IN_TRAINING:
            left_out[folder.name] = "its images are in the package's training data"
            continue
        found, skipped = [], 0
        for annotation in sorted(folder.rglob("*.json")):
            if "trb" in annotation.name or "/val/" in annotation.as_posix():
                continue  # MPII-TRB's 40 points; PoseTrack's per-video copies of the same annotations
            data = json.loads(annotation.read_text())
            more, less = mpii_style(folder, annotation) if isinstance(data, list) else coco_style(folder, annotation)
            found, skipped = found + more, skipped + less
        if folder.name == "mpi_inf_3dhp":
            found, skipped = mpi_inf_3dhp(folder)
        people += found
        left_out[folder.name] = skipped
    if not people:
        raise ValueError(f"no person with {MIN_LIMB_JOINTS} or more labelled limb joints under {root}")
    return people, left_out
