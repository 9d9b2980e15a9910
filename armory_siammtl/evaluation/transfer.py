"""Transfer between a sweep's models: a physical texture is made once and shown to whatever tracker is there.

Every texture a sweep saved (crafted on one model, at each checkpoint; ``cell_records``) is pasted into its
video as the attack pasted it and tracked by every model of the sweep: one tracking pass per video,
checkpoint and model, no gradient. The crafting model's own cell is tracked again from the same saved
(8-bit) texture, so the crafted-on x evaluated-on cells compare like with like; ``attack_miou`` keeps the
attack's own score on its full-precision texture beside it (their difference is the 8-bit rounding's).
Rows are written atomically after each (video, step size, seed, crafting model) group, so a killed run
resumes where it stopped; a second run on the same file is refused. Each row names the digest of the texture
it tracked: a rerun tracks only the checkpoints whose texture is new or changed (a sweep extended to more
steps, a cell recomputed) and replaces the rows of changed ones.
"""

from pathlib import Path
from typing import List, Optional

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from armory_siammtl import atomic
from armory_siammtl.attacks.compositing import apply_texture
from armory_siammtl.data.attack_videos import attack_videos
from armory_siammtl.evaluation.cell_records import cell_path, load_cell
from armory_siammtl.evaluation.cells import load_estimator
from armory_siammtl.evaluation.results_file import ResultsFile
from armory_siammtl.evaluation.statistics import mean_interval
from armory_siammtl.evaluation.sweep import pinned_models
from armory_siammtl.evaluation.sweep_config import SweepConfig
from armory_siammtl.tracking.metrics import video_scores

COLUMNS = (
    "video",
    "step_size",
    "seed",
    "steps",
    "crafted_on",
    "evaluated_on",
    "miou",
    "success",
    "precision20",
    "attack_miou",
    "texture_sha256",
)


def _models_as_swept(config: SweepConfig, results_path) -> tuple:
    """The config's models pinned to their files' bytes now, refused when they are not the bytes the sweep
    crafted its textures on."""
    recorded = ResultsFile(results_path).recorded_settings()
    if recorded is None:
        raise ValueError(f"{results_path} has no sweep settings beside it: no textures to transfer")
    models = pinned_models(config)
    for model in models:
        swept = recorded["models"].get(model.name)
        if swept is None:
            raise ValueError(f"model {model.name!r} is not in the sweep of {results_path}")
        if swept["sha256"] != model.sha256:
            raise ValueError(
                f"model {model.name!r}: {model.weights} has sha256 {model.sha256}, the sweep crafted "
                f"its textures on {swept['sha256']}; restore those weights"
            )
    return models


def _read(path: Path) -> pd.DataFrame:
    if not path.is_file():
        return pd.DataFrame(columns=COLUMNS)
    # Kept rows are written back on every update: read them exactly (pandas < 3 parses floats to within an ulp
    # by default, so a kept row drifted at each rewrite; pandas 3 parses exactly and deprecates the option).
    exact = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}
    frame = pd.read_csv(path, **exact)
    if "texture_sha256" not in frame.columns:  # a table from before rows named their texture: tracked again
        frame["texture_sha256"] = ""
    missing = set(COLUMNS) - set(frame.columns)
    if missing:
        raise ValueError(f"{path} is not a transfer table (no {sorted(missing)} columns); choose another --out")
    return frame


def run_transfer(config: SweepConfig, results_path, out, progress: bool = True) -> pd.DataFrame:
    """``armory-siammtl transfer``: the transfer rows of every saved texture of the sweep ``config`` ran into
    ``results_path``, appended to ``out/transfer.csv`` (resumed when it exists)."""
    results_path = Path(results_path).resolve()
    out = Path(out)
    path = out / "transfer.csv"
    with atomic.exclusive(out / ".transfer.csv.lock", f"another transfer run is writing {path}"):
        models = _models_as_swept(config, results_path)
        table = _read(path)
        estimators = {}
        video_ids, videos = attack_videos(config.dataset)
        missing = replaced = 0
        for video in tqdm(videos, total=len(video_ids), desc="transfer", disable=not progress):
            for step_size in config.step_sizes:
                attack = config.attack(step_size)
                for seed in config.seeds:
                    for crafted in models:
                        key = (video.video_id, str(float(step_size)), str(seed), crafted.name)
                        record = load_cell(cell_path(results_path, crafted.name, step_size, video.video_id, seed))
                        if record is None:
                            missing += 1
                            continue
                        in_group = _in_group(table, key)
                        current = np.zeros(len(table), bool)
                        current[in_group] = _current_rows(table[in_group], record, [m.name for m in models])
                        todo = {int(steps) for steps in record["steps"]} - set(table[current]["steps"].astype(int))
                        if not todo:
                            continue
                        for model in models:
                            if model.name not in estimators:
                                estimators[model.name] = load_estimator(model, config.spec.tracking)
                        replaced += int((in_group & ~current).sum())
                        rows = pd.DataFrame(_group_rows(video, record, attack, estimators, key, todo), columns=COLUMNS)
                        table = pd.concat([table[~in_group | current], rows], ignore_index=True)
                        atomic.write_text(path, table.to_csv(index=False))
        if replaced:
            tqdm.write(f"{replaced} rows of textures that have changed since they were tracked were replaced")
        if missing:
            tqdm.write(
                f"{missing} (video, step size, seed, model) cells have no saved textures yet (the sweep has "
                "not reached them): run transfer again when it has"
            )
        return table


