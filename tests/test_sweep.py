"""The sweep (resumable, checkpointed) and its report, on tiny procedural videos with the project's weights."""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from armory_siammtl.armory.scenario_checks import validate_scenario
from armory_siammtl.evaluation.report import read_results, write_report
from armory_siammtl.evaluation.statistics import paired_comparisons
from armory_siammtl.evaluation.sweep import ResultsFile, emit_scenarios, run_sweep
from armory_siammtl.evaluation.sweep_config import load_sweep_config, sweep_config_from_dict
from armory_siammtl.evaluation.tables import markdown_table, paper_table, verdict_table

WEIGHTS = Path(__file__).resolve().parents[1] / "armory_siammtl" / "model_weights"
MODELS = [
    {"name": "STL", "weights": str(WEIGHTS / "siamrpn_alex_stl.pth"), "kpt_weight": 0.0},
    {"name": "MTL-0.2", "weights": str(WEIGHTS / "siamrpn_alex_mtl_l02.pth"), "kpt_weight": 0.2, "head": "shallow"},
]
RAW = {
    "models": MODELS,
    "step_sizes": [0.1, 0.2],
    "max_iter": 2,
    "checkpoints": [1, 2],
    "frame_batch": 3,
    "dataset": {"kind": "procedural", "videos": 1, "frames": 5, "height": 180, "width": 240, "seed": 910000},
}


class Interrupted(Exception):
    pass


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("sweep") / "results.csv"
    run_sweep(sweep_config_from_dict(RAW), path, progress=False)
    return path


def test_resumed_sweep_equals_uninterrupted_one(full_run, tmp_path):
    path = tmp_path / "results.csv"
    finished = []

    def stop_after_two(key):
        finished.append(key)
        if len(finished) == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        run_sweep(sweep_config_from_dict(RAW), path, progress=False, on_cell=stop_after_two)
    assert len(ResultsFile(path).done()) == 2 and not list(tmp_path.glob(".*.tmp"))
    rerun = []
    run_sweep(sweep_config_from_dict(RAW), path, progress=False, on_cell=rerun.append)
    assert len(rerun) == 2 and not set(rerun) & set(finished), "the resumed sweep redid finished cells"
    assert path.read_text() == full_run.read_text()
    table = read_results(path)
    assert len(table) == 2 * 2 * 1 * 3  # models x step sizes x videos x (benign + 2 checkpoints)


def _spy_on_resumes(monkeypatch, stop_at=None):
    """Records the step each attack goes on from (None: from 0); with ``stop_at``, the first attack dies right
    after its state at that step is saved."""
    import armory_siammtl.evaluation.cells as cells

    resumed, real = [], cells.run_attack

    def run_attack(*args, on_state=None, resume=None, **kwargs):
        resumed.append(None if resume is None else resume.step)

        def save_then_die(state):
            on_state(state)
            if len(resumed) == 1 and state.step == stop_at:
                raise Interrupted

        return real(*args, on_state=save_then_die if stop_at else on_state, resume=resume, **kwargs)

    monkeypatch.setattr(cells, "run_attack", run_attack)
    return resumed


def test_raising_max_iter_goes_on_from_each_cells_saved_state(full_run, tmp_path, monkeypatch):
    path = tmp_path / "results.csv"
    run_sweep(sweep_config_from_dict(dict(RAW, max_iter=1, checkpoints=[1])), path, progress=False)
    assert sorted(p.name for p in (tmp_path / "results.csv.cells").glob("*.state.npz")) == [
        "MTL-0.2_d0.1_scene_910000_s0.state.npz",
        "MTL-0.2_d0.2_scene_910000_s0.state.npz",
        "STL_d0.1_scene_910000_s0.state.npz",
        "STL_d0.2_scene_910000_s0.state.npz",
    ]
    resumed = _spy_on_resumes(monkeypatch)
    run_sweep(sweep_config_from_dict(RAW), path, progress=False)  # max_iter 1 -> 2: the same file resumes
    assert resumed == [1, 1, 1, 1], "each cell goes on from its first step instead of redoing it"
    assert sorted(path.read_text().splitlines()) == sorted(full_run.read_text().splitlines())
    settings = json.loads(path.with_name(path.name + ".settings.json").read_text())
    assert settings["spec"]["max_iter"] == 2 and settings["spec"]["checkpoints"] == [1, 2]


