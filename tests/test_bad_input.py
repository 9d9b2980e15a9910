"""Bad input, one row per cause (issue 29's probes), by entry point: what is given, where, and the refusal
that names it. Other files test the same checks in their own context; this table is for scanning."""

import json
import re

import numpy as np
import pytest
import torch

from armory_siammtl.attacks import AdversarialTexture
from armory_siammtl.cli import main
from armory_siammtl.estimators import PyTorchSiamRPN
from armory_siammtl.evaluation.sweep_config import sweep_config_from_dict
from armory_siammtl.models.manifest import SHIPPED_WEIGHTS
from armory_siammtl.tracking.tracker import SiamRPNTracker
from helpers import calibrated_model, moving_block_clip

STL = str(SHIPPED_WEIGHTS / "siamrpn_alex_stl.pth")
SWEEP = {
    "models": [{"name": "STL", "weights": STL, "kpt_weight": 0.0}],
    "step_sizes": [0.1],
    "max_iter": 1,
    "checkpoints": [1],
    "dataset": {"kind": "procedural", "videos": 1, "frames": 3, "height": 96, "width": 128},
}


@pytest.fixture(scope="module")
def estimator():
    return PyTorchSiamRPN(calibrated_model(), device_type="cpu")


@pytest.fixture(scope="module")
def clip():
    video, boxes = moving_block_clip(num_frames=4)
    return (
        video[None],
        [{"boxes": boxes}],
        [{"gs_coords": np.array([[60, 40], [118, 44], [120, 90], [58, 86]]), "masks": np.ones((4, 96, 128), np.uint8)}],
    )


def _gt(boxes, row, value):
    boxes = boxes.copy()
    boxes[row] = value
    return [{"boxes": boxes}]


ATTACK_CASES = [  # (what is given, keyword changes to AdversarialTexture, the refusal)
    ("step_size inf", {"step_size": float("inf")}, "step_size must be a finite number"),
    ("step_size beyond float32", {"step_size": 1e39}, "step_size must be a finite number"),
    ("texture_size (0, 0)", {"texture_size": (0, 0)}, "texture_size[0] must be a whole number from 1"),
    ("texture_size (-5, 5)", {"texture_size": (-5, 5)}, "texture_size[0] must be a whole number from 1"),
    ("checkpoints past max_iter", {"checkpoints": [100]}, None),  # dropped with a warning (ARMORY's --check)
    ("ARMORY's batch_size 2", {"batch_size": 2}, "batch_size must be 1"),
]


@pytest.mark.parametrize("what,change,message", ATTACK_CASES, ids=[c[0] for c in ATTACK_CASES])
def test_attack_construction(estimator, what, change, message):
    if message is None:
        assert max(AdversarialTexture(estimator, max_iter=5, **change).checkpoints) == 5
        return
    with pytest.raises(ValueError, match=re.escape(message)):
        AdversarialTexture(estimator, **change)


def test_attack_set_params_after_construction(estimator):
    attack = AdversarialTexture(estimator, verbose=False)
    with pytest.raises(ValueError, match="gradient must be one of"):
        attack.set_params(gradient="adam")
    assert attack.gradient == "sign"


GENERATE_CASES = [  # (what is given, how the input changes, the refusal)
    ("a NaN ground-truth coordinate", lambda x, y, m: (x, _gt(y[0]["boxes"], (2, 1), np.nan), m), "row 2 holds NaN"),
    ("frame 0 absent", lambda x, y, m: (x, _gt(y[0]["boxes"], 0, 0.0), m), "frame 0 has no box"),
    ("a box outside the frame", lambda x, y, m: (x, _gt(y[0]["boxes"], 1, [500, 500, 540, 560]), m), "lies outside"),
    (
        "a patch outside the frame",
        lambda x, y, m: (x, y, [dict(m[0], gs_coords=m[0]["gs_coords"] + 100000)]),
        "lies outside the 128x96 frame in every frame",
    ),
    ("0-255 floats", lambda x, y, m: (x * 255, y, m), "divide by 255"),
]