def _in_group(table: pd.DataFrame, key: tuple) -> np.ndarray:
    """Which rows belong to the group ``key`` = (video, step size, seed, crafting model)."""
    video, step_size, seed, crafted = key
    return (
        (table["video"].astype(str) == video)
        & (table["step_size"].astype(float) == float(step_size))
        & (table["seed"].astype(int) == int(seed))
        & (table["crafted_on"] == crafted)
    ).to_numpy(bool)


def _current_rows(rows: pd.DataFrame, record: dict, models: List[str]) -> np.ndarray:
    """Which of one group's rows tracked the texture its record holds now at their step count, for every
    model (a checkpoint some model lacks is tracked again by all)."""
    digest = dict(zip((int(s) for s in record["steps"]), record["texture_sha256"]))
    same = np.array([digest.get(int(s)) == d for s, d in zip(rows["steps"], rows["texture_sha256"])], bool)
    whole = {steps for steps, evaluated in rows[same].groupby("steps")["evaluated_on"] if set(models) <= set(evaluated)}
    return same & rows["steps"].isin(whole).to_numpy(bool)


def _group_rows(video, record: dict, attack, estimators: dict, key: tuple, steps_wanted: set) -> List[dict]:
    """One crafting model's textures of one video at the checkpoints ``steps_wanted``, each tracked by every
    model."""
    rows = []
    saved = zip(record["steps"], record["textures"], record["adversarial_boxes"], record["texture_sha256"])
    for steps, texture, own, digest in saved:
        if int(steps) not in steps_wanted:
            continue
        attacked = apply_texture(
            video.frames, texture, video.patch_metadata, attack.shading, attack.clean_first_frame, attack.region
        )
        for name, estimator in estimators.items():
            boxes = estimator.predict(attacked[None], y_init=video.boxes[:1])[0]["boxes"]
            scores = video_scores(video.boxes, boxes)
            attack_miou = video_scores(video.boxes, own)["miou"] if name == key[3] else np.nan
            rows.append(
                {
                    "video": key[0],
                    "step_size": float(key[1]),
                    "seed": int(key[2]),
                    "steps": int(steps),
                    "crafted_on": key[3],
                    "evaluated_on": name,
                    **{k: scores[k] for k in COLUMNS[6:9]},
                    "attack_miou": attack_miou,
                    "texture_sha256": digest,
                }
            )
    return rows


def transfer_markdown(table: pd.DataFrame, models: Optional[List[str]] = None) -> str:
    """Per step size and step count: a crafted-on x evaluated-on table of mIoU, the mean over videos (each
    video's mean over seeds first) [95 % bootstrap interval]; then how far the 8-bit saved textures move
    the crafting model's own score."""
    if table.empty:
        return "no transfer rows yet\n"
    models = models or list(dict.fromkeys(table["crafted_on"]))
    per_video = table.groupby(["step_size", "steps", "crafted_on", "evaluated_on", "video"], as_index=False)[
        ["miou", "attack_miou"]
    ].mean()
    lines = []
    for (step_size, steps), block in per_video.groupby(["step_size", "steps"]):
        lines += [
            f"### δ {step_size:g}, {steps} steps ({block['video'].nunique()} videos)",
            "",
            "| crafted on \\ evaluated on | " + " | ".join(models) + " |",
            "|---|" + "---|" * len(models),
        ]
        for crafted in models:
            cells = []
            for evaluated in models:
                values = block[(block["crafted_on"] == crafted) & (block["evaluated_on"] == evaluated)]["miou"]
                cells.append("–" if values.empty else "{:.1f} [{:.1f}, {:.1f}]".format(*mean_interval(values)))
            lines.append(f"| {crafted} | " + " | ".join(cells) + " |")
        lines.append("")
    own = table[table["crafted_on"] == table["evaluated_on"]]
    moved = (own["miou"] - own["attack_miou"]).abs()
    lines += [
        f"mIoU x 100 under textures made on the row's model, tracked by the column's. The diagonal is "
        f"tracked again from the saved 8-bit texture; against the attack's own full-precision score it "
        f"moves by {moved.mean():.2f} on average and {moved.max():.2f} at most (over {len(own)} cells)."
    ]
    return "\n".join(lines) + "\n"


def write_transfer(config: SweepConfig, results_path, out, progress: bool = True) -> str:
    """Run (or resume) the transfer and write ``out/transfer.md``; returns its text."""
    table = run_transfer(config, results_path, out, progress)
    text = transfer_markdown(table, [m.name for m in config.models])
    atomic.write_text(Path(out) / "transfer.md", text)
    return text
