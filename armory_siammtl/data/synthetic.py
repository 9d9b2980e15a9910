"""Procedural person-tracking videos in the spirit of ARMORY's CARLA scenes.

An articulated COCO-17 figure walks over a textured street scene, in front of a perspective "green screen"
patch region, past an occluding pole, under changing light. Every frame comes with the person's box
[x1, y1, x2, y2], its foreground mask, 17 keypoints (x, y, visibility 0/1/2 as COCO) and the patch's
corners (``gs_coords``) and visibility mask, all derived from one drawing so they agree. With ``distractor``
a second figure, of other colours and size, walks behind the person and crosses it (the box, mask and
keypoints stay the person's own): what a tracker must not jump to.
"""

from dataclasses import dataclass
from typing import Optional, Sequence

import cv2
import numpy as np

KEYPOINT_NAMES = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)
LIMBS = ((5, 7), (7, 9), (6, 8), (8, 10), (11, 13), (13, 15), (12, 14), (14, 16))
GREEN_SCREEN = np.array([0, 144, 58], dtype=np.float32) / 255.0  # CARLA's #00903a


@dataclass
class SceneVideo:
    video: np.ndarray  # (T, H, W, 3) uint8 RGB
    boxes: np.ndarray  # (T, 4) float32 x1 y1 x2 y2
    person_masks: np.ndarray  # (T, H, W) bool, visible person pixels
    keypoints: np.ndarray  # (T, 17, 3) float32 x, y, visibility
    gs_coords: np.ndarray  # (T, 4, 2) int64 x, y: top-left, top-right, bottom-right, bottom-left
    patch_masks: np.ndarray  # (T, H, W) uint8, 1 where the patch region is visible


