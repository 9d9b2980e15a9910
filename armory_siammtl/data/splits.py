"""Which procedural videos serve which purpose (seed ranges kept apart), and the training/validation tracks
a training run uses: COCO persons and LaSOT person videos when given, else the procedural scene."""

from typing import List, Optional, Tuple

from armory_siammtl.data.track import Track

TRAIN_SEED = 0  # training videos: seeds TRAIN_SEED, TRAIN_SEED + 1, ...
VALIDATION_SEED_OFFSET = 100_000  # validation videos: the training seed + this offset, onwards
EMBEDDED_SEED = 500_000  # the embedded default dataset (`armory-siammtl setup`, make-data, benchmarks)
HELD_OUT_SEED = 900_000  # held-out evaluation videos (keypoint accuracy, sweeps)


def procedural_split(first_seed: int, videos: int, frames: int, height: int, width: int) -> List[Track]:
    from armory_siammtl.data.synthetic import synthetic_tracks

    return synthetic_tracks(range(first_seed, first_seed + videos), frames, height, width)


def training_tracks(videos: int, val_videos: int, frames: int, height: int, width: int, seed: int = TRAIN_SEED,
                    coco_annotations: Optional[str] = None, coco_images: Optional[str] = None,
                    coco_max: Optional[int] = None, lasot: Optional[str] = None,
                    lasot_max: Optional[int] = None, log=print) -> Tuple[List[Track], List[Track]]:
    """(train, val) tracks. Real sources (COCO persons, LaSOT persons with frames 801-900 as validation)
    replace the procedural training videos; validation falls back to procedural videos."""
    if coco_annotations and not coco_images:
        raise ValueError("--coco-annotations needs --coco-images, the folder of the COCO images")
    train, val = [], []
    if coco_annotations:
        from armory_siammtl.data.coco import coco_person_tracks

        train += coco_person_tracks(coco_annotations, coco_images, max_people=coco_max)
    if lasot:
        from armory_siammtl.data.lasot import SPLITS, lasot_person_sequences, load_lasot_track

        folders = lasot_person_sequences(lasot)[:lasot_max]
        train += [load_lasot_track(f, "train") for f in folders]
        long_enough = [f for f in folders if len(list((f / "img").glob("*.jpg"))) > SPLITS["val"][0]]
        val += [load_lasot_track(f, "val") for f in long_enough[:val_videos]]
    if train:
        log(f"{len(train)} real training tracks, {len(val)} LaSOT validation tracks")
    else:
        log(f"rendering {videos} training and {val_videos} validation videos ...")
        train = procedural_split(seed, videos, frames, height, width)
    if not val:
        val = procedural_split(VALIDATION_SEED_OFFSET + seed, val_videos, frames, height, width)
    return train, val
