"""Keypoint evaluation on real people of other pose datasets: each format mapped to COCO's order."""

import json

import cv2
import numpy as np
import pytest

from armory_siammtl.data.pose_stills import coco_index, coco_style, pose_stills
from helpers import SHARED

POSE_ROOT = SHARED / "data" / "keypoints-eval"


def test_joint_names_of_every_spelling_map_to_cocos_limb_joints():
    assert coco_index("Right Shoulder") == 6 and coco_index("Right-ankle") == 16 and coco_index("left_wrist") == 9
    assert coco_index("left_foot") == 15  # Human3.6M's name for the ankle
    assert coco_index("neck") is None and coco_index("root (pelvis)") is None and coco_index("nose") is None


def test_a_format_is_mapped_by_the_names_it_declares(tmp_path):
    folder = tmp_path / "toy"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.jpg"), np.zeros((100, 80, 3), np.uint8))
    names = ["neck", "right_shoulder", "left_shoulder", "right_hip", "left_hip", "right_knee", "left_knee"]
    points = [[40, 20, 2], [30, 25, 2], [50, 25, 2], [33, 55, 1], [47, 55, 2], [33, 75, 2], [47, 75, 0]]
    annotation = folder / "toy.json"
    annotation.write_text(
        json.dumps(
            {
                "categories": [{"keypoints": names}],
                "images": [{"id": 1, "file_name": "a.jpg"}],
                "annotations": [
                    {"image_id": 1, "bbox": [20, 10, 50, 120], "keypoints": sum(points, [])},  # box leaves the image
                    {"image_id": 1, "bbox": [0, 0, 10, 10], "keypoints": [0] * 21},
                ],
            }
        )
    )
    people, left_out = coco_style(folder, annotation)
    assert left_out == 1 and len(people) == 1  # the second has no labelled joint
    person = people[0]
    np.testing.assert_array_equal(person.box, [20, 10, 70, 100])  # clipped to the 80x100 image
    assert person.keypoints[6].tolist() == [30, 25, 1] and person.keypoints[5].tolist() == [50, 25, 1]
    assert person.keypoints[14].tolist() == [33, 75, 1] and person.keypoints[13, 2] == 0  # unlabelled stays out
    assert person.keypoints[:5, 2].sum() == 0  # only limb joints


def test_the_shared_pose_datasets_load_and_evaluate():
    if not POSE_ROOT.is_dir():
        pytest.skip(f"{POSE_ROOT} is absent (a fresh clone has no ../shared/)")
    from armory_siammtl.evaluation.keypoints import pose_dataset_accuracy
    from armory_siammtl.models import ModelVariant, load_model
    from armory_siammtl.models.manifest import SHIPPED_WEIGHTS

    people, left_out = pose_stills(POSE_ROOT)
    assert len({p.dataset for p in people}) == 11 and "halpe" not in {p.dataset for p in people}
    assert "training data" in left_out["halpe"]
    for person in people:  # inside the image, enough labelled limb joints
        x1, y1, x2, y2 = person.box
        assert 0 <= x1 < x2 and 0 <= y1 < y2 and (person.keypoints[5:, 2] > 0).sum() >= 4
    model = load_model(ModelVariant(0.2, "shallow", weights=SHIPPED_WEIGHTS / "siamrpn_alex_mtl_l02.pth"))
    result = pose_dataset_accuracy(model, POSE_ROOT)
    assert result["overall"]["people"] == len(people) == sum(r["people"] for r in result["per_dataset"].values())
    for row in (result["overall"], *result["per_dataset"].values()):
        for kind in ("head", "mean_position_prior", "uniform_chance"):
            assert 0 <= row[kind]["pck"] <= 100 and row[kind]["pixel_error"] >= 0
    assert result["overall"]["mean_position_prior"]["pck"] > result["overall"]["uniform_chance"]["pck"]
