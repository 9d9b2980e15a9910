"""Benign tracking on real videos in the OTB layout, next to the trackers a user would pick instead: OpenCV's
MIL tracker (Babenko et al. 2009), NanoTrack v2 (a 2022 Siamese tracker trained on large real data, run by
OpenCV's ``TrackerNano`` from its ONNX files) and a box that never moves.

A path is a sequence folder (``img/`` + ``groundtruth_rect*.txt``, x, y, w, h separated by commas, tabs or
spaces, any frame numbering) or a root holding such folders (an OTB2015 root may hold any subset of the
38 person targets; which are missing is said). Scores per video are ``tracking.metrics``' (frame 0 and
frames without the target excluded): mIoU, success rate (the area under the success plot, ARMORY's
definition) and precision at 20 px, all x 100, with each tracker's frames/s. The summary gives each
tracker's mean over videos with a 95 % bootstrap interval, and each tracker's paired difference to MIL
(same videos) with its interval. With ``starts`` > 1 each video is also tracked from later start frames
(OTB's temporal robustness evaluation, TRE: start ``k * T // starts``, run to the end); a video's score is
then the mean over its starts.

With an output folder a run holds ``.<table>.lock`` there (a second run on the same tables is refused) and
keeps the rows of each finished video in ``.<table>.partial.json`` with its settings (each tracker's
identity: weights sha256, OpenCV version, NanoTrack's files; frames, starts, tracking setting): a killed run
started again with the same settings tracks only the videos it had not finished; the file goes once the
tables are written.
"""

import contextlib
import json
import time
from functools import partial
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from armory_siammtl.atomic import exclusive, write_text
from armory_siammtl.data.otb import OTB_PERSON, load_otb_sequence, sequence_folders_in
from armory_siammtl.evaluation.statistics import mean_interval
from armory_siammtl.tracking.metrics import METRICS, video_scores

NANOTRACK_FILES = ("nanotrack_backbone_sim.onnx", "nanotrack_head_sim.onnx")
Tracker = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (frames (T, H, W, 3) in [0, 1], box) -> (T, 4)


def sequence_folders(paths: Iterable) -> Tuple[List[Path], str]:
    """The sequence folders under ``paths`` and a note naming the OTB2015-Person targets a root lacks."""
    folders, notes = [], []
    for path in map(Path, paths):
        if not path.is_dir():
            raise FileNotFoundError(f"no folder at {path}")
        found = sequence_folders_in(path)
        if found == [path]:
            folders.append(path)
            continue
        if not found:
            raise ValueError(f"{path} is neither a sequence folder (img/ + groundtruth_rect.txt) nor holds any")
        folders += found
        person = [n for n in OTB_PERSON if (path / n).is_dir()]
        if person:
            missing = [n for n in OTB_PERSON if n not in person]
            notes.append(
                f"{path} holds {len(person)} of the {len(OTB_PERSON)} OTB2015-Person sequences; "
                f"missing: {', '.join(missing) if missing else 'none'}"
            )
    return folders, "\n".join(notes)


def static_box(frames: np.ndarray, box: np.ndarray) -> np.ndarray:
    """A tracker that never moves the first box."""
    return np.repeat(np.asarray(box, np.float64)[None], len(frames), axis=0)


def _opencv(tracker, frames: np.ndarray, box: np.ndarray) -> np.ndarray:
    """An OpenCV tracker on ``frames`` (BGR uint8, as OpenCV reads video); a lost target keeps its last box."""
    import cv2

    images = [cv2.cvtColor(np.round(f * 255).astype(np.uint8), cv2.COLOR_RGB2BGR) for f in frames]
    x1, y1, x2, y2 = (float(v) for v in box)
    tracker.init(images[0], (int(round(x1)), int(round(y1)), int(round(x2 - x1)), int(round(y2 - y1))))
    out = [np.array([x1, y1, x2, y2])]
    for image in images[1:]:
        ok, (x, y, w, h) = tracker.update(image)
        out.append(np.array([x, y, x + w, y + h], np.float64) if ok else out[-1])
    return np.stack(out)


MIL_SEED = 0


