"""The paper's pictures from a sweep's cell records: (a) one frame, benign vs adversarial, STL vs MTL
(its Figures 1 and 4); (b) IoU per frame under attack (Figure 5), for the shown cell and for every cell;
(d) the texture at each checkpoint; and short videos of the shown cell. (c), mIoU vs steps with intervals,
is ``report.plot_robustness``.

The shown cell is chosen by rule, not by eye: at the first step size and the largest step count, the
(video, seed) whose STL mIoU drop is the median over all (video, seed) pairs. Attacked frames are redrawn
from the saved texture exactly as the attack composites them (``attacks.apply_texture``).
"""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import pandas as pd

from armory_siammtl.attacks.compositing import apply_texture
from armory_siammtl.data.attack_videos import AttackVideo, attack_videos
from armory_siammtl.evaluation.cell_records import cell_path, load_cell
from armory_siammtl.tracking.metrics import box_iou


@dataclass
class Showcase:
    """One (step size, video, seed) cell shown for several models, with their records and the video."""

    step_size: str
    video: AttackVideo
    seed: int
    records: Dict[str, dict]  # model -> cell record (cell_records.load_cell)
    rule: str  # how the cell was chosen, for captions
    placing: dict  # the attack's shading, clean_first_frame and region (the sweep's spec)

    def adversarial_frames(self, model: str) -> np.ndarray:
        """The video with ``model``'s final texture on its patch, placed as the attack placed it."""
        return apply_texture(
            self.video.frames, self.records[model]["textures"][-1], self.video.patch_metadata, **self.placing
        )


def choose_cell(frame: pd.DataFrame, stl: str) -> tuple:
    """(step size, video, seed) at the first step size and largest step count whose STL mIoU drop
    (benign − attacked) is the median over all (video, seed) pairs (the lower middle one for an even count)."""
    step_size = next(s for s in dict.fromkeys(frame["step_size"]) if s != "benign")
    rows = frame[(frame["model"] == stl) & (frame["step_size"] == step_size)]
    final = rows["steps"].max()
    benign = rows[rows["steps"] == 0].set_index(["video", "seed"])["miou"]
    attacked = rows[rows["steps"] == final].set_index(["video", "seed"])["miou"]
    drops = (benign - attacked).dropna().sort_values(kind="stable")
    if drops.empty:
        raise ValueError(f"no finished cells of {stl} at step size {step_size}")
    video, seed = drops.index[(len(drops) - 1) // 2]
    return step_size, video, int(seed)


def load_showcase(
    results_path, frame: pd.DataFrame, dataset: dict, models: List[str], stl: str, spec: Optional[dict] = None
) -> Optional[Showcase]:
    """The chosen cell for ``models`` (STL first), or None when the sweep kept no records of it; ``spec``:
    the sweep's recorded experiment spec (default the package preset's placement for the dataset)."""
    from armory_siammtl.experiment import preset

    placing_keys = ("shading", "clean_first_frame", "region")
    default = preset("package", dataset["kind"]).as_dict()
    placing = {k: (spec or {}).get(k, default[k]) for k in placing_keys}
    step_size, video_id, seed = choose_cell(frame, stl)
    records = {m: load_cell(cell_path(results_path, m, step_size, video_id, seed)) for m in models}
    if any(r is None for r in records.values()):
        return None
    ids, videos = attack_videos(dataset)
    video = next(v for v in videos if v.video_id == video_id)
    rule = (
        f"δ = {step_size}, video {video_id}, attack seed {seed}: the (video, seed) whose {stl} mIoU drop "
        "is the median of the sweep's"
    )
    return Showcase(step_size, video, seed, records, rule, placing)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path, dpi: int) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return Path(path)


def _wrapped(text: str, width: int = 70) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