def test_a_sweep_killed_within_a_cell_goes_on_from_its_last_saved_step(full_run, tmp_path, monkeypatch, capsys):
    import shutil

    import armory_siammtl.evaluation.cell_state as cell_state

    monkeypatch.setattr(cell_state, "SAVE_EVERY_S", 0.0)  # a save after every step
    path, cells = tmp_path / "results.csv", tmp_path / "results.csv.cells"
    resumed = _spy_on_resumes(monkeypatch, stop_at=1)
    with pytest.raises(Interrupted):
        run_sweep(sweep_config_from_dict(RAW), path, progress=False)
    assert not ResultsFile(path).done() and [p.name for p in cells.glob("*.npz")] == [
        "STL_d0.1_scene_910000_s0.state.npz"
    ]
    # a state saved for another cell (here: another step size) is not used there
    shutil.copy(cells / "STL_d0.1_scene_910000_s0.state.npz", cells / "STL_d0.2_scene_910000_s0.state.npz")
    resumed.clear()
    run_sweep(sweep_config_from_dict(RAW), path, progress=False)
    assert resumed == [1, None, None, None]
    assert "STL_d0.2_scene_910000_s0.state.npz: saved under other settings" in capsys.readouterr().out
    assert sorted(path.read_text().splitlines()) == sorted(full_run.read_text().splitlines())


def test_checkpointed_steps_equal_separate_runs(full_run, tmp_path):
    raw = dict(RAW, models=MODELS[:1], step_sizes=[0.2], max_iter=1, checkpoints=[1])
    run_sweep(sweep_config_from_dict(raw), tmp_path / "one_step.csv", progress=False)
    separate = read_results(tmp_path / "one_step.csv").set_index("steps")["miou"]
    full = read_results(full_run)
    checkpointed = full[(full["model"] == "STL") & (full["step_size"] == "0.2")].set_index("steps")["miou"]
    assert separate[1] == checkpointed[1] and separate[0] == checkpointed[0]


def test_report_has_the_papers_shape(full_run, tmp_path):
    written = write_report(full_run, tmp_path)
    table = written["table"]
    assert list(table.index) == [("benign", ""), ("0.1", 1), ("0.1", 2), ("0.2", 1), ("0.2", 2)]
    assert list(table.columns) == ["STL", "MTL-0.2"]
    rows = read_results(full_run)
    assert table.loc[("0.2", 2), "STL"] == pytest.approx(
        rows[(rows["model"] == "STL") & (rows["step_size"] == "0.2") & (rows["steps"] == 2)]["miou"].mean()
    )
    lines = written["table_md"].read_text().splitlines()
    assert sum(line.startswith("| ") for line in lines) == 1 + 5
    for name in ("robustness", "per_video", "frame", "iou_per_frame", "iou_per_frame_all", "textures"):
        assert written[name].stat().st_size > 10_000, name
    page = written["report_md"].read_text()
    for link in (
        "robustness.png",
        "per_video.png",
        "frame.png",
        "iou_per_frame.png",
        "iou_per_frame_all.png",
        "textures.png",
        "showcase_STL.mp4",
        "showcase_MTL_0_2.mp4",
    ):
        assert f"({link})" in page and (tmp_path / link).is_file(), link
    assert "| MTL-0.2 |" in page  # the paired comparisons
    from test_armory import decoded_frames

    assert [decoded_frames(v) for v in written["videos"]] == [RAW["dataset"]["frames"]] * 2


def test_cell_records_hold_what_the_rows_say(full_run):
    from armory_siammtl.evaluation.cell_records import cell_path, load_cell
    from armory_siammtl.tracking.metrics import video_mean_iou

    rows = read_results(full_run)
    for row in rows[rows["steps"] > 0].itertuples():
        record = load_cell(cell_path(full_run, row.model, row.step_size, row.video, row.seed))
        k = list(record["steps"]).index(row.steps)
        assert 100 * video_mean_iou(record["gt_boxes"], record["adversarial_boxes"][k]) == pytest.approx(
            row.miou, abs=1e-3
        )
        assert (
            record["textures"].shape[0] == len(RAW["checkpoints"])
            and 0 <= record["textures"].min() <= record["textures"].max() <= 1
        )
    benign = rows[rows["steps"] == 0].iloc[0]
    record = load_cell(cell_path(full_run, benign.model, benign.step_size, benign.video, benign.seed))
    assert 100 * video_mean_iou(record["gt_boxes"], record["benign_boxes"]) == pytest.approx(benign.miou, abs=1e-3)


