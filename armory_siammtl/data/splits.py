"""Which procedural videos serve which purpose (seed ranges kept apart), and the training/validation tracks
a training run uses: COCO persons, LaSOT person videos and OTB-layout folders when given, else (or as well,
``with_procedural``) the procedural scene."""

import re
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from armory_siammtl.data.track import Track

TRAIN_SEED = 0  # training videos: seeds TRAIN_SEED, TRAIN_SEED + 1, ...
VALIDATION_SEED_OFFSET = 100_000  # validation videos: the training seed + this offset, onwards
EMBEDDED_SEED = 500_000  # the embedded default dataset (`armory-siammtl setup`, make-data, benchmarks)
HELD_OUT_SEED = 900_000  # held-out evaluation videos (keypoint accuracy, sweeps)
OTB_VALIDATION_FRACTION = 0.2  # the last fifth of each OTB-layout training sequence validates


# The real person videos this package evaluates on (``../shared/data/otb-person`` and ``uav123``) and the
# folders that hold them; OTB2015-Person sequences are evaluation videos too (the paper's Table 2), except the
# three the package trains on (``../shared/data/train-person``), which a full OTB2015-Person evaluation flags
EVALUATION_ROOTS = ("otb-person", "uav123")
OTB_PERSON_TRAINING = ("Jogging", "Subway", "Woman")
UAV_EVALUATION = ("group1_1",)


def refuse_evaluation_videos(path: Path) -> None:
    """Raise when ``path`` is, or lies in, a real person-tracking video this package reports on: an
    OTB2015-Person sequence (other than ``OTB_PERSON_TRAINING``), a UAV123 ``personN`` or ``group1_1``, or
    anything under a folder named like an evaluation root (``EVALUATION_ROOTS``). Those are for evaluation
    only, never for training, validation or tuning."""
    from armory_siammtl.data.otb import OTB_PERSON

    for part in Path(path).resolve().parts:
        evaluation = (
            (part in OTB_PERSON and part not in OTB_PERSON_TRAINING)
            or part in UAV_EVALUATION
            or part in EVALUATION_ROOTS
            or re.fullmatch(r"person\d+", part)
        )
        if evaluation:
            raise ValueError(
                f"{path} is (in) a person-tracking evaluation video ({part}); this package never "
                "trains or selects models on its evaluation videos"
            )


def backdrop_files(paths: Sequence[str]) -> List[Path]:
    """The image files (jpg, png) in ``paths`` (files or folders, searched recursively), sorted."""
    from armory_siammtl.data.video import FRAME_SUFFIXES

    files = []
    for path in map(Path, paths):
        refuse_evaluation_videos(path)
        found = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.suffix.lower() in FRAME_SUFFIXES)
        if not found:
            raise FileNotFoundError(f"no backdrop images (jpg, png) at {path}")
        files += found
    return files


def otb_layout_tracks(root, held_out: Sequence[str] = ()) -> Tuple[list, list]:
    """(train, val) ``DiskTrack``s of every sequence folder at ``root`` (``root`` itself when it is one, see
    ``sequence_folders_in``): the first 80% of each target's frames train, the last 20% validate; the
    sequences named in ``held_out`` validate whole and never train (a validation on people and scenes the run
    never saw)."""
    from armory_siammtl.data.otb import otb_disk_tracks, sequence_folders_in

    folders = sequence_folders_in(root)
    if not folders:
        raise FileNotFoundError(f"no OTB-layout sequence folders (NAME/img/ + groundtruth_rect.txt) under {root}")
    train, val = [], []
    for folder in folders:
        refuse_evaluation_videos(folder)
        for track in otb_disk_tracks(folder):
            if folder.name in held_out:
                val.append(track)
                continue
            cut = int(round(len(track) * (1 - OTB_VALIDATION_FRACTION)))
            train.append(type(track)(track.files[:cut], track.boxes[:cut]))
            val.append(type(track)(track.files[cut:], track.boxes[cut:]))
    return train, val