@pytest.mark.parametrize("what,make,message", GENERATE_CASES, ids=[c[0] for c in GENERATE_CASES])
def test_attack_generate(estimator, clip, what, make, message):
    x, y, meta = make(*clip)
    with pytest.raises(ValueError, match=re.escape(message)):
        AdversarialTexture(estimator, max_iter=1, frame_batch=None, verbose=False).generate(x, y, y_patch_metadata=meta)


def test_absent_targets_are_left_out_of_the_score_not_counted_as_failures(estimator, clip):
    """OTB's 0,0,0,0 and UAV123's NaN rows mean the target is absent: scored frames are those with it."""
    from armory_siammtl.tracking.metrics import video_mean_iou

    x, y, _ = clip
    pred = estimator.predict(x, y_init=y[0]["boxes"][:1])[0]["boxes"]
    absent = y[0]["boxes"].astype(np.float64).copy()
    absent[2] = 0.0
    kept = [1, 3]
    assert video_mean_iou(absent, pred) == pytest.approx(video_mean_iou(y[0]["boxes"][[0] + kept], pred[[0] + kept]))
    assert np.isfinite(estimator.loss_gradient(x, [{"boxes": absent}])).all()


def test_tracker_refuses_0_255_floats():
    tracker = SiamRPNTracker(calibrated_model())
    video, boxes = moving_block_clip(num_frames=3)
    with pytest.raises(ValueError, match=r"pixels must lie in \[0, 1\]"):
        tracker.track(torch.from_numpy(video * 255), boxes[0])


SWEEP_CASES = [  # (what is given, config changes, the refusal)
    ("step size inf", {"step_sizes": [float("inf")]}, "step_sizes[0] must be a finite number"),
    ("seeds [true]", {"seeds": [True]}, "seeds[0] must be a whole number"),
    (
        'pretrained_head "false"',
        {"models": [dict(SWEEP["models"][0], pretrained_head="false")]},
        "pretrained_head must be true or false",
    ),
    (
        "16x16 frames",
        {"dataset": dict(SWEEP["dataset"], height=16, width=16)},
        "dataset height must be a whole number >= 64",
    ),
    ("window_influence 2", {"window_influence": 2}, "window_influence must be a number in [0, 1]"),
]


