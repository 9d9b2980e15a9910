"""Procedural videos on disk: frame folders, and ARMORY's ``carla_video_tracking_dev`` 2.0.0 TFDS format."""

import json
import shutil
import tempfile
from pathlib import Path

import cv2
import numpy as np

from armory_siammtl.data.synthetic import make_video

TFDS_NAME, TFDS_VERSION = "carla_video_tracking_dev", "2.0.0"
CARLA_SIZE = (960, 1280)


def write_carla_folder(video_dir, scene) -> None:
    """One video in the raw layout ARMORY's builder reads: NNNN.png frames, NNNN_mask.png patch masks
    (white where the patch is visible), gt_boxes.npy and gs_coords.npy."""
    video_dir = Path(video_dir)
    video_dir.mkdir(parents=True, exist_ok=True)
    for t, frame in enumerate(scene.video):
        cv2.imwrite(str(video_dir / f"{t:04d}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(video_dir / f"{t:04d}_mask.png"), np.repeat(scene.patch_masks[t][..., None] * 255, 3, -1))
    np.save(video_dir / "gt_boxes.npy", np.round(scene.boxes).astype(np.int64))
    np.save(video_dir / "gs_coords.npy", scene.gs_coords.astype(np.int64))


def write_frame_folders(out_dir, seeds, num_frames=30, height=960, width=1280) -> Path:
    """Each seed as a folder of frames plus boxes, keypoints, person masks and patch metadata (.npy)."""
    out_dir = Path(out_dir)
    for seed in seeds:
        scene = make_video(int(seed), num_frames, height, width)
        video_dir = out_dir / f"scene_{seed:06d}"
        write_carla_folder(video_dir, scene)
        np.save(video_dir / "keypoints.npy", scene.keypoints)
        np.save(video_dir / "person_masks.npy", scene.person_masks)
    return out_dir


def write_tfds(data_dir, seeds, num_frames=30) -> Path:
    """Build ``carla_video_tracking_dev:2.0.0`` under ``data_dir`` from procedural videos at 960x1280,
    through ARMORY's own TFDS builder, so ARMORY's loader reads it like the real dataset."""
    from armory.data.adversarial.carla_video_tracking_dev import CarlaVideoTrackingDev

    raw = Path(tempfile.mkdtemp(prefix="siammtl_carla_raw_"))
    try:
        for index, seed in enumerate(seeds):
            write_carla_folder(raw / "dev" / f"video_{index:03d}", make_video(int(seed), num_frames, *CARLA_SIZE))

        class EmbeddedCarlaVideoTrackingDev(CarlaVideoTrackingDev, skip_registration=True):
            name = TFDS_NAME

            def _split_generators(self, dl_manager):
                import tensorflow_datasets as tfds

                return [tfds.core.SplitGenerator(name="dev", gen_kwargs={"path": str(raw / "dev")})]

        builder = EmbeddedCarlaVideoTrackingDev(data_dir=str(data_dir))
        builder.download_and_prepare()
        marker = Path(data_dir) / TFDS_NAME / TFDS_VERSION / "SIAMMTL_EMBEDDED.json"
        marker.write_text(
            json.dumps(
                {"source": "armory-siammtl procedural scene", "seeds": [int(s) for s in seeds], "frames": num_frames}
            )
        )
    finally:
        shutil.rmtree(raw, ignore_errors=True)
    return Path(data_dir) / TFDS_NAME / TFDS_VERSION
