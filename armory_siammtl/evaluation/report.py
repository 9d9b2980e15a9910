"""Tables and plots of a sweep's results CSV: today's table (every step size in one), the paper's layout
(one table per step size, as its Tables 1-3, with the paper's own values beside ours when given), the
paired STL-vs-MTL comparisons, and the paper's Figure 6 with intervals."""

import json
from pathlib import Path
from typing import List, Optional

import pandas as pd

from armory_siammtl.atomic import write_text
from armory_siammtl.evaluation.plots import plot_per_video, plot_robustness
from armory_siammtl.evaluation.results_file import read_rows, settings_file
from armory_siammtl.evaluation.statistics import cell_statistics, paired_comparisons
from armory_siammtl.evaluation.tables import (
    comparisons_markdown,
    complete_cells,
    markdown_table,
    model_order,
    paper_layout,
    stl_model,
    unfinished_rows,
    verdict_table,
    wide,
)
from armory_siammtl.evaluation.texture_change import texture_change, texture_change_markdown
from armory_siammtl.tracking.metrics import METRICS


def read_results(path, dataset: Optional[str] = None) -> pd.DataFrame:
    """The results CSV, every row checked as the sweep checks it (``results_file.read_rows``; dropped rows
    are reported), optionally restricted to one dataset."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no sweep results at {path}")
    rows, dropped, reasons = read_rows(path)
    if dropped:
        print(f"{path}: {dropped} rows left out of the report (" + "; ".join(reasons[:5]) + ")")
    frame = pd.DataFrame(rows)
    if frame.empty:
        raise ValueError(f"{path} holds no results yet")
    frame["steps"] = frame["steps"].astype(float).astype(int)
    frame["seed"] = frame["seed"].astype(float).astype(int)
    for metric in METRICS:
        # read_rows checked every value; astype parses as Python does (exactly; pandas < 3's to_numeric is
        # off by an ulp on about one value in seven), and an empty metric of an older row is NaN
        frame[metric] = frame[metric].replace("", "nan").astype(float)
    if dataset is not None:
        frame = frame[frame["dataset"] == dataset]
        if frame.empty:
            raise ValueError(f"{path} has no results for dataset {dataset!r}")
    elif frame["dataset"].nunique() > 1:
        raise ValueError(f"{path} mixes datasets {sorted(frame['dataset'].unique())}: choose one")
    return frame


def read_paper_values(path) -> pd.DataFrame:
    """The paper's own table values, a CSV with columns model, step_size, steps, miou (benign: step_size
    ``benign``); the package bundles none (the paper's PDF is not redistributed here), so the user gives them."""
    path = Path(path)
    try:
        values = pd.read_csv(path, dtype={"model": str, "step_size": str})
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"--paper-values {path} is not a readable CSV: {exc}") from None
    missing = sorted({"model", "step_size", "steps", "miou"} - set(values.columns))
    if missing:
        raise ValueError(f"--paper-values {path} lacks columns {missing}")
    values["steps"] = pd.to_numeric(values["steps"], errors="coerce").fillna(0).astype(int)
    return values


REFERENCE_IGNORED = ("max_iter", "checkpoints")  # the paper's tables run its reference attack for any length


def sweep_spec(results_path) -> Optional[dict]:
    """The experiment spec (and dataset) a sweep recorded in its settings file, or None."""
    path = settings_file(results_path)
    if not path.is_file():
        return None
    try:
        recorded = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path} is not readable JSON: {exc}") from None
    return recorded if isinstance(recorded, dict) else None


def is_reference_setting(recorded: Optional[dict]) -> bool:
    """Whether a sweep ran the paper's reference attack and tracker (the ``skelevision`` preset for its
    dataset), whatever its length."""
    from armory_siammtl.experiment import preset

    if not recorded or not isinstance(recorded.get("spec"), dict) or not isinstance(recorded.get("dataset"), dict):
        return False
    kind = recorded["dataset"].get("kind")
    if kind not in ("carla", "procedural", "otb"):
        return False
    reference = preset("skelevision", kind).as_dict()
    return all(
        recorded["spec"].get(k) == v for k, v in reference.items() if k not in REFERENCE_IGNORED and k != "step_size"
    )


