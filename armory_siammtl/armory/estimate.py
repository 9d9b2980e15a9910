"""How long a scenario will take on this machine, measured before it runs: one timed attack-style step
(tracking forward and backward to the pixels) and one benign pass on a few frames of the scenario's frame
size, scaled by its videos, frames, attack steps and checkpoints."""

import json
import time
from pathlib import Path

import numpy as np

from armory_siammtl.armory.embedded_dataset import CARLA_SIZE
from armory_siammtl.data.synthetic import make_video

SAMPLE_FRAMES = 4


def _timed(call) -> float:
    call()  # warm-up
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def per_frame_seconds(estimator, height: int, width: int) -> tuple:
    """(attack step, benign pass) seconds per frame of ``estimator`` on frames of ``height`` x ``width``:
    a loss gradient to the pixels and a tracking pass over a few procedural frames, each timed after a
    warm-up."""
    scene = make_video(0, SAMPLE_FRAMES, height, width)
    x = (scene.video / 255.0).astype(np.float32)[None]
    y = [{"boxes": scene.boxes.astype(np.float32)}]
    step = _timed(lambda: estimator.loss_gradient(x, y)) / SAMPLE_FRAMES
    forward = _timed(lambda: estimator.predict(x, y_init=y[0]["boxes"][:1])) / SAMPLE_FRAMES
    return step, forward


def estimate(scenario_path, weights_dir) -> dict:
    """{"videos", "frames", "steps", "step_seconds_per_frame", "forward_seconds_per_frame", "minutes"} for a
    scenario on the embedded set (its videos and frames are in the scenario); for other datasets the
    videos and frames are unknown here and the estimate is per video of 30 frames."""
    from armory_siammtl.armory.factories import get_art_model

    config = json.loads(Path(scenario_path).read_text())
    dataset, attack = config["dataset"], config["attack"]["kwargs"]
    embedded = dataset.get("name") == "siammtl_embedded_tracking"
    videos, frames = (dataset.get("videos", 3), dataset.get("frames", 30)) if embedded else (1, 30)
    height, width = (
        (dataset.get("height", CARLA_SIZE[0]), dataset.get("width", CARLA_SIZE[1])) if embedded else CARLA_SIZE
    )
    steps, checkpoints = int(attack.get("max_iter", 1)), len(attack.get("checkpoints", [])) or 1
    model = config["model"]
    estimator = get_art_model(
        model["model_kwargs"],
        {**model["wrapper_kwargs"], "device_type": "cpu"},
        str(Path(weights_dir) / model["weights_file"]),
    )
    step, forward = per_frame_seconds(estimator, height, width)
    seconds = videos * frames * (steps * step + (checkpoints + 2) * forward)  # + benign and attacked passes
    return {
        "videos": videos,
        "frames": frames,
        "steps": steps,
        "embedded": embedded,
        "step_seconds_per_frame": step,
        "forward_seconds_per_frame": forward,
        "minutes": seconds / 60,
    }