def _draw_box(ax, box, colour, dashed: bool, label: Optional[str] = None):
    import matplotlib.patches as patches

    x1, y1, x2, y2 = box
    ax.add_patch(
        patches.Rectangle(
            (x1, y1),
            x2 - x1,
            y2 - y1,
            fill=False,
            edgecolor=colour,
            lw=2,
            linestyle="--" if dashed else "-",
            label=label,
        )
    )


def shown_frame(show: Showcase) -> int:
    """The frame (after frame 0) where the first model's attacked IoU is lowest."""
    first = next(iter(show.records.values()))
    ious = box_iou(first["gt_boxes"][1:], first["adversarial_boxes"][-1][1:])
    return 1 + int(np.argmin(ious))


def plot_frame(show: Showcase, path, t: Optional[int] = None) -> Path:
    """(a) Frame ``t`` benign (left) and attacked (right), one row per model; ground truth dashed,
    prediction solid."""
    plt = _pyplot()
    t = shown_frame(show) if t is None else t
    models = list(show.records)
    fig, axes = plt.subplots(len(models), 2, figsize=(9, 3.6 * len(models)), squeeze=False)
    for row, model in enumerate(models):
        record = show.records[model]
        attacked = show.adversarial_frames(model)[t]
        steps = int(record["steps"][-1])
        for col, (image, boxes, title) in enumerate(
            [
                (show.video.frames[t], record["benign_boxes"], "benign"),
                (attacked, record["adversarial_boxes"][-1], f"{steps} attack steps"),
            ]
        ):
            ax = axes[row][col]
            ax.imshow(np.clip(image, 0, 1))
            _draw_box(ax, record["gt_boxes"][t], "lime", True, "ground truth")
            _draw_box(ax, boxes[t], "red" if col else "deepskyblue", False, "prediction")
            iou = float(box_iou(record["gt_boxes"][t][None], boxes[t][None])[0])
            ax.set_title(f"{model}, {title}: IoU {iou:.2f}", fontsize=10)
            ax.axis("off")
    axes[0][0].legend(loc="lower left", fontsize=8)
    fig.suptitle(_wrapped(f"frame {t}; {show.rule}", 110), fontsize=8)
    return _save(fig, path, 90)


def _iou_lines(ax, records: Dict[str, dict], colours, attacked_style: Optional[dict] = None, **style) -> None:
    """Each model's IoU per frame after the first: benign dashed, after its last checkpoint solid (the
    first model black)."""
    for i, (model, record) in enumerate(records.items()):
        gt, colour = record["gt_boxes"][1:], "k" if i == 0 else colours(i)
        x = np.arange(1, len(record["gt_boxes"]))
        ax.plot(x, box_iou(gt, record["benign_boxes"][1:]), "--", color=colour, label=f"{model} benign", **style)
        attacked = box_iou(gt, record["adversarial_boxes"][-1][1:])
        steps = int(record["steps"][-1])
        ax.plot(x, attacked, "-", color=colour, label=f"{model}, {steps} steps", **style, **(attacked_style or {}))