@pytest.mark.parametrize("what,change,message", SWEEP_CASES, ids=[c[0] for c in SWEEP_CASES])
def test_sweep_config(what, change, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        sweep_config_from_dict({**SWEEP, **change})


def test_sweep_state(tmp_path):
    from armory_siammtl.evaluation.sweep import run_sweep

    config = sweep_config_from_dict(SWEEP)
    results = tmp_path / "r.csv"
    results.write_text("model,miou\nSTL,99.0\n")  # no settings beside it, and not ours
    with pytest.raises(ValueError, match="not a sweep results file"):
        run_sweep(config, results, progress=False)
    from armory_siammtl.evaluation.results_file import COLUMNS

    results.write_text(",".join(COLUMNS) + "\n")
    with pytest.raises(ValueError, match="has no r.csv.settings.json beside it"):
        run_sweep(config, results, progress=False)
    for garbage, message in [
        ("{not json", "not readable JSON"),
        ("[1, 2]", "not a sweep's settings file"),
        ('{"dataset": {}}', "not a sweep's settings file"),
    ]:
        (tmp_path / "r.csv.settings.json").write_text(garbage)
        with pytest.raises(ValueError, match=message):
            run_sweep(config, results, progress=False)
    results.write_bytes(bytes(range(256)) * 4)  # random bytes
    with pytest.raises(ValueError, match="r.csv is not"):
        run_sweep(config, results, progress=False)
    carla = sweep_config_from_dict({**SWEEP, "dataset": {"kind": "carla", "data_dir": str(tmp_path / "empty")}})
    with pytest.raises(FileNotFoundError, match="carla_video_tracking_dev is not in .*empty"):
        run_sweep(carla, tmp_path / "c.csv", progress=False)
    assert not (tmp_path / "c.csv.settings.json").exists()  # refused before anything was written


def test_impossible_and_conflicting_rows_are_left_out(tmp_path):
    from armory_siammtl.evaluation.results_file import COLUMNS, read_rows

    base = {
        "model": "STL",
        "kpt_weight": "0.0",
        "head": "",
        "pretrained_head": "False",
        "dataset": "procedural",
        "video": "v",
        "step_size": "0.1",
        "seed": "0",
        "success": "",
        "precision20": "",
        "runtime": "r",
    }
    rows = [
        dict(base, steps="0", miou="70"),
        dict(base, steps="1", miou="-7"),
        dict(base, video="w", steps="0", miou="250"),
        dict(base, video="u", steps="0", miou="6.1"),
        dict(base, video="u", steps="0", miou="22.6"),
        dict(base, video="z", steps="x", miou="5"),
    ]
    path = tmp_path / "rows.csv"
    path.write_text(",".join(COLUMNS) + "\n" + "".join(",".join(r[c] for c in COLUMNS) + "\n" for r in rows))
    kept, dropped, reasons = read_rows(path)
    assert [(r["video"], r["steps"]) for r in kept] == [("v", "0")] and dropped == 5
    assert any("-7" in r for r in reasons) and any("two different results" in r for r in reasons)


CLI_CASES = [  # (what is given, arguments, the refusal)
    (
        "--threads -1",
        ["track", "v", "--init", "1,1,5,5", "--weights", STL, "--threads", "-1"],
        "must be a whole number >= 1",
    ),
    (
        "--max-frames -1",
        ["track", "v", "--init", "1,1,5,5", "--weights", STL, "--max-frames", "-1"],
        "must be a whole number >= 1",
    ),
    ("16x16 make-data", ["make-data", "--out", "o", "--height", "16"], "must be a whole number from 64"),
    ("16x16 training", ["train", "--out", "o", "--width", "16"], "must be a whole number from 64"),
    (
        "--set with a key that is none",
        ["attack", "v", "--init", "1,1,5,5", "--weights", STL, "--set", "speed=2"],
        "--set takes KEY=VALUE",
    ),
    ("--ray-gpus -1 on sweep", ["sweep", "grid.yaml", "--ray-gpus", "-1"], "must be a finite number >= 0, got -1"),
    ("--ray-gpus nan on reproduce", ["reproduce", "table2", "--ray-gpus", "nan"], "must be a finite number >= 0"),
    ("--ray-cpus 0 on sweep", ["sweep", "grid.yaml", "--ray-cpus", "0"], "must be a finite number in (0, 1024]"),
]


@pytest.mark.parametrize("what,argv,message", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_command_line(capsys, what, argv, message):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert message in captured.err + captured.out


def test_command_line_output_paths(tmp_path, capsys):
    folder = tmp_path / "a_folder"
    folder.mkdir()
    taken = tmp_path / "a_file"
    taken.write_text("")
    assert main(["describe-weights", "--weights", STL, "--out", str(folder)]) == 2
    assert "is a folder" in capsys.readouterr().err
    assert main(["evaluate-real", str(tmp_path), "--weights", STL, "--out", str(taken)]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "none.csv"), "--out", str(taken)]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err


def test_manifest_and_checkpoint_values_that_are_not_numbers_are_named(tmp_path):
    from armory_siammtl.models import ModelVariant, load_model
    from armory_siammtl.models.weights_file import sha256_of

    weights = tmp_path / "w.pth"
    weights.write_bytes(open(STL, "rb").read())
    (tmp_path / "armory_siammtl_manifest.json").write_text(
        json.dumps({"weights": [{"file": "w.pth", "sha256": sha256_of(weights), "kpt_weight": "zero", "head": None}]})
    )
    with pytest.raises(
        ValueError, match="armory_siammtl_manifest.json.* records lambda_K 'zero', which is not a number"
    ):
        load_model(ModelVariant(0.0, weights=weights))


@pytest.mark.parametrize("change", [dict(cpus=0), dict(gpus=-0.5), dict(gpus=float("nan")), dict(videos_in_flight=0)])
def test_ray_cluster_refuses_what_no_cell_can_ask_for(change):
    from armory_siammtl.evaluation.ray_sweep import RayCluster

    with pytest.raises(ValueError, match="a Ray cell needs cpus > 0, gpus >= 0"):
        RayCluster(**change)
