"""A sweep's results: the tidy CSV (one row per cell and step count, one column per metric) and the
``<results>.settings.json`` beside it that says what settings made the rows.

Reading checks every row: a row with a missing field, a step count or seed that is no whole number, a step
size that is no positive number or a metric outside [0, 100] is dropped and counted (its cell runs again),
and so is every row of a cell whose same step count appears twice with different values. Files written
before the ``success`` and ``precision20`` columns existed still load (those columns empty).
"""

import csv
import json
import math
from pathlib import Path
from typing import Dict, List

from armory_siammtl.atomic import write_csv, write_text
from armory_siammtl.experiment.attack import LENGTH_SETTINGS
from armory_siammtl.tracking.metrics import METRICS

KEY_COLUMNS = ["model", "kpt_weight", "head", "pretrained_head", "dataset", "video", "step_size", "seed", "steps"]
COLUMNS = KEY_COLUMNS + list(METRICS) + ["runtime"]
LEGACY_COLUMNS = KEY_COLUMNS + ["miou", "runtime"]  # before one column per metric
CELL_KEY = ("model", "dataset", "video", "step_size", "seed")
MERGED = ("models", "seeds", "runtime")  # settings a resumption may extend; the others must not change


def settings_file(results_path) -> Path:
    """``<results>.settings.json``: the settings a results file was written with."""
    results_path = Path(results_path)
    return results_path.with_name(results_path.name + ".settings.json")


def cell_key(row: dict) -> tuple:
    return tuple(str(row[k]) for k in CELL_KEY)


def _number(text, whole: bool = False):
    value = float(text)
    if not math.isfinite(value) or (whole and (value != int(value) or value < 0)):
        raise ValueError(text)
    return int(value) if whole else value


def row_problem(row: dict):
    """Why ``row`` cannot be a result (None when it can)."""
    if None in row or any(row.get(k) is None for k in COLUMNS):
        return "a field is missing"
    empty = [k for k in COLUMNS if row[k] == "" and k not in ("head", *METRICS[1:])]
    if empty:
        return f"empty {', '.join(empty)}"
    try:
        _number(row["steps"], whole=True)
        _number(row["seed"], whole=True)
        if not _number(row["step_size"]) > 0:
            return f"step size {row['step_size']}"
        for metric in METRICS:
            if row[metric] == "" and metric != "miou":
                continue
            if not 0 <= _number(row[metric]) <= 100:
                return f"{metric} {row[metric]} outside [0, 100]"
    except (ValueError, OverflowError) as exc:
        return f"{exc} is not a number of the kind its column needs"
    return None


def read_rows(path) -> tuple:
    """(intact rows, dropped count, reasons) of a results CSV, every row checked (module docstring)."""
    path = Path(path)
    try:
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            columns = reader.fieldnames
            raw = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ValueError(f"{path} is not a readable sweep results file: {exc}") from None
    if columns not in (COLUMNS, LEGACY_COLUMNS):
        raise ValueError(f"{path} is not a sweep results file: columns {columns}, expected {COLUMNS}")
    rows, reasons = [], []
    for number, row in enumerate(raw, start=2):
        problem = row_problem(row)
        if problem is None:
            rows.append({k: row.get(k, "") or "" for k in COLUMNS})
        else:
            reasons.append(f"line {number}: {problem}")
    seen: Dict[tuple, str] = {}
    conflicting = set()
    for row in rows:
        key = (*cell_key(row), int(float(row["steps"])))
        value = json.dumps([row[m] for m in METRICS])
        if seen.setdefault(key, value) != value:
            conflicting.add(key[:-1])
    kept, unique = [], set()
    for row in rows:
        key = (*cell_key(row), int(float(row["steps"])))
        if key[:-1] in conflicting or key in unique:
            continue
        unique.add(key)
        kept.append(row)
    dropped = len(raw) - len(kept)
    reasons += [f"cell {list(k)}: one step count with two different results" for k in sorted(conflicting)]
    return kept, dropped, reasons