def _synthetic_results(mtl_shift: float, videos: int = 8, seeds: int = 2) -> pd.DataFrame:
    """STL and MTL rows: equal benign mIoU, attacked mIoU that differ by ``mtl_shift`` plus noise."""
    rng = np.random.default_rng(0)
    rows = []
    for video in range(videos):
        for seed in range(seeds):
            for model, kpt, shift in (("STL", 0.0, 0.0), ("MTL", 0.2, mtl_shift)):
                base = dict(
                    model=model,
                    kpt_weight=kpt,
                    head="" if kpt == 0 else "shallow",
                    pretrained_head=False,
                    dataset="procedural",
                    video=f"v{video}",
                    step_size="0.1",
                    seed=seed,
                    runtime="test",
                )
                rows.append(dict(base, steps=0, miou=70.0 + video))
                rows.append(dict(base, steps=10, miou=20.0 + video + shift + rng.normal(0, 1)))
    return pd.DataFrame(rows)


def test_table_marks_only_significant_differences():
    above = _synthetic_results(mtl_shift=10.0)
    comparisons = paired_comparisons(above, "STL")
    assert list(comparisons["verdict"]) == ["no difference shown", "MTL > STL"]
    shift = comparisons.loc[1]
    assert shift["n"] == 16 and 8 < shift["mean_diff"] < 12 and shift["ci_low"] < shift["mean_diff"] < shift["ci_high"]
    table = paper_table(above)
    lines = markdown_table(table, "STL", verdicts=verdict_table(comparisons, table)).rstrip().splitlines()
    assert "| benign |  | **73.5** | **73.5** |" in lines
    attacked = next(line for line in lines if line.startswith("| 0.1 | 10 |")).split(" | ")
    assert not attacked[2].endswith("†") and attacked[3].startswith("**") and "†" in attacked[3]
    assert "α = 0.05" in lines[-1]
    below = _synthetic_results(mtl_shift=-10.0)
    assert list(paired_comparisons(below, "STL")["verdict"]) == ["no difference shown", "MTL < STL"]
    noise = _synthetic_results(mtl_shift=0.0)
    assert paired_comparisons(noise, "STL").loc[1, "verdict"] == "no difference shown"
    few = _synthetic_results(mtl_shift=10.0, videos=2, seeds=1)  # 2 pairs can never be significant
    assert paired_comparisons(few, "STL").loc[1, "verdict"] == "no difference shown"
    assert "(column Baseline)" in markdown_table(table.rename(columns={"STL": "Baseline"}), "Baseline")
    resumed = above.iloc[::-1]  # a resumed sweep may write MTL's rows first: the columns stay STL, MTL
    assert list(paper_table(resumed).columns) == ["STL", "MTL"]
    pd.testing.assert_frame_equal(paper_table(resumed).loc[table.index], table)


def test_a_step_count_only_some_cells_reached_is_averaged_over_those_and_named_unfinished():
    from armory_siammtl.evaluation.statistics import cell_statistics
    from armory_siammtl.evaluation.tables import complete_cells, unfinished_rows

    frame = _synthetic_results(mtl_shift=5.0)
    later = frame[(frame["steps"] == 10) & frame["video"].isin(["v0", "v1", "v2"])].assign(steps=50)
    later = later.assign(miou=later["miou"] - 10.0)
    stl_only = frame[(frame["steps"] == 10) & (frame["video"] == "v3") & (frame["model"] == "STL")].assign(steps=50)
    frame = pd.concat([frame, later, stl_only.assign(miou=0.0)], ignore_index=True)  # MTL has not reached 50 there
    table = paper_table(frame)
    expected = later.groupby("model")["miou"].mean()
    assert table.loc[("0.1", 50), "STL"] == pytest.approx(expected["STL"])  # v3's STL-only 0 left out
    assert table.loc[("0.1", 50), "MTL"] == pytest.approx(expected["MTL"])
    assert table.loc[("0.1", 10), "STL"] == pytest.approx(
        frame[(frame.steps == 10) & (frame.model == "STL")].miou.mean()
    )
    note = unfinished_rows(cell_statistics(complete_cells(frame)))
    assert "δ 0.1, 50 steps: 6 of 16" in note and "10 steps" not in note
    assert unfinished_rows(cell_statistics(complete_cells(_synthetic_results(0.0)))) == ""