def opencv_mil(frames: np.ndarray, box: np.ndarray, seed: int = MIL_SEED) -> np.ndarray:
    """OpenCV's MIL tracker (Babenko et al. 2009) on the same frames. MIL samples its training patches from
    OpenCV's global random generator, which is seeded here for every video: unseeded, a video's score
    depends on what ran before it in the process."""
    import cv2

    cv2.setRNGSeed(seed)
    return _opencv(cv2.TrackerMIL_create(), frames, box)


@contextlib.contextmanager
def _opencv_errors_only():
    """OpenCV logs errors only inside (OpenCV 5's DNN engine warns twice per ``TrackerNano`` that it ignores
    a target setting); its level is put back after. A no-op where OpenCV has no Python logging control."""
    import cv2

    logging = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging is None:
        yield
        return
    level = logging.getLogLevel()
    logging.setLogLevel(logging.LOG_LEVEL_ERROR)
    try:
        yield
    finally:
        logging.setLogLevel(level)


def nanotrack(folder) -> Tracker:
    """NanoTrack v2 through OpenCV's ``TrackerNano`` (opencv >= 4.7), from ``folder`` holding its two ONNX
    files (``NANOTRACK_FILES``)."""
    import cv2

    folder = Path(folder)
    missing = [name for name in NANOTRACK_FILES if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(f"NanoTrack's ONNX files {missing} are not in {folder}")
    if not hasattr(cv2, "TrackerNano_create"):
        raise ValueError(f"OpenCV {cv2.__version__} has no TrackerNano (it came in 4.7)")

    def track(frames, box):
        params = cv2.TrackerNano_Params()
        params.backbone, params.neckhead = (str(folder / name) for name in NANOTRACK_FILES)
        with _opencv_errors_only():
            return _opencv(cv2.TrackerNano_create(params), frames, box)

    return track


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


def evaluate(
    folders: List[Path],
    trackers: Dict[str, Tracker],
    max_frames: int = 100,
    progress: bool = True,
    starts: int = 1,
    done: Sequence[dict] = (),
    save: Optional[Callable[[List[dict]], None]] = None,
) -> pd.DataFrame:
    """One row per (video, start frame, tracker): the scores and frames/s; videos are loaded one at a time.
    ``done``: rows of an earlier run of the same settings, reused for the (video, tracker) pairs they hold;
    ``save(rows)`` gets every row so far after each video."""
    from tqdm.auto import tqdm

    earlier: Dict[tuple, List[dict]] = {}
    for row in done:
        earlier.setdefault((row["video"], row["tracker"]), []).append(dict(row))
    rows = []
    for folder in tqdm(folders, desc="videos", disable=not progress):
        for video_id, frames, gt in load_otb_sequence(folder.parent, folder.name, max_frames):
            present = np.isfinite(gt).all(axis=1)
            rows += [row for name in trackers for row in earlier.get((video_id, name), [])]
            todo = {name: track for name, track in trackers.items() if (video_id, name) not in earlier}
            for first in start_frames(len(frames), starts) if todo else []:
                if not present[first]:  # a TRE start where the target is absent moves to where it is next
                    later = np.nonzero(present[first:])[0]
                    if len(later) == 0 or first + later[0] >= len(frames) - 1:
                        continue
                    first += int(later[0])
                for name, track in todo.items():
                    start = time.perf_counter()
                    boxes = np.asarray(track(frames[first:], gt[first]), np.float64)
                    seconds = time.perf_counter() - start
                    rows.append(
                        {
                            "video": video_id,
                            "start": first,
                            "frames": len(frames) - first,
                            "tracker": name,
                            **video_scores(gt[first:], boxes),
                            "fps": (len(frames) - first) / seconds,
                        }
                    )
        if save is not None:
            save(rows)
    return pd.DataFrame(rows)


@contextlib.contextmanager
def resumable(out, table: str, settings: dict):
    """Yield (rows an unfinished run with these ``settings`` left in ``out/.<table>.partial.json``, a function
    that saves the rows so far there), holding ``out/.<table>.lock``; the partial file is removed when the
    block completes. Without ``out``: no rows and no saving (None)."""
    if out is None:
        yield [], None
        return
    partial = Path(out) / f".{table}.partial.json"
    settings = json.loads(json.dumps(settings))  # as it reads back (tuples become lists)
    with exclusive(Path(out) / f".{table}.lock", f"another run is writing {Path(out) / table}.*"):
        done = []
        if partial.exists():
            try:
                saved = json.loads(partial.read_text())
                same = saved["settings"] == settings
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{partial} (an unfinished run's rows) cannot be read ({exc}); remove it") from None
            if same:
                done = saved["rows"]
                videos = len({row["video"] for row in done})
                print(f"resuming an unfinished run: {videos} video(s) already tracked ({partial})")
            else:
                print(f"{partial} holds an unfinished run with other settings: starting again")

        def save(rows):
            write_text(partial, json.dumps({"settings": settings, "rows": rows}))

        yield done, save
        partial.unlink(missing_ok=True)  # the block wrote the tables


def per_video(results: pd.DataFrame) -> pd.DataFrame:
    """One row per (video, tracker): the mean of each metric over start frames, their number, the mIoU's
    standard deviation over them, and frames/s."""
    columns = list(METRICS) + ["fps"]
    grouped = results.groupby(["video", "tracker"], sort=False)
    table = grouped[columns].mean().reset_index()
    table["starts"] = grouped.size().to_numpy()
    table["spread"] = grouped["miou"].std(ddof=1).to_numpy()  # NaN for one start
    return table


def summary(results: pd.DataFrame, reference: str = "OpenCV MIL") -> pd.DataFrame:
    """Per tracker and metric: the mean over videos with its 95 % bootstrap interval, and the paired
    difference to ``reference`` (same videos) with its interval (none for the reference itself)."""
    videos = per_video(results)
    rows = []
    for tracker in dict.fromkeys(videos["tracker"]):
        mine = videos[videos["tracker"] == tracker].set_index("video")
        row = {"tracker": tracker, "videos": len(mine)}
        for metric in METRICS:
            row[metric], row[f"{metric}_low"], row[f"{metric}_high"] = mean_interval(mine[metric])
            if reference in set(videos["tracker"]) and tracker != reference:
                base = videos[videos["tracker"] == reference].set_index("video")[metric]
                diff = (mine[metric] - base.reindex(mine.index)).dropna()
                row[f"{metric}_vs_ref"], row[f"{metric}_vs_ref_low"], row[f"{metric}_vs_ref_high"] = mean_interval(diff)
        rows.append(row)
    return pd.DataFrame(rows)


def _fps(value: float) -> str:
    return f"{value:.1f}" if value < 1e4 else "> 10⁴"  # a static box costs nothing


def markdown(results: pd.DataFrame, reference: str = "OpenCV MIL") -> str:
    """Per video and tracker (mIoU with its sd over start frames when there are several), then each
    tracker's mean over videos [95 % bootstrap interval] and its paired difference to ``reference``."""
    videos = per_video(results)
    several = videos["starts"].max() > 1
    spread = " (sd over starts)" if several else ""
    lines = [f"| video | tracker | mIoU{spread} | success | precision@20px | frames/s |", "|---|---|---|---|---|---|"]
    for r in videos.itertuples():
        miou = f"{r.miou:.1f}" + (f" ({r.spread:.1f})" if several and np.isfinite(r.spread) else "")
        lines.append(f"| {r.video} | {r.tracker} | {miou} | {r.success:.1f} | {r.precision20:.1f} | {_fps(r.fps)} |")
    n = videos["video"].nunique()
    lines += [
        "",
        f"Mean over the {n} videos [95 % bootstrap interval over videos]; Δ {reference}: the paired "
        f"difference to {reference} on the same videos [95 % interval].",
        "",
        f"| tracker | mIoU | Δ {reference} | success | Δ {reference} | precision@20px | Δ {reference} |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in summary(results, reference).to_dict("records"):
        cells = []
        for metric in METRICS:
            cells.append(f"{r[metric]:.1f} [{r[metric + '_low']:.1f}, {r[metric + '_high']:.1f}]")
            key = f"{metric}_vs_ref"
            cells.append(
                f"{r[key]:+.1f} [{r[key + '_low']:+.1f}, {r[key + '_high']:+.1f}]"
                if key in r and np.isfinite(r[key])
                else "–"
            )
        lines.append(f"| {r['tracker']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def baselines(nanotrack_dir=None) -> Tuple[Dict[str, Tracker], Dict[str, str]]:
    """OpenCV MIL, NanoTrack (when ``nanotrack_dir`` is given) and the static box, and what each one is (for
    a resumed run to compare): OpenCV's version, MIL's seed, the sha256 of NanoTrack's files."""
    import cv2

    from armory_siammtl.models.weights_file import sha256_of

    trackers = {"OpenCV MIL": opencv_mil}
    identities = {"OpenCV MIL": f"OpenCV {cv2.__version__} MIL, seed {MIL_SEED}"}
    if nanotrack_dir is not None:
        trackers["NanoTrack"] = nanotrack(nanotrack_dir)
        files = ", ".join(sha256_of(Path(nanotrack_dir) / name) for name in NANOTRACK_FILES)
        identities["NanoTrack"] = f"OpenCV {cv2.__version__} TrackerNano, {files}"
    trackers["static box"] = static_box
    identities["static box"] = "static box"
    return trackers, identities


def model_label(variant) -> str:
    """A table label for a model: STL / MTL λK=... (head), and its weights file."""
    kind = "STL" if not variant.kpt_weight else f"MTL λK={variant.kpt_weight:g} {variant.head}"
    return f"{kind} ({Path(variant.weights).name})"


def run(
    paths, variants, tracking=None, max_frames: int = 100, out=None, starts: int = 1, nanotrack_dir=None
) -> pd.DataFrame:
    """``armory-siammtl evaluate-real``: each of ``variants``' weights, OpenCV MIL, NanoTrack (given its
    folder) and a static box on ``paths`` (from ``starts`` start frames each); prints which OTB2015-Person
    sequences a root lacks and the tables, writes ``out/real_video.csv`` and ``out/real_video.md``."""
    import torch

    from armory_siammtl.models.loading import load_model
    from armory_siammtl.models.weights_file import sha256_of
    from armory_siammtl.runtime import cpu_capability, cpu_model

    folders, note = sequence_folders(paths)
    if note:
        print(note)
    trackers = {model_label(v): siamrpn(load_model(v), tracking) for v in variants}
    identities = {model_label(v): f"sha256 {sha256_of(v.weights)}" for v in variants}
    more, more_identities = baselines(nanotrack_dir)
    trackers.update(more)
    identities.update(more_identities)
    tracking_setting = tracking.as_dict() if tracking else {}
    settings = dict(trackers=identities, max_frames=max_frames, starts=starts, tracking=tracking_setting)
    with resumable(out, "real_video", settings) as (done, save):
        results = evaluate(folders, trackers, max_frames, starts=starts, done=done, save=save)
        setting = ", ".join(f"{k}={v}" for k, v in tracking_setting.items())
        header = (
            f"first {max_frames} frames, frame 0 of each run excluded; {starts} start frame(s) per video; "
            f"tracker setting: {setting or 'package default'}; {cpu_model()}, {cpu_capability()} kernels, "
            f"CPU threads={torch.get_num_threads()}, torch {torch.__version__}\n\n"
        )
        text = header + markdown(results)
        print(text)
        if out is not None:
            write_text(Path(out) / "real_video.csv", results.to_csv(index=False))
            write_text(Path(out) / "real_video.md", text)
    return results


def mil_spread(paths, seeds: int, max_frames: int = 100, out=None) -> str:
    """How much one OpenCV MIL run moves: its mIoU per video for ``seeds`` seeds of OpenCV's random generator
    (min, mean, max), printed and written to ``out/mil_seeds.md``."""
    import cv2

    folders, _ = sequence_folders(paths)
    settings = dict(opencv=cv2.__version__, seeds=seeds, max_frames=max_frames)
    with resumable(out, "mil_seeds", settings) as (done, save):
        trackers = {f"seed {k}": partial(opencv_mil, seed=k) for k in range(seeds)}
        results = evaluate(folders, trackers, max_frames, done=done, save=save)
        table = per_video(results).pivot(index="video", columns="tracker", values="miou")
        lines = [f"OpenCV MIL, mIoU per video over {seeds} seeds of OpenCV's random generator", ""]
        lines += ["| video | min | mean | max |", "|---|---|---|---|"]
        lines += [f"| {v} | {row.min():.1f} | {row.mean():.1f} | {row.max():.1f} |" for v, row in table.iterrows()]
        means = table.mean(axis=0)
        lines += ["", f"mean over videos: {means.min():.1f} to {means.max():.1f} across seeds (seed 0 is the tables')"]
        text = "\n".join(lines) + "\n"
        print(text)
        if out is not None:
            write_text(Path(out) / "mil_seeds.md", text)
    return text
