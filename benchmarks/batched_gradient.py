"""The tracker's batched gradient mode against the sequential one (``SiamRPNTracker.gradient_mode``).

    .venv/bin/python benchmarks/batched_gradient.py [--lengths 10 50 100] [--videos 2] [--steps 20] [--tables 1 2 3]

Three tables, all with the shipped STL weights on procedural videos of 960x1280 (embedded-default seeds):
1. cost: one attack step (texture pasted into crop windows, track, L1 box loss, gradient to the texture)
   over 10/50/100 frames, each mode in a fresh process (``attack_step_scaling.measure``), reference tracker
   (287, its whole-pixel crops);
2. agreement: cosine similarity (float64) of the two modes' texture gradients on 30-frame videos, grey and
   random textures, for the reference tracker's whole-pixel crops and the package's sub-pixel crops;
3. attack effect: the reference attack (whole video, sign of the summed gradients, rectangle region,
   frame 0 patched) run with each mode; adversarial mIoU x100 at its checkpoints.
"""

import argparse
import time

import numpy as np
import pandas as pd
import torch
from attack_step_scaling import WEIGHTS, measure_in_child, tracking_setting

from armory_siammtl.attacks import AdversarialTexture
from armory_siammtl.attacks.compositing import PatchedVideo, prepare_frames
from armory_siammtl.data.splits import EMBEDDED_SEED
from armory_siammtl.data.synthetic import make_video
from armory_siammtl.estimators import build_estimator
from armory_siammtl.models import ModelVariant
from armory_siammtl.tracking.objective import box_l1

MODES = ("sequential", "batched")
CROPS = {"skelevision (reference, 287)": True, "subpixel (package, 255)": False}


def cost_table(lengths) -> pd.DataFrame:
    rows = []
    for length in lengths:
        runs = {mode: measure_in_child(length, "skelevision", "windows", True, mode) for mode in MODES}
        rows.append(
            {
                "frames": length,
                **{f"{mode} step s": r["step"] for mode, r in runs.items()},
                "no-grad s": runs["sequential"]["forward"],
                "batched / sequential": runs["batched"]["step"] / runs["sequential"]["step"],
                **{f"{mode} peak GiB": r["peak_gib"] for mode, r in runs.items()},
            }
        )
    return pd.DataFrame(rows).set_index("frames")


def _texture_gradient(estimator, video, prepared, texture, target, first) -> torch.Tensor:
    leaf = texture.clone().requires_grad_(True)
    boxes = estimator.track_frames(PatchedVideo(video, leaf, prepared), first)
    return torch.autograd.grad(box_l1(boxes, target), leaf)[0].double().flatten()


def _scene(index: int, frames: int):
    scene = make_video(EMBEDDED_SEED + index, frames, 960, 1280)
    video = torch.from_numpy(scene.video).float().div_(255)
    extent = np.ceil(scene.gs_coords.max(axis=1) - scene.gs_coords.min(axis=1)).max(axis=0).astype(int)
    return scene, video, (int(extent[1]), int(extent[0]))


def _cases(videos: int, frames: int):
    """(crops label, reference tracker?, estimator, video index, scene, float video, texture size) per case."""
    for crop, reference in CROPS.items():
        estimator = build_estimator(
            ModelVariant(weights=WEIGHTS), tracking_setting("subpixel", reference), device_type="cpu"
        )
        for index in range(videos):
            yield (crop, reference, estimator, index, *_scene(index, frames))


def agreement_table(videos: int, frames: int) -> pd.DataFrame:
    rows = []
    for crop, reference, estimator, index, scene, video, texture_hw in _cases(videos, frames):
        prepared = prepare_frames(
            video, scene.gs_coords, scene.patch_masks, texture_hw, None, not reference, "rectangle"
        )
        target, first = torch.from_numpy(scene.boxes).float(), scene.boxes[0].astype(np.float64)
        textures = {
            "grey": torch.full((*texture_hw, 3), 0.5),
            "random": torch.from_numpy(np.random.default_rng(index).uniform(0, 1, (*texture_hw, 3))).float(),
        }
        for name, texture in textures.items():
            grads = {}
            for mode in MODES:
                estimator.set_params(gradient_mode=mode)
                grads[mode] = _texture_gradient(estimator, video, prepared, texture, target, first)
            a, b = grads["sequential"], grads["batched"]
            rows.append(
                {
                    "crops": crop,
                    "video": index,
                    "texture": name,
                    "cosine": float(torch.nn.functional.cosine_similarity(a, b, dim=0)),
                    "sign agreement": float((a.sign() == b.sign()).double().mean()),
                    "max |diff| / max |seq|": float((a - b).abs().max() / a.abs().max()),
                }
            )
    return pd.DataFrame(rows).set_index(["crops", "video", "texture"])


def attack_table(videos: int, frames: int, steps: int) -> pd.DataFrame:
    checkpoints = sorted({0, steps // 4, steps // 2, steps})
    rows = []
    for crop, reference, estimator, index, scene, _, _ in _cases(videos, frames):
        x = (scene.video.astype(np.float32) / 255)[None]
        for mode in MODES:
            estimator.set_params(gradient_mode=mode)
            attack = AdversarialTexture(
                estimator,
                step_size=0.1,
                max_iter=steps,
                checkpoints=checkpoints,
                gradient="sign-accumulated",
                frame_batch=None,
                region="rectangle",
                shading=None,
                clean_first_frame=not reference,
                verbose=False,
            )
            start = time.perf_counter()
            attack.generate(
                x,
                y=[{"boxes": scene.boxes}],
                y_patch_metadata=[{"gs_coords": scene.gs_coords, "masks": scene.patch_masks}],
            )
            seconds = time.perf_counter() - start
            for result in attack.checkpoint_results:
                rows.append(
                    {
                        "crops": crop,
                        "video": index,
                        "mode": mode,
                        "steps": result.steps,
                        "mIoU": 100 * result.mean_iou,
                        "attack s": seconds,
                    }
                )
    frame = pd.DataFrame(rows)
    miou = frame.pivot_table(index=["crops", "video", "steps"], columns="mode", values="mIoU").round(1)
    seconds = frame.pivot_table(index=["crops", "video"], columns="mode", values="attack s").round(1)
    return miou, seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lengths", type=int, nargs="+", default=[10, 50, 100])
    parser.add_argument("--videos", type=int, default=2)
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--tables", type=int, nargs="+", default=[1, 2, 3], help="which of the three tables")
    args = parser.parse_args()
    header = f"CPU, threads={torch.get_num_threads()}, torch {torch.__version__}, weights {WEIGHTS}"
    pd.set_option("display.width", 200)
    if 1 in args.tables:
        print(f"# 1. one attack step, 960x1280, reference tracker, texture in crop windows; {header}")
        print(cost_table(args.lengths).round(3).to_string())
    if 2 in args.tables:
        print(f"\n# 2. texture-gradient agreement, batched vs sequential, {args.frames} frames of 960x1280; {header}")
        print(agreement_table(args.videos, args.frames).round(6).to_string())
    if 3 in args.tables:
        print(
            f"\n# 3. reference attack (delta 0.1, whole video, sign-accumulated, rectangle), adversarial mIoU x100, "
            f"{args.frames} frames of 960x1280; {header}"
        )
        miou, seconds = attack_table(args.videos, args.frames, args.steps)
        print(miou.to_string())
        print("\nseconds per attack run")
        print(seconds.to_string())


if __name__ == "__main__":
    main()
