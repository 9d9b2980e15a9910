"""The command line on procedural frames and on the real demo video, with the project's weights."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from armory_siammtl.cli import main
from helpers import BAG_VIDEO

REPO = Path(__file__).resolve().parents[1]
STL = REPO / "armory_siammtl" / "model_weights" / "siamrpn_alex_stl.pth"


@pytest.fixture(scope="module")
def scene_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("scenes")
    assert (
        main(
            [
                "make-data",
                "--out",
                str(out),
                "--videos",
                "1",
                "--frames",
                "6",
                "--height",
                "240",
                "--width",
                "320",
                "--seed",
                "700000",
            ]
        )
        == 0
    )
    folder = out / "scene_700000"
    boxes = np.load(folder / "gt_boxes.npy")
    np.savetxt(folder / "gt.txt", boxes, delimiter=",", fmt="%d")
    return folder


def test_track_writes_boxes_that_follow_the_person(scene_dir, tmp_path):
    gt = np.loadtxt(scene_dir / "gt.txt", delimiter=",")
    init = ",".join(str(int(v)) for v in gt[0])
    assert main(["track", str(scene_dir), "--init", init, "--weights", str(STL), "--out", str(tmp_path)]) == 0
    boxes = np.loadtxt(tmp_path / "boxes.txt")
    assert boxes.shape == (6, 4)
    from armory_siammtl.tracking.metrics import video_mean_iou

    assert video_mean_iou(gt, boxes) > 0.3


def test_attack_writes_texture_video_and_checkpointed_miou(scene_dir, tmp_path):
    assert (
        main(
            [
                "attack",
                str(scene_dir),
                "--boxes",
                str(scene_dir / "gt.txt"),
                "--weights",
                str(STL),
                "--set",
                "max_iter=2",
                "--set",
                "checkpoints=[1]",
                "--set",
                "gradient=sign",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    report = json.loads((tmp_path / "scores.json").read_text())
    assert [c["steps"] for c in report["checkpoints"]] == [1, 2]
    assert set(report["checkpoints"][0]) == {"steps", "miou", "success", "precision20"}
    assert report["settings"]["max_iter"] == 2 and report["settings"]["shading"] is None  # OTB's digital patch
    assert (tmp_path / "texture.png").is_file() and (tmp_path / "adversarial.mp4").stat().st_size > 0


def test_track_a_real_video_and_refuse_bad_input(tmp_path, capsys):
    if not BAG_VIDEO.is_file():
        pytest.skip(f"real video {BAG_VIDEO} is absent (a fresh clone has no ../shared/)")
    assert (
        main(
            [
                "track",
                str(BAG_VIDEO),
                "--init",
                "280,100,380,210",
                "--weights",
                str(STL),
                "--out",
                str(tmp_path),
                "--max-frames",
                "5",
            ]
        )
        == 0
    )
    assert np.loadtxt(tmp_path / "boxes.txt").shape == (5, 4)
    assert (
        main(
            [
                "track",
                str(BAG_VIDEO),
                "--init",
                "900,900,950,990",
                "--weights",
                str(STL),
                "--out",
                str(tmp_path),
                "--max-frames",
                "3",
            ]
        )
        == 2
    )
    assert "outside" in capsys.readouterr().err
    assert main(["track", str(tmp_path / "none.avi"), "--init", "1,1,5,5", "--weights", str(STL)]) == 2


def test_train_on_coco_and_lasot_fixtures(tmp_path):
    from helpers import write_coco_fixture, write_lasot_fixture

    annotations = write_coco_fixture(tmp_path)
    write_lasot_fixture(tmp_path)
    out = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--out",
                str(out),
                "--kpt-weight",
                "0.2",
                "--head",
                "shallow",
                "--epochs",
                "1",
                "--iters",
                "2",
                "--batch-size",
                "2",
                "--instance-size",
                "159",
                "--val-videos",
                "1",
                "--val-pairs",
                "2",
                "--frames",
                "4",
                "--height",
                "160",
                "--width",
                "200",
                "--coco-annotations",
                str(annotations),
                "--coco-images",
                str(tmp_path / "images"),
                "--lasot",
                str(tmp_path / "person"),
            ]
        )
        == 0
    )
    epochs = json.loads((out / "metrics.json").read_text())["epochs"]
    assert len(epochs) == 1 and epochs[0]["train_kpt"] > 0 and (out / "best.pth").is_file()
    assert main(["train", "--out", str(out), "--coco-annotations", str(annotations)]) == 2


def test_deterministic_attacks_repeat_bit_for_bit(scene_dir, tmp_path):
    import torch

    from armory_siammtl.runtime import runtime_facts

    threads = torch.get_num_threads()
    outputs = []
    try:
        for run in ("a", "b"):
            assert (
                main(
                    [
                        "attack",
                        str(scene_dir),
                        "--boxes",
                        str(scene_dir / "gt.txt"),
                        "--weights",
                        str(STL),
                        "--set",
                        "max_iter=3",
                        "--set",
                        "checkpoints=[1]",
                        "--set",
                        "frame_batch=3",
                        "--deterministic",
                        "--out",
                        str(tmp_path / run),
                    ]
                )
                == 0
            )
            facts = runtime_facts()
            assert facts["deterministic"] and facts["threads"] == 1
            outputs.append(
                ((tmp_path / run / "scores.json").read_text(), (tmp_path / run / "texture.png").read_bytes())
            )
    finally:
        torch.use_deterministic_algorithms(False)
        torch.set_num_threads(threads)
    assert outputs[0] == outputs[1]


def test_attack_inputs_are_checked_with_clear_messages(scene_dir, tmp_path, capsys):
    base = ["attack", str(scene_dir), "--weights", str(STL), "--set", "max_iter=1", "--out", str(tmp_path / "o")]
    five = tmp_path / "five.txt"
    five.write_text("1,2,3,4,5\n" * 6)
    short = tmp_path / "short.txt"
    short.write_text("10,10,50,90\n" * 3)
    taken = tmp_path / "taken"
    taken.write_text("a file")
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    header = tmp_path / "header.txt"
    header.write_text("x,y,w,h\n" + "10,10,50,90\n" * 6)
    for extra, message in [
        ([], "needs --boxes (the ground truth) or --init"),
        (["--boxes", str(five)], "line 1: 5 numbers, expected 4 per line"),
        (["--boxes", str(short)], "3 lines for 6 frames"),
        (["--boxes", str(empty)], "holds no boxes (it is empty)"),
        (["--boxes", str(header)], "line 1: 'x,y,w,h' is not four numbers"),
        (
            ["--boxes", str(scene_dir / "gt.txt"), "--set", "instance_size=-1"],
            "instance_size must be a whole number from 127",
        ),
        (["--boxes", str(scene_dir / "gt.txt"), "--set", "step_size=inf"], "step_size must be a finite number"),
        (["--boxes", str(scene_dir / "gt.txt"), "--set", "steps=3"], "--set takes KEY=VALUE with KEY one of"),
        (["--boxes", str(scene_dir / "gt.txt"), "--max-frames", "-1"], "must be a whole number >= 1, got -1"),
        (["--boxes", str(scene_dir / "gt.txt"), "--threads", "-1"], "must be a whole number >= 1, got -1"),
        (["--boxes", str(scene_dir / "gt.txt"), "--out", str(taken)], "exists and is not a folder"),
    ]:
        assert main(base + extra) == 2, extra
        captured = capsys.readouterr()
        assert message in captured.err + captured.out, (extra, message)


def test_training_sizes_of_zero_fail_before_any_work(tmp_path, capsys):
    for flag in ("--epochs", "--batch-size", "--iters"):
        assert main(["train", "--out", str(tmp_path / "run"), flag, "0"]) == 2
        assert "must be a whole number >= 1, got 0" in capsys.readouterr().err
    assert not (tmp_path / "run" / "best.pth").exists()


def test_describe_weights_makes_a_plain_pysot_file_self_describing(tmp_path, capsys):
    import torch

    from armory_siammtl.models import ModelVariant, UnverifiedWeightsWarning, load_model
    from armory_siammtl.models.weights_file import read_weights

    plain = tmp_path / "pysot.pth"
    torch.save({"state_dict": read_weights(STL)["state_dict"], "epoch": 19}, plain)
    out = tmp_path / "described.pth"
    with pytest.warns(UnverifiedWeightsWarning):  # the input itself is unverified
        assert (
            main(["describe-weights", "--weights", str(plain), "--training-command", "pysot train", "--out", str(out)])
            == 0
        )
    assert "lambda_K=0.0, head=None" in capsys.readouterr().out
    assert read_weights(out)["siammtl"]["command"] == "pysot train"
    load_model(ModelVariant(0.0, weights=out))  # verified by its metadata: no warning, no error
    with pytest.raises(ValueError, match="per its own metadata"):
        load_model(ModelVariant(0.2, "shallow", weights=out))
    assert main(["describe-weights", "--weights", str(out), "--out", str(out)]) == 2


def test_validate_lists_every_ablation_model_with_the_commands_that_train_it(tmp_path, capsys):
    from armory_siammtl.armory.scenarios import MODELS

    saved = tmp_path / "saved_models"
    saved.mkdir()
    scenarios = sorted(str(p) for p in (REPO / "scenarios").glob("carla_*.json") if "_d02" not in p.name)
    assert main(["validate", *scenarios, "--weights-dir", str(saved)]) == 2
    lines = capsys.readouterr().out.splitlines()
    for stem, variant in MODELS.items():
        line = next(line for line in lines if f"{variant.weights} are not installed" in line)
        if stem in ("stl", "mtl_l02"):  # shipped: installed by setup
            assert "run `armory-siammtl setup`" in line
            continue
        trains = line.count("`armory-siammtl train --recipe skelevision")
        assert trains == (2 if variant.pretrained_head else 1), line
        if variant.pretrained_head:  # the head alone first, then the whole model from it
            assert "--head-only --init-weights siamrpn_alex_dwxcorr.pth" in line
            assert f"--init-weights runs/siamrpn_alex_{stem}_head/best.pth" in line and "--pretrained-head`" in line


def test_validate_names_weights_that_are_not_installed(tmp_path, capsys):
    saved = tmp_path / "saved_models"
    saved.mkdir()
    shutil.copy(STL, saved / STL.name)  # ARMORY's round: the weights file alone
    scenarios = [
        str(REPO / "scenarios" / name) for name in ("carla_stl.json", "carla_mtl_l02.json", "carla_mtl_l04.json")
    ]
    assert main(["validate", *scenarios, "--weights-dir", str(saved)]) == 2
    out = capsys.readouterr().out
    assert f"ok      {scenarios[0]}" in out
    assert "siamrpn_alex_mtl_l02.pth are not installed in" in out and "run `armory-siammtl setup`" in out
    assert (
        "siamrpn_alex_mtl_l04.pth are not installed in" in out
        and "this project ships none for lambda_K=0.4, head='shallow'; train them as the paper did with "
        "`armory-siammtl train --recipe skelevision --out runs/siamrpn_alex_mtl_l04 --kpt-weight 0.4 "
        "--head shallow --init-weights siamrpn_alex_dwxcorr.pth --coco-annotations"
        in out
    )
    assert main(["validate", scenarios[0], "--weights-dir", str(saved), "--load"]) == 0  # predict + gradient too
    assert f"ok      {scenarios[0]}" in capsys.readouterr().out


def test_reproduce_dry_run_lists_every_run_and_the_training_it_needs(tmp_path, capsys):
    from armory_siammtl.armory.scenarios import MODELS
    from armory_siammtl.reproduce.tables import PAPER_TABLES

    weights = tmp_path / "weights"
    weights.mkdir()
    shutil.copy(STL, weights / STL.name)
    out = tmp_path / "table3"
    assert (
        main(
            [
                "reproduce",
                "table3",
                "--weights-dir",
                str(weights),
                "--dry-run",
                "--carla-frames",
                "10",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    stems = PAPER_TABLES["table3"].models
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| model")]
    assert [row.split(" | ")[0][2:] for row in rows] == [s for s in stems for _ in (0.1, 0.2)]
    assert all(("present" in row) == row.startswith("| stl |") for row in rows)
    hours = {float(row.split(" | ")[3].rstrip(" |")) for row in rows}
    assert len(hours) == 1 and hours.pop() > 0  # every model of the family costs the same per run
    trains = [line for line in text.splitlines() if line.startswith("  armory-siammtl train")]
    pretrained = sum(MODELS[s].pretrained_head for s in stems)
    assert len(trains) == len(stems) - 1 + pretrained
    assert not out.exists()  # a dry run writes nothing

    assert (
        main(["reproduce", "table2", "--weights-dir", str(weights), "--otb-root", str(tmp_path), "--out", str(out)])
        == 2
    )
    error = capsys.readouterr().err
    assert "needs weights not in" in error and "siamrpn_alex_mtl_l02.pth; give --train" in error
    assert "armory-siammtl train --recipe skelevision --out " + str(out / "runs" / "siamrpn_alex_mtl_l02") in error
    assert not (out / "results.csv").exists()


def test_train_runs_a_given_trainer_class(tmp_path):
    """``cmd_train(trainer_class=...)`` trains with the subclass's objective (what scripts/ probes use): a term
    it adds to the training loss is logged with the epoch."""
    import torch

    from armory_siammtl.cli import build_parser
    from armory_siammtl.cli.train import cmd_train
    from armory_siammtl.training.trainer import Trainer

    class WithExtraTerm(Trainer):
        def step_losses(self, batch, net=None, model=None):
            losses = super().step_losses(batch, net, model)
            if net is not None:
                losses["extra"] = torch.tensor(0.25)
            return losses

    argv = ["train", "--out", str(tmp_path / "run"), "--epochs", "1", "--iters", "2", "--batch-size", "2"]
    argv += ["--instance-size", "159", "--videos", "1", "--val-videos", "1", "--val-pairs", "2", "--frames", "4"]
    argv += ["--height", "160", "--width", "200"]
    args = build_parser().parse_args(argv)
    args.argv = argv
    cmd_train(args, trainer_class=WithExtraTerm)
    epochs = json.loads((tmp_path / "run" / "metrics.json").read_text())["epochs"]
    assert [row["train_extra"] for row in epochs] == [0.25]