def test_intervals_and_tests_do_not_depend_on_the_order_of_the_rows():
    """A resumed or extended sweep appends its cells in another order: the report's numbers stay the same."""
    from armory_siammtl.evaluation.statistics import cell_statistics

    frame = _synthetic_results(mtl_shift=3.0)
    shuffled = frame.sample(frac=1.0, random_state=1).reset_index(drop=True)
    key = ["step_size", "steps", "model"]
    ordered = cell_statistics(frame).sort_values(key).reset_index(drop=True)
    assert ordered.equals(cell_statistics(shuffled).sort_values(key).reset_index(drop=True))
    assert (ordered["ci_low"] < ordered["ci_high"]).all()
    paired = paired_comparisons(frame, "STL").sort_values(["steps"]).reset_index(drop=True)
    assert paired.equals(paired_comparisons(shuffled, "STL").sort_values(["steps"]).reset_index(drop=True))


def test_intervals_cover_the_mean_and_widen_with_spread():
    low, high = paper_table(_synthetic_results(0.0), "ci_low"), paper_table(_synthetic_results(0.0), "ci_high")
    mean = paper_table(_synthetic_results(0.0))
    assert ((low <= mean) & (mean <= high)).all().all()
    assert (high - low).loc[("0.1", 10), "STL"] > 1.0  # the videos differ by up to 7 points


def test_emitted_scenarios_validate(tmp_path):
    paths = emit_scenarios(sweep_config_from_dict(RAW), tmp_path)
    assert len(paths) == 4
    for path in paths:
        config = validate_scenario(path, WEIGHTS)
        assert config["attack"]["kwargs"]["max_iter"] == 2 and config["attack"]["kwargs"]["checkpoints"] == [1, 2]
        assert config["dataset"]["name"] == "siammtl_embedded_tracking" and config["dataset"]["frames"] == 5
    stl = json.loads(paths[0].read_text())
    assert stl["model"]["weights_file"] == "siamrpn_alex_stl.pth" and stl["model"]["model_kwargs"]["head"] is None


@pytest.mark.parametrize(
    "change, message",
    [
        ({"models": []}, "models must be a non-empty list"),
        ({"models": [dict(MODELS[1], head=None)]}, "needs a head"),
        ({"models": [MODELS[0], MODELS[0]]}, "unique"),
        ({"dataset": {"kind": "kitti"}}, "dataset kind must be one of"),
        ({"dataset": {"kind": "otb"}}, "needs 'root'"),
        ({"step_sizes": [0.1, -0.2]}, "step_sizes[1] must be a finite number in (0,"),
        ({"step_sizes": [float("inf")]}, "step_sizes[0] must be a finite number"),
        ({"step_sizes": [1e39]}, "step_sizes[0] must be a finite number"),
        ({"steps": [0, 10]}, "'steps' is neither"),
        ({"checkpoints": [0, 10], "max_iter": 5}, "checkpoints [10] lie beyond max_iter=5"),
        ({"preset": "paper"}, "preset must be one of"),
        ({"crop": "round"}, "tracking crop must be one of"),
        ({"window_influence": 2}, "window_influence must be a number in [0, 1]"),
        ({"seeds": [True]}, "seeds[0] must be a whole number"),
        ({"models": [dict(MODELS[0], pretrained_head="false")]}, "pretrained_head must be true or false"),
        ({"models": [dict(MODELS[0], sha256="0" * 64)]}, "'weights_sha256'"),
        ({"budget": 3}, "unknown sweep config keys ['budget']"),
        ({"seed": 3}, "seeds: [0, 1, 2]"),
        ({"seeds": [0, 0]}, "repeat a value"),
        ({"seeds": []}, "seeds must be"),
        ({"seeds": [0, 1], "frame_batch": None}, "several seeds change nothing"),
        ({"init": "zeros"}, "init must be one of"),
    ],
)
def test_bad_configs_are_refused(change, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        sweep_config_from_dict(dict(RAW, **change))


def test_bad_files_are_refused(tmp_path):
    (tmp_path / "broken.yaml").write_text("models: [unclosed\n")
    with pytest.raises(ValueError, match="not valid YAML"):
        load_sweep_config(tmp_path / "broken.yaml")
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="not a sweep results file"):
        ResultsFile(tmp_path / "other.csv")
    missing = dict(RAW, models=[dict(MODELS[0], weights=str(tmp_path / "gone.pth"))])
    with pytest.raises(FileNotFoundError, match="no weights file"):
        run_sweep(sweep_config_from_dict(missing), tmp_path / "r.csv", progress=False)
    assert not (tmp_path / "r.csv").exists()
    np.testing.assert_equal(load_sweep_config(_write_json(tmp_path, RAW)).steps, (1, 2))


