import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from armory_siammtl.data.coco import coco_person_tracks
from armory_siammtl.data.lasot import lasot_person_sequences, load_lasot_track
from armory_siammtl.data.otb import OTB_PERSON, load_otb_person, load_otb_sequence
from armory_siammtl.data.patch import digital_patch_metadata
from armory_siammtl.data.synthetic import KEYPOINT_NAMES, make_video
from helpers import write_coco_fixture, write_frames, write_lasot_fixture


@pytest.fixture(scope="module")
def scene():
    return make_video(7, num_frames=6, height=240, width=320)


def test_generator_is_deterministic_by_seed(scene):
    again = make_video(7, num_frames=6, height=240, width=320)
    for field in ("video", "boxes", "keypoints", "gs_coords", "patch_masks", "person_masks"):
        np.testing.assert_array_equal(getattr(scene, field), getattr(again, field))
    assert not np.array_equal(make_video(8, num_frames=6, height=240, width=320).video, scene.video)


def test_boxes_masks_and_keypoints_agree(scene):
    assert len(KEYPOINT_NAMES) == 17 and scene.keypoints.shape == (6, 17, 3)
    for t in range(6):
        x1, y1, x2, y2 = scene.boxes[t]
        visible = scene.keypoints[t][scene.keypoints[t, :, 2] > 0]
        assert ((visible[:, 0] >= x1) & (visible[:, 0] <= x2) & (visible[:, 1] >= y1) & (visible[:, 1] <= y2)).all()
        ys, xs = np.nonzero(scene.person_masks[t])
        assert xs.min() >= x1 and xs.max() < x2 and ys.min() >= y1 and ys.max() < y2
        assert not (scene.patch_masks[t].astype(bool) & scene.person_masks[t]).any(), "person covers the patch"
    assert scene.gs_coords.shape == (6, 4, 2) and scene.patch_masks.sum() > 0
    assert scene.boxes[-1][0] != scene.boxes[0][0], "the person walks"


READ_THROUGH_ARMORY = """
import sys, numpy as np
from armory_siammtl.data.export import write_tfds
from armory.data.adversarial_datasets import carla_video_tracking_dev
write_tfds(sys.argv[1], [3], num_frames=3)
x, (y, meta) = next(carla_video_tracking_dev(dataset_dir=sys.argv[1]))
np.savez(sys.argv[1] + '/loaded.npz', x=x, boxes=y[0]['boxes'], gs=meta['gs_coords'], masks=meta['masks'])
"""


