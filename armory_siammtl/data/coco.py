"""COCO person keypoints through pycocotools: each annotated person is a one-frame training track, so
template and search crops come from the same image with different shift/scale/colour jitter. Images are
read from disk when a pair is cut from them."""

from pathlib import Path

import numpy as np

from armory_siammtl.data.track import DiskTrack

MIN_KEYPOINTS, MIN_AREA = 5, 32 * 32


def coco_person_tracks(annotation_file, image_dir, max_people=None, min_keypoints: int = MIN_KEYPOINTS):
    """One-frame ``DiskTrack``s (boxes (1, 4) x1y1x2y2, keypoints (1, 17, 3)) for visible people."""
    from pycocotools.coco import COCO

    coco = COCO(str(annotation_file))
    person = coco.getCatIds(catNms=["person"])
    tracks = []
    for image_id in coco.getImgIds(catIds=person):
        info = coco.loadImgs(image_id)[0]
        anns = [a for a in coco.loadAnns(coco.getAnnIds(imgIds=image_id, catIds=person, iscrowd=False))
                if a.get("num_keypoints", 0) >= min_keypoints and a["bbox"][2] * a["bbox"][3] >= MIN_AREA]
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