def _write_json(folder, raw):
    path = folder / "sweep.json"
    path.write_text(json.dumps(raw))
    return path


def test_resuming_with_other_settings_is_refused(full_run, tmp_path):
    import shutil

    path = tmp_path / "results.csv"
    shutil.copy(full_run, path)
    shutil.copy(full_run.with_name(full_run.name + ".settings.json"), tmp_path)
    with pytest.raises(ValueError, match="frame_batch=3"):
        run_sweep(sweep_config_from_dict(dict(RAW, frame_batch=4)), path, progress=False)
    renamed = [dict(MODELS[0]), dict(MODELS[1], weights=MODELS[0]["weights"])]
    with pytest.raises(ValueError, match=r"models \['MTL-0.2'\] with other weights"):
        run_sweep(sweep_config_from_dict(dict(RAW, models=renamed, step_sizes=[0.1])), path, progress=False)
    assert path.read_text() == full_run.read_text()


def test_otb_sweeps_emit_scenarios_on_the_otb_dataset(tmp_path):
    raw = dict(RAW, dataset={"kind": "otb", "root": str(tmp_path / "OTB2015"), "frames": 50})
    paths = emit_scenarios(sweep_config_from_dict(raw), tmp_path / "out")
    dataset = json.loads(paths[0].read_text())["dataset"]
    assert dataset["name"] == "otb2015_person" and dataset["dataset_dir"] == str(tmp_path / "OTB2015")
    assert dataset["max_frames"] == 50 and json.loads(paths[0].read_text())["attack"]["kwargs"]["shading"] is None


def test_seeds_are_a_sweep_dimension_and_runtimes_are_recorded(tmp_path):
    import torch

    raw = dict(RAW, models=MODELS[:1], step_sizes=[0.2], max_iter=2, checkpoints=[2], seeds=[0, 1])
    path = tmp_path / "seeds.csv"
    run_sweep(sweep_config_from_dict(raw), path, progress=False)
    rows = read_results(path)
    assert sorted(rows["seed"].unique()) == [0, 1] and len(rows) == 2 * 2  # (benign + 2 steps) per seed
    benign = rows[rows["steps"] == 0]["miou"]
    assert benign.nunique() == 1, "benign tracking does not depend on the attack seed"
    assert rows["runtime"].str.startswith(f"torch {torch.__version__} ").all()
    settings = json.loads(path.with_name(path.name + ".settings.json").read_text())
    assert settings["seeds"] == [0, 1] and settings["runtime"][0]["torch"] == torch.__version__
    more = dict(raw, seeds=[2])
    run_sweep(sweep_config_from_dict(more), path, progress=False)  # adding a seed resumes the same file
    assert sorted(read_results(path)["seed"].unique()) == [0, 1, 2]
    names = sorted(p.name for p in emit_scenarios(sweep_config_from_dict(raw), tmp_path / "emitted"))
    assert names == ["sweep_stl_d0p2_s0.json", "sweep_stl_d0p2_s1.json"]
    assert json.loads((tmp_path / "emitted" / names[1]).read_text())["attack"]["kwargs"]["seed"] == 1


