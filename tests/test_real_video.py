"""Benign tracking on real OTB-layout videos next to OpenCV MIL, NanoTrack and a static box (../shared/ data)."""

import json
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from armory_siammtl.cli import main
from armory_siammtl.evaluation.real_video import sequence_folders, summary
from armory_siammtl.tracking.metrics import box_iou
from helpers import SHARED, write_frames

OTB_PERSON_ROOT = SHARED / "data" / "otb-person"
EVALUATION_ROOTS = [OTB_PERSON_ROOT, SHARED / "data" / "uav123"]
NANOTRACK = SHARED / "models" / "nanotrack"
WEIGHTS = Path(__file__).resolve().parents[1] / "armory_siammtl" / "model_weights"
STL = WEIGHTS / "siamrpn_alex_stl.pth"


def test_roots_name_the_missing_person_sequences(tmp_path):
    if not OTB_PERSON_ROOT.is_dir():
        pytest.skip(f"{OTB_PERSON_ROOT} is absent (a fresh clone has no ../shared/)")
    folders, note = sequence_folders([OTB_PERSON_ROOT])
    assert [f.name for f in folders] == ["Bolt", "Crossing", "Girl2", "Human3", "Human7", "Skiing"]
    assert "holds 6 of the 36 OTB2015-Person sequences; missing: Basketball, BlurBody" in note
    with pytest.raises(ValueError, match="neither a sequence folder"):
        sequence_folders([tmp_path])


def test_evaluate_real_runs_every_tracker_on_real_videos(tmp_path, capsys):
    videos = [OTB_PERSON_ROOT / "Crossing", SHARED / "data" / "uav123" / "person11"]
    if not all(v.is_dir() for v in videos) or not NANOTRACK.is_dir():
        pytest.skip(f"{videos} or {NANOTRACK} is absent (a fresh clone has no ../shared/)")
    import cv2
    import pandas as pd

    from armory_siammtl.data.otb import read_otb_boxes

    args = ["evaluate-real", *map(str, videos), "--weights", str(STL)]
    args += ["--weights", str(WEIGHTS / "siamrpn_alex_mtl_l02.pth"), "--max-frames", "12", "--out", str(tmp_path)]
    nanotrack = ["--nanotrack", str(NANOTRACK)]
    has_nano = hasattr(cv2, "TrackerNano_create")  # OpenCV >= 4.7; the ARMORY image's stack has 4.5
    if not has_nano:
        assert main(args + nanotrack) == 2
        assert "has no TrackerNano" in capsys.readouterr().err
        assert not (tmp_path / "real_video.csv").exists()
    assert main(args + (nanotrack if has_nano else []) + ["--mil-seeds", "2"]) == 0
    results = pd.read_csv(tmp_path / "real_video.csv")
    assert list(dict.fromkeys(results["tracker"])) == [
        "STL (siamrpn_alex_stl.pth)",
        "MTL λK=0.2 shallow (siamrpn_alex_mtl_l02.pth)",
        "OpenCV MIL",
        *(["NanoTrack"] if has_nano else []),
        "static box",
    ]
    gt = read_otb_boxes(videos[0] / "groundtruth_rect.txt")[:12]
    static = results[(results["tracker"] == "static box") & (results["video"] == "Crossing")].iloc[0]
    assert static["miou"] == pytest.approx(100 * box_iou(gt[1:], np.repeat(gt[:1], 11, axis=0)).mean())
    assert (results["fps"] > 0).all() and results[["miou", "success", "precision20"]].stack().between(0, 100).all()
    means = summary(results).set_index("tracker")
    assert means.loc["static box", "miou"] == pytest.approx(results[results["tracker"] == "static box"]["miou"].mean())
    assert (
        means.loc["static box", "miou_low"] <= means.loc["static box", "miou"] <= means.loc["static box", "miou_high"]
    )
    pairs = results.pivot(index="video", columns="tracker", values="miou")
    if has_nano:
        delta = (pairs["NanoTrack"] - pairs["OpenCV MIL"]).mean()
        assert means.loc["NanoTrack", "miou_vs_ref"] == pytest.approx(delta)
    out = capsys.readouterr().out
    assert "| OpenCV MIL |" in out and "Δ OpenCV MIL" in out and (tmp_path / "real_video.md").is_file()
    spread = (tmp_path / "mil_seeds.md").read_text()
    assert "over 2 seeds" in spread and "| Crossing |" in spread and "| person11 |" in spread