def plot_iou_per_frame(show: Showcase, path) -> Path:
    """(b) IoU per frame of each model, benign (dashed) and after the last checkpoint (solid)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.6))
    colours = plt.get_cmap("tab10")
    _iou_lines(ax, show.records, colours, attacked_style={"marker": "o", "ms": 3})
    ax.set_xlabel("frame")
    ax.set_ylabel("IoU with ground truth")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(_wrapped(show.rule, 100), fontsize=8)
    return _save(fig, path, 100)


def plot_iou_per_frame_all(results_path, frame: pd.DataFrame, models: List[str], path) -> Optional[Path]:
    """IoU per frame of every (video, seed) at the first step size (one panel each): each model benign
    (dashed) and after its last checkpoint (solid). None when the sweep kept no records."""
    step_size = next(s for s in dict.fromkeys(frame["step_size"]) if s != "benign")
    cells = frame[frame["step_size"] == step_size][["video", "seed"]].drop_duplicates().values.tolist()
    panels = []
    for video, seed in cells:
        records = {m: load_cell(cell_path(results_path, m, step_size, video, int(seed))) for m in models}
        if all(r is not None for r in records.values()):
            panels.append((f"{video}, seed {int(seed)}", records))
    if not panels:
        return None
    plt = _pyplot()
    columns = min(4, len(panels))
    rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.6 * columns, 2.6 * rows), squeeze=False, sharey=True)
    colours = plt.get_cmap("tab10")
    for ax, (title, records) in zip(axes.flat, panels):
        _iou_lines(ax, records, colours, lw=1)
        ax.set_title(title, fontsize=8)
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(panels) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=6)
    fig.supxlabel("frame")
    fig.supylabel("IoU with ground truth")
    fig.suptitle(f"every video at δ = {step_size}: benign (dashed) and attacked (solid)", fontsize=9)
    return _save(fig, path, 90)


def plot_textures(show: Showcase, path) -> Path:
    """(d) The texture of each model (rows) at each checkpoint (columns)."""
    plt = _pyplot()
    models = list(show.records)
    steps = [int(s) for s in show.records[models[0]]["steps"]]
    height, width = show.records[models[0]]["textures"].shape[1:3]
    fig, axes = plt.subplots(
        len(models),
        len(steps),
        figsize=(max(3.2 * len(steps), 6), (3.2 * height / width + 0.5) * len(models) + 0.5),
        squeeze=False,
    )
    for row, model in enumerate(models):
        for col, step in enumerate(steps):
            ax = axes[row][col]
            ax.imshow(show.records[model]["textures"][col])
            ax.set_title(f"{model}, {step} steps", fontsize=9)
            ax.axis("off")
    fig.suptitle(_wrapped(show.rule, 30 * max(len(steps), 2)), fontsize=8)
    return _save(fig, path, 100)


def _boxed(image: np.ndarray, boxes: List[tuple]) -> np.ndarray:
    """uint8 copy of ``image`` with (box, RGB colour) rectangles 2 px wide."""
    out = np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
    height, width = out.shape[:2]
    for box, colour in boxes:
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        x1, x2 = np.clip([x1, x2], 0, width - 1)
        y1, y2 = np.clip([y1, y2], 0, height - 1)
        out[y1 : y1 + 2, x1 : x2 + 1] = out[max(y2 - 1, 0) : y2 + 1, x1 : x2 + 1] = colour
        out[y1 : y2 + 1, x1 : x1 + 2] = out[y1 : y2 + 1, max(x2 - 1, 0) : x2 + 1] = colour
    return out


def write_videos(show: Showcase, out_dir, fps: int = 5) -> List[Path]:
    """Per model an mp4 of the shown cell: benign (left) and attacked (right) side by side, ground truth
    green, prediction blue (benign) / red (attacked)."""
    import imageio_ffmpeg

    written = []
    for model, record in show.records.items():
        attacked = show.adversarial_frames(model)
        slug = re.sub(r"[^A-Za-z0-9]+", "_", model).strip("_")
        path = Path(out_dir) / f"showcase_{slug}.mp4"
        height, width = show.video.frames.shape[1:3]
        writer = imageio_ffmpeg.write_frames(
            str(path), (2 * width, height), fps=fps, macro_block_size=1, output_params=["-loglevel", "error"]
        )
        writer.send(None)
        for t in range(len(attacked)):
            gt = (record["gt_boxes"][t], (0, 255, 0))
            writer.send(
                np.ascontiguousarray(
                    np.concatenate(
                        [
                            _boxed(show.video.frames[t], [gt, (record["benign_boxes"][t], (0, 160, 255))]),
                            _boxed(attacked[t], [gt, (record["adversarial_boxes"][-1][t], (255, 0, 0))]),
                        ],
                        axis=1,
                    )
                )
            )
        writer.close()
        written.append(path)
    return written