def test_a_second_sweep_on_the_same_file_is_refused(full_run, tmp_path):
    import fcntl
    import shutil

    from armory_siammtl.evaluation.sweep import exclusive

    path = tmp_path / "results.csv"
    shutil.copy(full_run, path)
    with exclusive(path):  # a first sweep holds the file
        with pytest.raises(ValueError, match="another sweep is writing"):
            run_sweep(sweep_config_from_dict(RAW), path, progress=False)
    assert path.read_text() == full_run.read_text()
    with open(tmp_path / f".{path.name}.lock") as handle:  # released afterwards
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_damaged_rows_are_dropped_and_their_cells_run_again(full_run, tmp_path):
    import shutil

    path = tmp_path / "results.csv"
    shutil.copy(full_run, path)
    shutil.copy(full_run.with_name(full_run.name + ".settings.json"), tmp_path / (path.name + ".settings.json"))
    lines = path.read_text().splitlines()
    fields = lines[2].split(",")
    fields[-4] = ""  # empty mIoU in the first cell's step-1 row
    lines[2] = ",".join(fields)
    path.write_text("\n".join(lines[:-1] + [lines[-1][:12]]) + "\n")  # and a truncated last row
    results = ResultsFile(path)
    assert results.damaged == 2 and len(results.done((1, 2))) == 4 - 2
    rerun = []
    run_sweep(sweep_config_from_dict(RAW), path, progress=False, on_cell=rerun.append)
    assert len(rerun) == 2
    assert sorted(path.read_text().splitlines()) == sorted(full_run.read_text().splitlines())


def test_weights_changed_under_the_same_name_are_refused(full_run, tmp_path):
    import shutil

    weights = tmp_path / "siamrpn_alex_stl.pth"
    shutil.copy(MODELS[0]["weights"], weights)
    path = tmp_path / "results.csv"
    raw = dict(RAW, models=[dict(MODELS[0], weights=str(weights))], step_sizes=[0.2], max_iter=1, checkpoints=[1])
    run_sweep(sweep_config_from_dict(raw), path, progress=False)
    shutil.copy(MODELS[1]["weights"], weights)  # other weights, same file name
    with pytest.raises(ValueError, match=r"models \['STL'\] with other weights \(file or sha256\)"):
        run_sweep(sweep_config_from_dict(raw), path, progress=False)


def test_a_sweep_on_ray_resumes_and_equals_the_local_one(full_run, tmp_path):
    pytest.importorskip("ray", reason="Ray is the optional extra armory-siammtl[ray]")
    import torch

    from armory_siammtl.evaluation.ray_sweep import RayCluster

    cluster = RayCluster(cpus=torch.get_num_threads())  # a local instance; cells on the local run's threads
    path, finished = tmp_path / "results.csv", []

    def killed_after_one(key):  # the driver dies after recording its first cell
        finished.append(key)
        raise Interrupted

    with pytest.raises(Interrupted):
        run_sweep(sweep_config_from_dict(RAW), path, progress=False, on_cell=killed_after_one, ray=cluster)
    assert len(ResultsFile(path).done()) == 1
    rerun = []
    run_sweep(sweep_config_from_dict(RAW), path, progress=False, on_cell=rerun.append, ray=cluster)
    assert len(rerun) == 3 and not set(rerun) & set(finished), "the resumed sweep redid a finished cell"
    # the same rows (cells, numbers, runtime), in the order the cells finished
    assert sorted(path.read_text().splitlines()) == sorted(full_run.read_text().splitlines())


def test_weights_replaced_while_the_sweep_runs_are_refused_not_scored(tmp_path):
    """Each model is pinned to the bytes whose sha256 the sweep recorded when it started."""
    import shutil

    from armory_siammtl.models.weights_file import WeightsError

    weights = tmp_path / "mtl.pth"
    shutil.copy(MODELS[1]["weights"], weights)
    raw = dict(
        RAW, models=[MODELS[0], dict(MODELS[1], weights=str(weights))], step_sizes=[0.2], max_iter=1, checkpoints=[1]
    )

    def replace_after_first(key):
        shutil.copy(MODELS[0]["weights"], weights)  # the MTL file now holds other weights

    with pytest.raises(WeightsError, match="sha256"):
        run_sweep(sweep_config_from_dict(raw), tmp_path / "r.csv", progress=False, on_cell=replace_after_first)
    assert [row["model"] for row in ResultsFile(tmp_path / "r.csv").rows] == ["STL", "STL"]  # benign + step 1