def test_tre_tracks_each_video_from_later_start_frames(tmp_path, capsys):
    crossing = OTB_PERSON_ROOT / "Crossing"
    if not crossing.is_dir():
        pytest.skip(f"{crossing} is absent (a fresh clone has no ../shared/)")
    import pandas as pd

    from armory_siammtl.data.otb import read_otb_boxes

    assert (
        main(
            [
                "evaluate-real",
                str(crossing),
                "--weights",
                str(STL),
                "--max-frames",
                "12",
                "--starts",
                "3",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    results = pd.read_csv(tmp_path / "real_video.csv")
    assert sorted(results["start"].unique()) == [0, 4, 8] and len(results) == 9
    gt = read_otb_boxes(crossing / "groundtruth_rect.txt")[:12]
    static = results[results["tracker"] == "static box"].set_index("start")
    for start in (0, 4, 8):  # each start's static box is that frame's box, scored on the frames after it
        assert static.loc[start, "frames"] == 12 - start
        assert static.loc[start, "miou"] == pytest.approx(
            100 * box_iou(gt[start + 1 :], np.repeat(gt[start : start + 1], 11 - start, axis=0)).mean()
        )
    out = capsys.readouterr().out
    assert "| mIoU (sd over starts) |" in out
    assert f"| Crossing | static box | {static['miou'].mean():.1f} ({static['miou'].std():.1f}) |" in out


def test_start_frames_are_spread_and_checked():
    from armory_siammtl.evaluation.real_video import start_frames

    assert start_frames(100) == [0] and start_frames(100, 4) == [0, 25, 50, 75]
    with pytest.raises(ValueError, match="3 start frames need a video of at least 6 frames, not 5"):
        start_frames(5, 3)
    with pytest.raises(ValueError, match="starts must be a whole number >= 1, got 0"):
        start_frames(100, 0)


def test_shipped_weights_track_real_people_on_the_eight_evaluation_videos():
    """The shipped weights on the eight evaluation videos (never trained on), first 100 frames. Measured on
    this project's machine (docs/results/real_video/real_video.md): mean mIoU STL 32.7, MTL 34.5, a box that
    never moves 17.9; STL above the static box on 6 of 8 videos, MTL on 7. The floors (25 and 5 of 8) leave
    margins far above round-off, which moves these scores by about 0.1 (docs/results/real_video/variation/)."""
    if not all(root.is_dir() for root in EVALUATION_ROOTS):
        pytest.skip(f"{EVALUATION_ROOTS} are absent (a fresh clone has no ../shared/)")
    from armory_siammtl.evaluation import real_video
    from armory_siammtl.models import load_model
    from armory_siammtl.models.loading import variant_from_file
    from armory_siammtl.models.manifest import SHIPPED_WEIGHTS

    trackers = {"static": real_video.static_box}
    for name in ("siamrpn_alex_stl", "siamrpn_alex_mtl_l02"):
        trackers[name] = real_video.siamrpn(load_model(variant_from_file(SHIPPED_WEIGHTS / f"{name}.pth")))
    folders, _ = sequence_folders(EVALUATION_ROOTS)
    assert len(folders) == 8
    results = real_video.evaluate(folders, trackers, 100, progress=False).pivot(
        index="video", columns="tracker", values="miou"
    )
    for name in ("siamrpn_alex_stl", "siamrpn_alex_mtl_l02"):
        assert results[name].mean() >= 25.0 > results["static"].mean(), results
        assert (results[name] > results["static"]).sum() >= 5, results


def test_a_killed_evaluation_resumes_with_the_videos_it_had_not_finished(tmp_path, capsys):
    from armory_siammtl.evaluation.real_video import evaluate, resumable, static_box

    for name in ("Alpha", "Beta"):
        write_frames(tmp_path / "videos" / name / "img", 6)
        (tmp_path / "videos" / name / "groundtruth_rect.txt").write_text(
            "".join(f"{5 + i},8,20,30\n" for i in range(6))
        )
    folders = [tmp_path / "videos" / "Alpha", tmp_path / "videos" / "Beta"]
    out, settings = tmp_path / "out", {"trackers": {"drifting": "v1"}, "max_frames": 6}
    calls = []

    def drifting(frames, box, fail_on=None):  # follows the box; "killed" on its call number fail_on
        calls.append(len(calls))
        if fail_on is not None and len(calls) == fail_on:
            raise KeyboardInterrupt
        return np.asarray(box, np.float64) + np.array([1.0, 0, 1, 0]) * np.arange(len(frames))[:, None]

    trackers = {"static box": static_box, "drifting": partial(drifting, fail_on=2)}
    with pytest.raises(KeyboardInterrupt):
        with resumable(out, "table", settings) as (done, save):
            evaluate(folders, trackers, progress=False, done=done, save=save)
    saved = json.loads((out / ".table.partial.json").read_text())
    assert {row["video"] for row in saved["rows"]} == {"Alpha"}  # the finished video only
    with resumable(out, "table", settings) as (done, save):
        with pytest.raises(ValueError, match="another run is writing"):  # a second writer is refused
            with resumable(out, "table", settings):
                pass
        trackers["drifting"] = drifting
        resumed = evaluate(folders, trackers, progress=False, done=done, save=save)
    assert "resuming an unfinished run: 1 video(s) already tracked" in capsys.readouterr().out
    assert len(calls) == 3 and not (out / ".table.partial.json").exists()  # Beta alone tracked again
    fresh = evaluate(folders, trackers, progress=False)
    columns = ["video", "tracker", "start", "miou", "success", "precision20"]
    pd.testing.assert_frame_equal(resumed[columns], fresh[columns])
    by_tracker = resumed.groupby("tracker")["miou"]
    assert (by_tracker.min()["drifting"] == 100) and by_tracker.max()["static box"] < 90

    with pytest.raises(KeyboardInterrupt):  # killed again, then started with other settings: from the start
        with resumable(out, "table", settings) as (done, save):
            evaluate(folders, {"drifting": partial(drifting, fail_on=len(calls) + 2)}, done=done, save=save)
    other = dict(settings, max_frames=5)
    with resumable(out, "table", other) as (done, save):
        assert done == []
    assert "holds an unfinished run with other settings: starting again" in capsys.readouterr().out
    (out / ".table.partial.json").write_text("{not json")
    with pytest.raises(ValueError, match="cannot be read .* remove it"):
        with resumable(out, "table", settings):
            pass


def test_nanotrack_warns_nothing_and_leaves_opencv_logging_as_it_was(capfd):
    cv2 = pytest.importorskip("cv2")
    if not NANOTRACK.is_dir():
        pytest.skip(f"{NANOTRACK} is absent (a fresh clone has no ../shared/)")
    if not hasattr(cv2, "TrackerNano_create"):
        pytest.skip(f"OpenCV {cv2.__version__} has no TrackerNano (it came in 4.7)")
    from cv2.utils import logging

    from armory_siammtl.evaluation.real_video import nanotrack

    frames = np.random.default_rng(0).uniform(size=(4, 120, 160, 3)).astype(np.float32)
    track = nanotrack(NANOTRACK)
    before = logging.getLogLevel()
    try:
        logging.setLogLevel(logging.LOG_LEVEL_WARNING)
        assert track(frames, np.array([60.0, 40.0, 90.0, 100.0])).shape == (4, 4)
        assert "WARN" not in capfd.readouterr().err
        logging.setLogLevel(logging.LOG_LEVEL_FATAL)
        track(frames, np.array([60.0, 40.0, 90.0, 100.0]))
        assert logging.getLogLevel() == logging.LOG_LEVEL_FATAL
    finally:
        logging.setLogLevel(before)