def test_tfds_export_loads_through_armorys_pipeline(tmp_path):
    # TensorFlow's data pipeline and torch training do not share a process safely: run it apart
    done = subprocess.run(
        [sys.executable, "-c", READ_THROUGH_ARMORY, str(tmp_path)], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = np.load(tmp_path / "loaded.npz")
    reference = make_video(3, num_frames=3, height=960, width=1280)
    assert loaded["x"].shape == (1, 3, 960, 1280, 3) and loaded["x"].dtype == np.float32
    np.testing.assert_allclose(loaded["x"][0], reference.video / 255.0, atol=1e-6)
    np.testing.assert_array_equal(loaded["boxes"], np.round(reference.boxes))
    np.testing.assert_array_equal(loaded["gs"], reference.gs_coords)
    np.testing.assert_array_equal(loaded["masks"][..., 0], reference.patch_masks)


def test_otb_reader_handles_both_delimiters_and_two_targets(tmp_path):
    write_frames(tmp_path / "Jogging" / "img", 4)
    (tmp_path / "Jogging" / "groundtruth_rect.1.txt").write_text("10,12,20,30\n" * 4)
    (tmp_path / "Jogging" / "groundtruth_rect.2.txt").write_text("5\t6\t7\t8\n" * 4)
    videos = load_otb_sequence(tmp_path, "Jogging", max_frames=3)
    assert [v[0] for v in videos] == ["Jogging-1", "Jogging-2"]
    assert videos[0][1].shape == (3, 60, 80, 3)
    np.testing.assert_array_equal(videos[0][2][0], [10, 12, 30, 42])
    np.testing.assert_array_equal(videos[1][2][0], [5, 6, 12, 14])
    assert len(OTB_PERSON) == 36  # + the second targets of Jogging and Skating2 = 38 videos
    with pytest.raises(FileNotFoundError, match="Basketball"):
        load_otb_person(tmp_path)


def test_digital_patch_follows_the_paper():
    boxes = np.array([[100, 100, 140, 180]] * 3)
    meta = digital_patch_metadata((300, 400), boxes)
    np.testing.assert_array_equal(meta["gs_coords"], [[40, 30], [360, 30], [360, 270], [40, 270]])
    masks = meta["masks"]
    assert masks[0].sum() == 0, "first frame clean"
    assert masks[1, 30:270, 40:360].mean() > 0.8 and masks[1, :30].sum() == 0 and masks[1, :, :40].sum() == 0
    assert masks[1, 75:206, 75:166].sum() == 0 and masks[1, 74, 120] == 1  # box + 25 px uncovered


def test_lasot_reader_splits_and_drops_absent_frames(tmp_path):
    seq = write_lasot_fixture(tmp_path)
    (tmp_path / "person" / "person-12").mkdir()
    assert [p.name for p in lasot_person_sequences(tmp_path)] == ["person-3", "person-12"]
    track = load_lasot_track(seq, "train")
    assert len(track) == 5 and all(Path(f).is_file() for f in track.files)  # frame files, read when cut
    video = track.video()
    assert video.shape == (5, 60, 80, 3) and video.dtype == np.uint8
    np.testing.assert_array_equal(track.frame(4), video[4])
    Path(track.files[1]).write_bytes(b"not a jpeg")  # a damaged frame is named when a pair reads it
    with pytest.raises(ValueError, match=Path(track.files[1]).name):
        track.frame(1)
    np.testing.assert_array_equal(track.boxes[2], [3, 3, 13, 23])


def test_coco_reader_keeps_people_with_keypoints(tmp_path):
    annotations = write_coco_fixture(tmp_path)
    tracks = coco_person_tracks(annotations, tmp_path / "images")
    assert len(tracks) == 1
    np.testing.assert_array_equal(tracks[0].boxes[0], [40, 30, 90, 100])
    assert tracks[0].keypoints.shape == (1, 17, 3) and tracks[0].keypoints[0, 12, 2] == 0


def test_otb_as_an_armory_dataset_gives_carlas_batch_structure(tmp_path):
    from armory.data.datasets import ArmoryDataGenerator

    from armory_siammtl.armory.otb_dataset import otb2015_person
    from armory_siammtl.data.patch import check_patch_metadata

    write_frames(tmp_path / "Jogging" / "img", 5, size=(120, 160))
    (tmp_path / "Jogging" / "groundtruth_rect.1.txt").write_text("60,40,20,40\n" * 5)
    (tmp_path / "Jogging" / "groundtruth_rect.2.txt").write_text("")  # an empty second target is skipped
    dataset = otb2015_person(dataset_dir=str(tmp_path), sequences="all", max_frames=4)
    assert isinstance(dataset, ArmoryDataGenerator) and dataset.batches_per_epoch == 1
    x, (y, metadata) = next(dataset)
    assert x.shape == (1, 4, 120, 160, 3) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    np.testing.assert_array_equal(y[0]["boxes"][0], [60, 40, 80, 80])
    coords, masks = check_patch_metadata(metadata, x.shape[1:])
    assert masks[0].sum() == 0 and masks[1:].sum() > 0 and masks[1, 60, 70] == 0  # clean frame 1, person uncovered
    with pytest.raises(FileNotFoundError, match="Basketball"):
        otb2015_person(dataset_dir=str(tmp_path))


def test_otb_attack_videos_list_ids_first_and_load_lazily(tmp_path):
    from armory_siammtl.data.attack_videos import attack_videos

    for name in OTB_PERSON:
        write_frames(tmp_path / name / "img", 3, size=(90, 120))
        (tmp_path / name / "groundtruth_rect.txt").write_text("30,20,20,40\n" * 3)
    (tmp_path / "Jogging" / "groundtruth_rect.txt").rename(tmp_path / "Jogging" / "groundtruth_rect.1.txt")
    (tmp_path / "Jogging" / "groundtruth_rect.2.txt").write_text("60,30,20,40\n" * 3)
    ids, videos = attack_videos({"kind": "otb", "root": str(tmp_path), "frames": 2})
    assert len(ids) == 37 and ids[:2] == ["Basketball", "BlurBody"] and "Jogging-2" in ids
    first = next(videos)
    assert first.video_id == "Basketball" and first.frames.shape == (2, 90, 120, 3)
    assert first.patch_metadata["masks"][0].sum() == 0 and first.patch_metadata["masks"][1].sum() > 0
    assert [v.video_id for v in videos] == ids[1:]


def test_otb_attack_videos_take_sequence_folders_and_roots_alike(tmp_path):
    from armory_siammtl.data.attack_videos import attack_videos

    for name in ("Crossing", "Human7"):
        write_frames(tmp_path / "root" / name / "img", 3, size=(90, 120))
        (tmp_path / "root" / name / "groundtruth_rect.txt").write_text("30,20,20,40\n" * 3)
    by_root, _ = attack_videos({"kind": "otb", "root": str(tmp_path / "root"), "frames": 2, "sequences": "all"})
    one = [str(tmp_path / "root" / "Human7")]
    by_folder, videos = attack_videos({"kind": "otb", "root": one, "frames": 2, "sequences": "all"})
    assert by_root == ["Crossing", "Human7"] and by_folder == ["Human7"]
    assert next(videos).frames.shape == (2, 90, 120, 3)


def test_otb_training_folders_validate_on_their_last_fifth_or_whole_when_held_out(tmp_path):
    from armory_siammtl.data.splits import training_tracks

    for name, frames in (("Walker", 10), ("Rider", 5)):
        write_frames(tmp_path / "train" / name / "img", frames)
        (tmp_path / "train" / name / "groundtruth_rect.txt").write_text("10,12,20,30\n" * frames)
    common = dict(videos=1, val_videos=1, frames=3, height=60, width=80, otb_train=[str(tmp_path / "train")])
    train, val = training_tracks(**common, log=lambda *_: None)
    assert sorted(len(t) for t in train) == [4, 8] and sorted(len(t) for t in val) == [1, 2]
    assert not {f for t in train for f in t.files} & {f for t in val for f in t.files}
    train, val = training_tracks(**common, otb_held_out=["Rider"], log=lambda *_: None)
    assert [len(t) for t in train] == [8] and "Walker" in str(train[0].files[0])
    assert sorted(len(t) for t in val) == [2, 5]  # Rider whole, Walker's last fifth
    with pytest.raises(ValueError, match=r"\['Runner'\] are in none of the --otb-train roots"):
        training_tracks(**common, otb_held_out=["Runner"], log=lambda *_: None)
    one = dict(common, otb_train=[str(tmp_path / "train" / "Walker")])  # a sequence folder as the root
    train, val = training_tracks(**one, log=lambda *_: None)
    assert [len(t) for t in train] == [8] and [len(t) for t in val] == [2]
