"""Benign tracking on real videos in the OTB layout, next to OpenCV's MIL tracker and a box that never moves.

A path is a sequence folder (``img/`` + ``groundtruth_rect*.txt``, x, y, w, h separated by commas, tabs or
spaces, any frame numbering) or a root holding such folders (an OTB2015 root may hold any subset of the
38 person targets; which are missing is said). Scores per video, frame 0 excluded as ARMORY does: mIoU,
OTB's success AUC (IoU above each of 21 thresholds 0, 0.05, ..., 1) and precision at 20 px (centre
distance), all x 100, with each tracker's frames/s. With ``starts`` > 1 each video is also tracked from later
start frames (OTB's temporal robustness evaluation, TRE: start ``k * T // starts``, run to the end), so that
one early loss of the target is not the video's only sample; the table gives the mean over the starts and
their standard deviation.
"""

import time
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Tuple

import numpy as np
import pandas as pd

from armory_siammtl.atomic import write_text
from armory_siammtl.data.otb import OTB_PERSON, load_otb_sequence
from armory_siammtl.tracking.metrics import box_iou

AUC_THRESHOLDS = np.linspace(0.0, 1.0, 21)
PRECISION_PX = 20.0
Tracker = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (frames (T, H, W, 3) in [0, 1], box) -> (T, 4)


def sequence_folders(paths: Iterable) -> Tuple[List[Path], str]:
    """The sequence folders under ``paths`` and a note naming the OTB2015-Person targets a root lacks."""
    folders, notes = [], []
    for path in map(Path, paths):
        if not path.is_dir():
            raise FileNotFoundError(f"no folder at {path}")
        if (path / "img").is_dir():
            folders.append(path)
            continue
        found = sorted(p for p in path.iterdir() if (p / "img").is_dir())
        if not found:
            raise ValueError(f"{path} is neither a sequence folder (img/ + groundtruth_rect.txt) nor holds any")
        folders += found
        person = [n for n in OTB_PERSON if (path / n).is_dir()]
        if person:
            missing = [n for n in OTB_PERSON if n not in person]
            notes.append(f"{path} holds {len(person)} of the {len(OTB_PERSON)} OTB2015-Person sequences; "
                         f"missing: {', '.join(missing) if missing else 'none'}")
    return folders, "\n".join(notes)


def scores(gt: np.ndarray, boxes: np.ndarray) -> Dict[str, float]:
    """mIoU, success AUC and precision at 20 px (x 100) over frames 1..T-1."""
    ious = box_iou(gt[1:], boxes[1:])
    centre = lambda b: (b[:, :2] + b[:, 2:]) / 2  # noqa: E731
    distance = np.linalg.norm(centre(gt[1:]) - centre(boxes[1:]), axis=1)
    return {"miou": 100 * float(ious.mean()),
            "success_auc": 100 * float(np.mean([(ious > t).mean() for t in AUC_THRESHOLDS])),
            "precision20": 100 * float((distance <= PRECISION_PX).mean())}


def static_box(frames: np.ndarray, box: np.ndarray) -> np.ndarray:
    """A tracker that never moves the first box."""
    return np.repeat(np.asarray(box, np.float64)[None], len(frames), axis=0)


def opencv_mil(frames: np.ndarray, box: np.ndarray) -> np.ndarray:
    """OpenCV's MIL tracker (Babenko et al. 2009) on the same frames; a lost target keeps its last box."""
    import cv2

    images = [cv2.cvtColor(np.round(f * 255).astype(np.uint8), cv2.COLOR_RGB2BGR) for f in frames]
    x1, y1, x2, y2 = (float(v) for v in box)
    tracker = cv2.TrackerMIL_create()
    tracker.init(images[0], (int(round(x1)), int(round(y1)), int(round(x2 - x1)), int(round(y2 - y1))))
    out = [np.array([x1, y1, x2, y2])]
    for image in images[1:]:
        ok, (x, y, w, h) = tracker.update(image)
        out.append(np.array([x, y, x + w, y + h], np.float64) if ok else out[-1])
    return np.stack(out)