def write_report(results_path, out_dir, dataset: Optional[str] = None, paper_values=None) -> dict:
    """Everything of a sweep under ``out_dir``: table.md (today's layout: means, intervals, verdict marks),
    paper_table.md (the paper's layout, one table per step size, with ``paper_values``' numbers beside ours
    when the sweep ran the reference setting), comparisons.md (paired STL-vs-MTL tests), robustness.png and
    per_video.png, and, when the sweep kept cell records, the paper's pictures (``figures``) and showcase
    videos; ``report.md`` gathers them on one page. Returns the paths and the tables."""
    frame = read_results(results_path, dataset)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stl = stl_model(frame)
    complete, models = complete_cells(frame), model_order(frame)
    stats = cell_statistics(complete)
    table, low, high = (wide(stats, column, models) for column in ("mean", "ci_low", "ci_high"))
    comparisons = paired_comparisons(complete, stl)
    verdicts = verdict_table(comparisons, table)
    videos, seeds = frame["video"].nunique(), frame["seed"].nunique()
    recorded = sweep_spec(results_path)
    setting = (
        ""
        if recorded is None
        else (
            " (the paper's reference setting)"
            if is_reference_setting(recorded)
            else " (not the paper's reference setting)"
        )
    )
    title = f"Sweep results: {frame['dataset'].iloc[0]}, {videos} videos × {seeds} attack seeds{setting}"
    unfinished = unfinished_rows(stats)
    text = f"# {title}\n\n" + markdown_table(table, stl, low, high, verdicts) + unfinished
    paper = None
    if paper_values is not None:
        if is_reference_setting(recorded):
            paper = read_paper_values(paper_values)
        else:
            print("paper values not shown: the sweep did not run the paper's reference setting")
    paper_text = (
        f"# {title}, in the paper's layout\n\n" + paper_layout(table, low, high, verdicts, stl, paper) + unfinished
    )
    write_text(out_dir / "table.md", text)
    write_text(out_dir / "paper_table.md", paper_text)
    write_text(
        out_dir / "comparisons.md", "# STL vs MTL, paired by video and seed\n\n" + comparisons_markdown(comparisons)
    )
    written = {
        "table": table,
        "comparisons": comparisons,
        "markdown": text,
        "paper_markdown": paper_text,
        "table_md": out_dir / "table.md",
        "paper_table_md": out_dir / "paper_table.md",
        "comparisons_md": out_dir / "comparisons.md",
        "robustness": plot_robustness(table, stl, out_dir / "robustness.png", low, high),
        "per_video": plot_per_video(frame, out_dir / "per_video.png"),
    }
    try:
        written.update(_pictures(results_path, frame, models, stl, out_dir, recorded))
        written.update(_texture_change(results_path, frame, models, out_dir))
    except ValueError as exc:  # a damaged cell record: the tables stand without the pictures
        print(f"figures (a), (b), (d), videos and texture changes left out: {exc}")
    written["report_md"] = write_page(out_dir / "report.md", title, written, comparisons)
    return written


def _pictures(
    results_path, frame: pd.DataFrame, models: List[str], stl: Optional[str], out_dir: Path, recorded: Optional[dict]
) -> dict:
    """Figures (a), (b), (d) and the showcase videos, when the sweep kept records of the chosen cell."""
    from armory_siammtl.evaluation import figures

    if stl is None or not recorded or not isinstance(recorded.get("dataset"), dict):
        return {}
    show = figures.load_showcase(
        results_path, frame, recorded["dataset"], [stl] + [m for m in models if m != stl], stl, recorded.get("spec")
    )
    iou_all = figures.plot_iou_per_frame_all(
        results_path, frame, [stl] + [m for m in models if m != stl], out_dir / "iou_per_frame_all.png"
    )
    if show is None:
        return {} if iou_all is None else {"iou_per_frame_all": iou_all}
    return {
        "iou_per_frame_all": iou_all,
        "rule": show.rule,
        "frame": figures.plot_frame(show, out_dir / "frame.png"),
        "iou_per_frame": figures.plot_iou_per_frame(show, out_dir / "iou_per_frame.png"),
        "textures": figures.plot_textures(show, out_dir / "textures.png"),
        "videos": figures.write_videos(show, out_dir),
    }