def procedural_split(
    first_seed: int,
    videos: int,
    frames: int,
    height: int,
    width: int,
    backdrops: Sequence[Path] = (),
    distractors: float = 0.0,
) -> List[Track]:
    from armory_siammtl.data.synthetic import synthetic_tracks

    return synthetic_tracks(
        range(first_seed, first_seed + videos), frames, height, width, backdrops, distractors=distractors
    )


def training_tracks(
    videos: int,
    val_videos: int,
    frames: int,
    height: int,
    width: int,
    seed: int = TRAIN_SEED,
    coco_annotations: Optional[str] = None,
    coco_images: Optional[str] = None,
    coco_max: Optional[int] = None,
    lasot: Optional[str] = None,
    lasot_max: Optional[int] = None,
    otb_train: Sequence[str] = (),
    with_procedural: bool = False,
    backdrops: Sequence[str] = (),
    distractors: float = 0.0,
    log=print,
    recipe: str = "package",
    coco_val_annotations: Optional[str] = None,
    coco_val_images: Optional[str] = None,
    otb_held_out: Sequence[str] = (),
) -> Tuple[list, list]:
    """(train, val) tracks. Real sources (COCO persons; LaSOT persons with frames 801-900 of ``val_videos``
    of them as validation; OTB-layout folders under each ``otb_train`` root, the last 20% of every target
    validating, or the whole of each sequence named in ``otb_held_out``) replace the procedural videos
    unless ``with_procedural`` (then ``val_videos`` procedural videos validate as well); validation falls
    back to procedural videos. Every validation track of two or
    more frames is tracked whole when a run validates. ``backdrops``: image files or folders; half the
    procedural training videos walk in front of one of them, and a ``distractors`` fraction of them have a
    second walker (validation ones never either). ``recipe="skelevision"`` selects as the reference code did:
    its COCO filter, LaSOT's first 800 valid frames for training and the next 100 of *every* sequence for
    validation, and the people of ``coco_val_annotations`` (COCO val2017) as validation too."""
    if coco_annotations and not coco_images or coco_val_annotations and not coco_val_images:
        raise ValueError("COCO annotations need their image folder (--coco-images, --coco-val-images)")
    reference = recipe == "skelevision"
    train, val = [], []
    if coco_annotations:
        from armory_siammtl.data.coco import coco_person_tracks

        train += coco_person_tracks(coco_annotations, coco_images, max_people=coco_max, selection=recipe)
        if coco_val_annotations:
            val += coco_person_tracks(coco_val_annotations, coco_val_images, selection=recipe)
    if lasot:
        from armory_siammtl.data.lasot import SPLITS, lasot_person_sequences, load_lasot_track

        rule = "valid_frames" if reference else "frames"
        folders = lasot_person_sequences(lasot)[:lasot_max]
        train += [load_lasot_track(f, "train", rule) for f in folders]
        long_enough = [f for f in folders if len(list((f / "img").glob("*.jpg"))) > SPLITS["val"][0]]
        val += [
            track
            for f in (long_enough if reference else long_enough[:val_videos])
            if len(track := load_lasot_track(f, "val", rule))
        ]
    from armory_siammtl.data.otb import sequence_folders_in

    sequences = {folder.name for root in otb_train for folder in sequence_folders_in(root)}
    unknown = set(otb_held_out) - sequences
    if unknown:
        raise ValueError(f"held-out validation sequences {sorted(unknown)} are in none of the --otb-train roots")
    for root in otb_train:
        more_train, more_val = otb_layout_tracks(root, otb_held_out)
        train += more_train
        val += more_val
    if train:
        log(f"{len(train)} real training tracks, {len(val)} real validation tracks")
    if with_procedural or not train:
        log(f"rendering {videos} training and {val_videos} validation videos ...")
        train += procedural_split(seed, videos, frames, height, width, backdrop_files(backdrops), distractors)
        val += procedural_split(VALIDATION_SEED_OFFSET + seed, val_videos, frames, height, width)
    if not val:
        val = procedural_split(VALIDATION_SEED_OFFSET + seed, val_videos, frames, height, width)
    return train, val