def siamrpn(model, tracking=None) -> Tracker:
    """This package's tracker with ``model``, benign (no gradients)."""
    import torch

    from armory_siammtl.tracking.tracker import SiamRPNTracker

    tracker = SiamRPNTracker(model, tracking)

    def track(frames, box):
        with torch.no_grad():
            return tracker.track(torch.from_numpy(frames), box).boxes.numpy()

    return track


def start_frames(length: int, starts: int = 1) -> List[int]:
    """The TRE start frames ``k * length // starts`` (k < ``starts``) of a ``length``-frame video; 1: frame 0
    alone (OTB's one-pass evaluation). Every segment keeps at least 2 frames (frame 0 is not scored)."""
    if isinstance(starts, bool) or not isinstance(starts, int) or starts < 1:
        raise ValueError(f"starts must be a whole number >= 1, got {starts!r}")
    if length < 2 * starts:
        raise ValueError(f"{starts} start frames need a video of at least {2 * starts} frames, not {length}")
    return [k * length // starts for k in range(starts)]


def evaluate(folders: List[Path], trackers: Dict[str, Tracker], max_frames: int = 100,
             progress: bool = True, starts: int = 1) -> pd.DataFrame:
    """One row per (video, start frame, tracker): the scores and frames/s; videos are loaded one at a time."""
    from tqdm.auto import tqdm

    rows = []
    for folder in tqdm(folders, desc="videos", disable=not progress):
        for video_id, frames, gt in load_otb_sequence(folder.parent, folder.name, max_frames):
            for first in start_frames(len(frames), starts):
                for name, track in trackers.items():
                    start = time.perf_counter()
                    boxes = np.asarray(track(frames[first:], gt[first]), np.float64)
                    seconds = time.perf_counter() - start
                    rows.append({"video": video_id, "start": first, "frames": len(frames) - first, "tracker": name,
                                 **scores(gt[first:], boxes), "fps": (len(frames) - first) / seconds})
    return pd.DataFrame(rows)


def markdown(results: pd.DataFrame) -> str:
    """Per video and tracker (the mean over start frames, and their standard deviation when there are
    several), then the mean over videos."""
    columns = ["miou", "success_auc", "precision20", "fps"]
    by_video = results.groupby(["video", "tracker"], sort=False)
    per_video = by_video[columns].mean().reset_index()
    per_video["spread"] = by_video["miou"].std(ddof=1).to_numpy()  # NaN for one start
    means = per_video.groupby("tracker", sort=False)[columns].mean().reset_index()
    means.insert(0, "video", "mean over videos")
    table = pd.concat([per_video, means], ignore_index=True)
    several = results.groupby(["video", "tracker"]).size().max() > 1
    spread = " (sd over starts)" if several else ""
    lines = [f"| video | tracker | mIoU{spread} | success AUC | precision@20px | frames/s |", "|---|---|---|---|---|---|"]
    for r in table.itertuples():
        fps = f"{r.fps:.1f}" if r.fps < 1e4 else "> 10⁴"  # a static box costs nothing
        miou = f"{r.miou:.1f}" + (f" ({r.spread:.1f})" if several and np.isfinite(r.spread) else "")
        lines.append(f"| {r.video} | {r.tracker} | {miou} | {r.success_auc:.1f} | {r.precision20:.1f} | {fps} |")
    return "\n".join(lines) + "\n"


def run(paths, variant, tracking=None, max_frames: int = 100, out=None, starts: int = 1) -> pd.DataFrame:
    """``armory-siammtl evaluate-real``: ``variant``'s weights, OpenCV MIL and a static box on ``paths``
    (from ``starts`` start frames each); prints which OTB2015-Person sequences a root lacks and the table,
    writes ``out/real_video.csv``."""
    from armory_siammtl.models.loading import load_model

    folders, note = sequence_folders(paths)
    if note:
        print(note)
    trackers = {Path(variant.weights).stem: siamrpn(load_model(variant), tracking), "OpenCV MIL": opencv_mil,
                "static box": static_box}
    results = evaluate(folders, trackers, max_frames, starts=starts)
    print(markdown(results))
    if out is not None:
        write_text(Path(out) / "real_video.csv", results.to_csv(index=False))
    return results