def _background(rng, height, width):
    """A street-like backdrop: sky, a row of facades with windows, a pavement, smooth noise."""
    low_h, low_w = height // 8, width // 8
    img = np.zeros((low_h, low_w, 3), np.float32)
    horizon = int(low_h * rng.uniform(0.25, 0.4))
    img[:horizon] = rng.uniform(0.5, 0.9, 3)
    x = 0
    while x < low_w:
        w = int(rng.integers(low_w // 10, low_w // 4))
        top = int(rng.integers(0, horizon + 1))
        img[top:, x : x + w] = rng.uniform(0.15, 0.75, 3)
        for wy in range(top + 3, int(low_h * 0.7), 6):
            for wx in range(x + 2, x + w - 2, 5):
                img[wy : wy + 3, wx : wx + 2] = rng.uniform(0.05, 0.5, 3)
        x += w
    ground = int(low_h * rng.uniform(0.6, 0.72))
    img[ground:] = rng.uniform(0.25, 0.55, 3)
    img += rng.normal(0, 0.03, img.shape).astype(np.float32)
    img = cv2.resize(img, (width, height), interpolation=cv2.INTER_LINEAR)
    img += rng.normal(0, 0.02, img.shape).astype(np.float32)
    return np.clip(img, 0, 1), ground * 8


def _pose(height, phase, facing):
    """Keypoints (17, 2) of a walking figure with feet at (0, 0), ``height`` tall, gait ``phase``."""
    h = height
    swing = np.sin(phase)
    pts = np.zeros((17, 2), np.float32)
    hip_y, shoulder_y, head_y = -0.52 * h, -0.82 * h, -0.93 * h
    pts[0] = [0.03 * h * facing, head_y]
    pts[1], pts[2] = [0.02 * h, head_y - 0.02 * h], [-0.02 * h, head_y - 0.02 * h]
    pts[3], pts[4] = [0.045 * h, head_y - 0.005 * h], [-0.045 * h, head_y - 0.005 * h]
    pts[5], pts[6] = [0.11 * h, shoulder_y], [-0.11 * h, shoulder_y]
    pts[11], pts[12] = [0.07 * h, hip_y], [-0.07 * h, hip_y]
    for side, sign in ((0, 1), (1, -1)):
        s = swing * sign
        shoulder, hip = pts[5 + side], pts[11 + side]
        pts[7 + side] = shoulder + [0.13 * h * np.sin(-0.5 * s), 0.15 * h]
        pts[9 + side] = pts[7 + side] + [0.12 * h * np.sin(-0.7 * s) * facing, 0.13 * h]
        pts[13 + side] = hip + [0.12 * h * np.sin(0.5 * s) * facing, 0.25 * h]
        pts[15 + side] = pts[13 + side] + [0.1 * h * np.sin(0.8 * s) * facing, 0.25 * h]
    return pts


def _draw_person(canvas, mask, pts, height, colours):
    """Draw torso, limbs and head; ``mask`` receives the same shapes."""
    limb = max(2, int(0.06 * height))
    torso = np.array([pts[5], pts[6], pts[12], pts[11]], np.int32)
    head_center = (int(pts[[1, 2, 3, 4]].mean(0)[0]), int(pts[0][1]))
    for target, value in ((canvas, None), (mask, 1)):
        pick = lambda c, value=value: value if value is not None else c  # noqa: E731
        for a, b in LIMBS[4:]:
            cv2.line(
                target,
                tuple(pts[a].astype(int)),
                tuple(pts[b].astype(int)),
                pick(colours["pants"]),
                limb + 1,
                cv2.LINE_AA if value is None else cv2.LINE_8,
            )
        cv2.fillConvexPoly(target, torso, pick(colours["shirt"]))
        for a, b in LIMBS[:4]:
            cv2.line(
                target,
                tuple(pts[a].astype(int)),
                tuple(pts[b].astype(int)),
                pick(colours["shirt"]),
                limb,
                cv2.LINE_AA if value is None else cv2.LINE_8,
            )
        cv2.circle(target, head_center, max(3, int(0.07 * height)), pick(colours["skin"]), -1)


def _colours(rng) -> dict:
    return {
        "shirt": tuple(float(c) for c in rng.uniform(0, 1, 3)),
        "pants": tuple(float(c) for c in rng.uniform(0, 0.6, 3)),
        "skin": tuple(float(c) for c in rng.uniform([0.4, 0.25, 0.15], [0.95, 0.8, 0.7])),
    }


def _distractor(
    seed: int, num_frames: int, person_h: float, speed: float, start_x: float, foot_y: float, width: int
) -> dict:
    """A second walker that meets the person at a random frame, a little further away (smaller, feet higher),
    drawn from its own random stream so that the person's video is otherwise the same."""
    rng = np.random.default_rng([seed, 11])
    meet = rng.uniform(0.2, 0.8) * num_frames
    direction = rng.choice([-1.0, 1.0])
    d_speed = rng.uniform(0.004, 0.012) * width * direction
    scale = rng.uniform(0.8, 1.0)
    return {
        "h": person_h * scale,
        "direction": direction,
        "speed": d_speed,
        "start_x": start_x + speed * meet - d_speed * meet + rng.uniform(-0.3, 0.3) * person_h,
        "foot_y": foot_y - rng.uniform(0.0, 0.1) * person_h,
        "colours": _colours(rng),
    }


def make_video(
    seed: int,
    num_frames: int = 30,
    height: int = 960,
    width: int = 1280,
    backdrop_image: Optional[np.ndarray] = None,
    distractor: bool = False,
) -> SceneVideo:
    """One deterministic video for ``seed``; ``backdrop_image`` (uint8 RGB, any size): a photograph to walk
    in front of, resized to the frame, instead of the drawn street (everything else stays as drawn);
    ``distractor``: a second walker crosses behind the person (everything else stays as drawn)."""
    if num_frames < 1:
        raise ValueError("num_frames must be at least 1")
    rng = np.random.default_rng(seed)
    backdrop, ground = _background(rng, height, width)  # drawn even when replaced: the seed's draws stay put
    if backdrop_image is not None:
        resized = cv2.resize(backdrop_image, (width, height), interpolation=cv2.INTER_AREA)
        backdrop = resized.astype(np.float32) / 255.0

    # the green-screen patch on the facades, seen in perspective
    pw, ph = rng.uniform(0.3, 0.45) * width, rng.uniform(0.25, 0.4) * height
    px = rng.uniform(0.1 * width, 0.9 * width - pw)
    py = max(0.05 * height, ground - ph - rng.uniform(0, 0.1) * height)
    skew = rng.uniform(-0.08, 0.08) * ph
    corners = np.array(
        [[px, py + skew], [px + pw, py - skew], [px + pw, py + ph + skew * 0.3], [px, py + ph - skew * 0.3]]
    )
    corners = np.round(corners).astype(np.int64)
    patch_region = np.zeros((height, width), np.uint8)
    cv2.fillConvexPoly(patch_region, corners.astype(np.int32), 1)

    # the walker: starts on one side of the patch and crosses in front of it
    person_h = rng.uniform(0.2, 0.35) * height
    direction = rng.choice([-1.0, 1.0])
    speed = rng.uniform(0.004, 0.012) * width * direction
    start_x = px + pw / 2 - speed * num_frames / 2 + rng.uniform(-0.1, 0.1) * pw
    foot_y = ground + rng.uniform(0.02, 0.2) * (height - ground)
    drift = rng.uniform(-0.002, 0.002) * height
    colours = _colours(rng)
    pole_x = int(rng.uniform(0.1, 0.9) * width) if rng.uniform() < 0.5 else None
    pole_w = int(0.02 * width)
    light_phase, light_amp = rng.uniform(0, 2 * np.pi), rng.uniform(0.05, 0.2)
    other = _distractor(seed, num_frames, person_h, speed, start_x, foot_y, width) if distractor else None

    frames, boxes, pmasks, keypoints, gmasks = [], [], [], [], []
    for t in range(num_frames):
        light = 1.0 + light_amp * np.sin(light_phase + 0.2 * t)
        frame = backdrop.copy()
        frame[patch_region == 1] = GREEN_SCREEN
        scale = 1.0 + 0.002 * t * np.sign(drift)
        behind = np.zeros((height, width), np.uint8)
        if other is not None:
            d_pts = _pose(other["h"], 0.6 * t + seed + 1.5, other["direction"])
            _draw_person(
                frame,
                behind,
                d_pts + [other["start_x"] + other["speed"] * t, other["foot_y"]],
                other["h"],
                other["colours"],
            )
        pts = _pose(person_h * scale, 0.6 * t + seed, direction)
        pts += [start_x + speed * t, foot_y + drift * t]
        person = np.zeros((height, width), np.uint8)
        _draw_person(frame, person, pts, person_h * scale, colours)
        occluder = np.zeros((height, width), bool)
        if pole_x is not None:
            occluder[int(0.15 * height) :, pole_x : pole_x + pole_w] = True
            frame[occluder] = (0.3, 0.3, 0.32)
        frame = np.clip(frame * light, 0, 1)
        full_person = person.astype(bool)
        ys, xs = np.nonzero(full_person)
        if xs.size == 0:
            raise ValueError(f"seed {seed}: the person left the frame at frame {t}; use fewer frames")
        boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
        visible = full_person & ~occluder
        vis = np.full(17, 2.0)
        inside = (pts[:, 0] >= 0) & (pts[:, 0] < width) & (pts[:, 1] >= 0) & (pts[:, 1] < height)
        for k in np.nonzero(inside)[0]:
            if occluder[int(pts[k, 1]), int(pts[k, 0])]:
                vis[k] = 1.0
        vis[~inside] = 0.0
        keypoints.append(np.c_[pts, vis])
        frames.append((frame * 255).round().astype(np.uint8))
        pmasks.append(visible)
        gmasks.append((patch_region == 1) & ~full_person & ~occluder & ~behind.astype(bool))
    return SceneVideo(
        np.stack(frames),
        np.asarray(boxes, np.float32),
        np.stack(pmasks),
        np.asarray(keypoints, np.float32),
        np.repeat(corners[None], num_frames, axis=0),
        np.stack(gmasks).astype(np.uint8),
    )


def synthetic_tracks(
    seeds,
    num_frames: int = 24,
    height: int = 480,
    width: int = 640,
    backdrops: Sequence = (),
    backdrop_fraction: float = 0.5,
    distractors: float = 0.0,
):
    """Training tracks (frames, boxes, keypoints) for each seed; with ``backdrops`` (image files), about
    ``backdrop_fraction`` of them walk in front of one of those photographs, and about ``distractors`` of
    them have a second walker, both chosen by the seed."""
    if not 0 <= distractors <= 1:
        raise ValueError(f"the fraction of videos with a distractor must lie in [0, 1], got {distractors!r}")
    from armory_siammtl.data.track import Track
    from armory_siammtl.data.video import read_rgb

    tracks = []
    for seed in seeds:
        choice = np.random.default_rng([int(seed), 7])
        image = None
        if backdrops and choice.uniform() < backdrop_fraction:
            image = read_rgb(backdrops[int(choice.integers(len(backdrops)))])
        second = bool(np.random.default_rng([int(seed), 13]).uniform() < distractors)
        scene = make_video(int(seed), num_frames, height, width, image, distractor=second)
        tracks.append(Track(scene.video, scene.boxes, scene.keypoints))
    return tracks