def test_transfer_tracks_every_saved_texture_with_every_model_and_resumes(full_run, tmp_path, monkeypatch):
    from armory_siammtl.evaluation import transfer

    config = sweep_config_from_dict(RAW)
    table = transfer.run_transfer(config, full_run, tmp_path, progress=False)
    names = [m["name"] for m in MODELS]
    assert len(table) == len(RAW["step_sizes"]) * len(RAW["checkpoints"]) * len(names) ** 2
    assert set(zip(table["crafted_on"], table["evaluated_on"])) == {(a, b) for a in names for b in names}
    rows = read_results(full_run)
    own = table[table["crafted_on"] == table["evaluated_on"]]
    for row in own.itertuples():  # the attack's own score, from its record, is the results file's
        swept = rows[
            (rows["model"] == row.crafted_on)
            & (rows["step_size"].astype(float) == row.step_size)
            & (rows["steps"] == row.steps)
        ]
        assert row.attack_miou == pytest.approx(float(swept["miou"].iloc[0]), abs=1e-3)
    assert table[table["crafted_on"] != table["evaluated_on"]]["attack_miou"].isna().all()
    assert table["miou"].between(0, 100).all()

    def recompute(*args):
        raise AssertionError("a finished group was tracked again")

    monkeypatch.setattr(transfer, "_group_rows", recompute)
    again = transfer.write_transfer(config, full_run, tmp_path, progress=False)
    assert again.count("| crafted on \\ evaluated on |") == len(RAW["step_sizes"]) * len(RAW["checkpoints"])
    assert (tmp_path / "transfer.md").read_text() == again

    other = dict(
        RAW,
        models=[
            dict(MODELS[0], weights=str(WEIGHTS / "siamrpn_alex_mtl_l02.pth"), kpt_weight=0.2, head="shallow"),
            MODELS[1],
        ],
    )
    with pytest.raises(ValueError, match="the sweep crafted its textures on"):
        transfer.run_transfer(sweep_config_from_dict(other), full_run, tmp_path / "other", progress=False)


def test_texture_change_counts_the_stored_texels_that_moved_between_checkpoints(full_run, tmp_path):
    import shutil

    from armory_siammtl.evaluation.cell_records import cell_path, cells_dir
    from armory_siammtl.evaluation.texture_change import texture_change

    results = tmp_path / "results.csv"
    shutil.copy(full_run, results)
    shutil.copy(full_run.with_name(full_run.name + ".settings.json"), tmp_path / "results.csv.settings.json")
    shutil.copytree(cells_dir(full_run), cells_dir(results))
    frame = read_results(results)
    video = frame["video"].iloc[0]
    still, flipped = cell_path(results, "STL", 0.1, video, 0), cell_path(results, "MTL-0.2", 0.2, video, 0)
    for path, second in ((still, lambda first: first), (flipped, lambda first: 255 - first)):
        with np.load(path) as data:
            arrays = dict(data)
        arrays["textures"][1] = second(arrays["textures"][0])
        np.savez_compressed(path, **arrays)
    with np.load(flipped) as data:
        first = data["textures"][0].astype(float)

    change = texture_change(results, frame, ["STL", "MTL-0.2"]).set_index(["model", "step_size"])
    assert len(change) == 2 * 2 and (change[["from_steps", "to_steps"]] == [1, 2]).all(axis=None)
    assert change["texels_changed"].between(0, 100).all()
    assert change.loc[("STL", "0.1"), ["texels_changed", "mean_levels"]].tolist() == [0.0, 0.0]
    assert change.loc[("MTL-0.2", "0.2"), "texels_changed"] == 100.0  # 255 - v differs from v for every byte
    assert change.loc[("MTL-0.2", "0.2"), "mean_levels"] == pytest.approx(np.abs(255 - 2 * first).mean())

    written = write_report(results, tmp_path / "report")
    assert (tmp_path / "report" / "texture_change.md").read_text().count("| 1 → 2 | 1 |") == 4
    assert "## (e) How far the texture moved between checkpoints" in written["report_md"].read_text()


def test_transfer_table_reads_back_the_floats_it_wrote(tmp_path):
    """Kept rows are rewritten on every update, so they must read back bit for bit (pandas < 3's default
    parser is off by an ulp on about one value in seven; it made CI's image-version stage fail)."""
    from armory_siammtl.evaluation import transfer

    rng = np.random.default_rng(0)
    table = pd.DataFrame({column: rng.random(2000) * 100 for column in transfer.COLUMNS})
    table["video"] = "v"
    table["texture_sha256"] = "ab"
    (tmp_path / "transfer.csv").write_text(table.to_csv(index=False))
    back = transfer._read(tmp_path / "transfer.csv")
    for column in ("miou", "attack_miou"):
        assert (back[column].to_numpy() == table[column].to_numpy()).all(), column