class ResultsFile:
    """The sweep's CSV: read and checked on start, rewritten whole (temp file + rename) after every cell.
    Rows without the settings file beside them are refused: nothing says what made them."""

    def __init__(self, path):
        self.path = Path(path)
        self.settings_path = settings_file(self.path)
        self.rows: List[Dict[str, str]] = []
        self.damaged, self.reasons = 0, []
        if self.path.exists():
            self.rows, self.damaged, self.reasons = read_rows(self.path)
            if not self.settings_path.is_file():
                raise ValueError(
                    f"{self.path} has no {self.settings_path.name} beside it, so nothing says which "
                    "settings made its rows; restore that file or choose another --results file"
                )

    def recorded_settings(self):
        """The settings file's content, checked to be a sweep's; None when there is none."""
        if not self.settings_path.exists():
            return None
        try:
            recorded = json.loads(self.settings_path.read_text())
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise ValueError(f"{self.settings_path} is not readable JSON: {exc}") from None
        if not isinstance(recorded, dict) or not isinstance(recorded.get("models"), dict):
            raise ValueError(
                f"{self.settings_path} is not a sweep's settings file (a mapping with 'models'); "
                "restore it or choose another --results file"
            )
        return recorded

    def check(self, settings: dict) -> dict:
        """The settings to record: ``settings`` merged with those already recorded; ValueError when they
        differ in anything but added models, seeds and runtimes, and the attack's length and checkpoints (the
        attack to a step does not depend on them). Writes nothing."""
        settings = json.loads(json.dumps(settings))
        recorded = self.recorded_settings()
        if recorded is None:
            return settings
        for key in settings:
            if isinstance(settings[key], dict) and isinstance(recorded.get(key), dict) and key != "models":
                growing = LENGTH_SETTINGS if key == "spec" else ()
                differing = sorted(
                    k
                    for k in set(settings[key]) | set(recorded[key])
                    if settings[key].get(k) != recorded[key].get(k) and k not in growing
                )
                if differing:
                    raise ValueError(
                        f"{self.path} was written with "
                        + ", ".join(f"{k}={recorded[key].get(k)!r}" for k in differing)
                        + "; this config has "
                        + ", ".join(f"{k}={settings[key].get(k)!r}" for k in differing)
                        + "; choose another --results file"
                    )
            elif key == "models":
                changed = sorted(
                    name for name, spec in settings["models"].items() if recorded["models"].get(name, spec) != spec
                )
                if changed:
                    raise ValueError(
                        f"{self.path} holds results of models {changed} with other weights "
                        f"(file or sha256), lambda_K or head; choose another --results file"
                    )
            elif key not in MERGED and recorded.get(key) != settings[key]:
                raise ValueError(
                    f"{self.path} was written with {key}={recorded.get(key)!r}, this config "
                    f"has {settings[key]!r}; choose another --results file"
                )
        settings["models"] = {**recorded["models"], **settings["models"]}
        settings["seeds"] = sorted(set(recorded.get("seeds", [])) | set(settings["seeds"]))
        runs = recorded.get("runtime", [])
        settings["runtime"] = runs + [r for r in settings["runtime"] if r not in runs]
        return settings

    def claim(self, settings: dict) -> None:
        """Record the settings ``check`` returned."""
        write_text(self.settings_path, json.dumps(settings, indent=1) + "\n")

    def done(self, steps=()) -> set:
        """Cells holding a row for the benign run and for every one of ``steps``; others run again."""
        found: Dict[tuple, set] = {}
        for row in self.rows:
            found.setdefault(cell_key(row), set()).add(int(float(row["steps"])))
        return {cell for cell, have in found.items() if have >= {0, *steps}}

    def add(self, rows: List[dict]) -> None:
        """Append one cell's rows, replacing any partial rows of that cell, and rewrite the file."""
        new = [{k: str(row[k]) for k in COLUMNS} for row in rows]
        cells = {cell_key(row) for row in new}
        self.rows = [row for row in self.rows if cell_key(row) not in cells] + new
        write_csv(self.path, self.rows, COLUMNS)