def _texture_change(results_path, frame: pd.DataFrame, models: List[str], out_dir: Path) -> dict:
    """texture_change.md, when the sweep kept records with two or more checkpoints."""
    change = texture_change(results_path, frame, models)
    if change.empty:
        return {}
    text = texture_change_markdown(change, models)
    path = out_dir / "texture_change.md"
    write_text(path, "# How far the textures moved between checkpoints\n\n" + text)
    return {"texture_change": text, "texture_change_md": path}


def write_page(path, title: str, written: dict, comparisons: pd.DataFrame) -> Path:
    """``report.md``: the table, the figures with captions saying what each shows, links to the videos,
    and the paired comparisons; relative links, so the page renders on a code host."""
    table = written["markdown"].split("\n", 2)[2]
    paper = written["paper_markdown"].split("\n", 2)[2]
    parts = [
        f"# {title}\n",
        "## mIoU under attack\n",
        table,
        "## In the paper's layout (one table per δ)\n",
        paper,
        "## (c) mIoU vs attack steps\n",
        "![mIoU vs steps](robustness.png)\n",
        "Mean mIoU over videos × attack seeds at each checkpoint of the attack, one panel per step size "
        "δ; the band is the 95 % bootstrap interval over (video, seed) pairs (the paper's Figure 6 with "
        "its spread).\n",
        "![per video](per_video.png)\n",
        "Every (video, seed) attack run on its own: colour names the video, line style the seed.\n",
    ]
    if "frame" in written:
        parts += [
            "## (a) One frame, benign and attacked\n",
            "![frame](frame.png)\n",
            "Left: the clean frame, right: the same frame with each model's own final texture on the "
            "patch; ground truth dashed green, the tracker's box solid (blue benign, red attacked). The "
            "frame is the one where the first model's attacked IoU is lowest. Cell: "
            f"{written['rule']}.\n",
            "## (b) IoU per frame under attack\n",
            "![IoU per frame](iou_per_frame.png)\n",
            "IoU with the ground truth at every frame after the first, benign (dashed) and after the "
            "attack's last checkpoint (solid), for each model on the same video and seed as (a).\n",
            "![IoU per frame, every video](iou_per_frame_all.png)\n",
            "The same for every video and seed of the first step size, one panel each.\n",
            "## (d) The texture at each checkpoint\n",
            "![textures](textures.png)\n",
            "The adversarial texture of each model (rows) after each checkpoint's number of steps "
            "(columns), started from 0.5 grey, stored rounded to 8 bits; texels that stay grey were never visible "
            "(behind an occluder in every frame).\n",
            "## Videos\n",
            "The cell of (a) as video, benign left and attacked right, boxes as in (a): "
            + ", ".join(f"[{Path(v).name}]({Path(v).name})" for v in written["videos"])
            + ".\n",
        ]
    else:
        parts += [
            "(No cell records beside the results: figures (a), (b), (d) and the videos need a sweep "
            "run with this version.)\n"
        ]
    if "texture_change" in written:
        parts += [
            "## (e) How far the texture moved between checkpoints\n",
            "A row of the table that stops moving as steps are added either has a texture that stopped "
            "changing (the attack settled) or a tracker that no longer reacts to it:\n",
            written["texture_change"],
        ]
    parts += ["## STL vs MTL, paired by video and seed\n", comparisons_markdown(comparisons)]
    write_text(path, "\n".join(parts))
    return Path(path)