def test_transfer_tracks_again_only_the_textures_that_changed_since(full_run, tmp_path, monkeypatch):
    """A cell recomputed or extended after a transfer run: its new textures are tracked, the rest kept."""
    import shutil

    from armory_siammtl.evaluation import transfer
    from armory_siammtl.evaluation.cell_records import cell_path, cells_dir

    results = tmp_path / "results.csv"
    shutil.copy(full_run, results)
    shutil.copy(full_run.with_name(full_run.name + ".settings.json"), tmp_path / "results.csv.settings.json")
    shutil.copytree(cells_dir(full_run), cells_dir(results))
    config = sweep_config_from_dict(RAW)
    first = transfer.run_transfer(config, results, tmp_path / "t", progress=False)
    changed = cell_path(results, "MTL-0.2", 0.2, first["video"].iloc[0], 0)
    with np.load(changed) as data:
        arrays = dict(data)
    arrays["textures"][1] = 255 - arrays["textures"][1]  # the 2-step texture of one cell is another now
    np.savez_compressed(changed, **arrays)
    calls = []
    group_rows = transfer._group_rows

    def spy(video, record, attack, estimators, key, steps_wanted):
        calls.append((key[1:], set(steps_wanted)))
        return group_rows(video, record, attack, estimators, key, steps_wanted)

    monkeypatch.setattr(transfer, "_group_rows", spy)
    second = transfer.run_transfer(config, results, tmp_path / "t", progress=False)
    assert calls == [(("0.2", "0", "MTL-0.2"), {2})]
    assert len(second) == len(first)
    key = ["step_size", "steps", "crafted_on", "evaluated_on"]
    moved = first.merge(second, on=key, suffixes=("", "_now"))
    differs = moved["texture_sha256"] != moved["texture_sha256_now"]
    assert set(moved[differs][["step_size", "steps", "crafted_on"]].itertuples(index=False)) == {(0.2, 2, "MTL-0.2")}
    assert differs.sum() == 2  # the changed texture tracked by both models; every other row as it was
    unchanged = moved[~differs]
    assert (unchanged["miou"] == unchanged["miou_now"]).all()

    calls.clear()
    old = pd.read_csv(tmp_path / "t" / "transfer.csv").drop(columns="texture_sha256")
    old.to_csv(tmp_path / "t" / "transfer.csv", index=False)  # a table from before rows named their texture
    transfer.run_transfer(config, results, tmp_path / "t", progress=False)
    assert len(calls) == 4 and all(steps == {1, 2} for _, steps in calls)


def test_compare_results_shows_how_far_rerun_cells_moved(full_run, tmp_path):
    from armory_siammtl.evaluation.rerun import compare, shared_cells

    rerun = tmp_path / "rerun.csv"  # the δ 0.2 cells again, to their first checkpoint only
    run_sweep(sweep_config_from_dict(dict(RAW, step_sizes=[0.2], max_iter=1, checkpoints=[1])), rerun, progress=False)
    cells = shared_cells(full_run, rerun)
    assert len(cells) == 2 * 2 and set(cells["steps"]) == {0, 1} and set(cells["step_size"]) == {"0.2"}
    assert (cells["difference"] == 0).all()  # same machine, threads and kernels: the same numbers
    rows = pd.read_csv(rerun, dtype=str)
    moved = (rows["model"] == "MTL-0.2") & (rows["steps"] == "1")
    stl = float(rows[(rows["model"] == "STL") & (rows["steps"] == "1")]["miou"].iloc[0])
    mtl = float(rows[moved]["miou"].iloc[0])
    flipped = stl - (mtl - stl) if mtl != stl else stl + 5  # the MTL - STL gap with its sign turned
    rows.loc[moved, "miou"] = f"{min(max(flipped, 0.0), 100.0):.4f}"
    rows.to_csv(rerun, index=False)
    text = compare(full_run, rerun, tmp_path / "out")
    assert "| 0.2 | 1 | MTL-0.2 |" in text and text.rstrip().endswith("| no |")
    assert (tmp_path / "out" / "rerun.md").is_file() and len(pd.read_csv(tmp_path / "out" / "rerun.csv")) == 4
