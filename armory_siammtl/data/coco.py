"""COCO person keypoints through pycocotools: each annotated person is a one-frame training track, so
template and search crops come from the same image with different shift/scale/colour jitter. Images are
read from disk when a pair is cut from them."""

from pathlib import Path

import numpy as np

from armory_siammtl.data.track import DiskTrack

# which annotated people a training run uses: the package's rule (at least 5 labelled keypoints, a box of at
# least 32x32 pixels), or the reference code's (prepare_coco: more than 5 labelled keypoints, a box of more
# than 16 square pixels with no negative corner)
SELECTIONS = {
    "package": lambda keypoints, box: keypoints >= 5 and box[2] * box[3] >= 32 * 32,
    "skelevision": lambda keypoints, box: keypoints > 5 and box[2] * box[3] > 16 and min(box[:2]) >= 0,
}


def coco_person_tracks(annotation_file, image_dir, max_people=None, selection: str = "package"):
    """One-frame ``DiskTrack``s (boxes (1, 4) x1y1x2y2, keypoints (1, 17, 3)) of the non-crowd people that
    ``selection`` (a key of ``SELECTIONS``) keeps."""
    if selection not in SELECTIONS:
        raise ValueError(f"COCO selection must be one of {sorted(SELECTIONS)}, not {selection!r}")
    keep = SELECTIONS[selection]
    from pycocotools.coco import COCO

    coco = COCO(str(annotation_file))
    person = coco.getCatIds(catNms=["person"])
    tracks = []
    for image_id in coco.getImgIds(catIds=person):
        info = coco.loadImgs(image_id)[0]
        anns = [
            a
            for a in coco.loadAnns(coco.getAnnIds(imgIds=image_id, catIds=person, iscrowd=False))
            if keep(a.get("num_keypoints", 0), a["bbox"])
        ]
        if not anns:
            continue
        path = Path(image_dir) / info["file_name"]
        if not path.is_file():
            raise FileNotFoundError(f"COCO image {path} is missing (image id {image_id})")
        for ann in anns:
            x, y, w, h = ann["bbox"]
            keypoints = np.asarray(ann["keypoints"], np.float32).reshape(17, 3)
            tracks.append(DiskTrack([path], np.array([[x, y, x + w, y + h]], np.float32), keypoints[None]))
            if max_people is not None and len(tracks) >= max_people:
                return tracks
    return tracks
