"""How much one run of the main job varies: `armory run scenarios/carla_mtl_l02.json --no-docker` with the
attack seeds 0, 1, 2 (2 torch threads) and seed 0 again with 1 thread. Each run's ARMORY results JSON is
copied to OUT/seed<S>_threads<T>.json (runs already there are skipped, so a killed job resumes) and
OUT/summary.md tabulates benign and adversarial mIoU per video with their spread.

    .venv/bin/python scripts/main_job_variance.py [--out docs/main_job] [--scenario scenarios/carla_mtl_l02.json]

Needs `armory-siammtl setup` first (scripts/run-main.sh does it).
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from armory_siammtl.armory.results import summarize
from armory_siammtl.atomic import atomic_path, write_text

RUNS = [(0, 2), (1, 2), (2, 2), (0, 1)]  # (attack seed, torch threads)


def run_once(scenario: Path, seed: int, threads: int, out: Path) -> Path:
    target = out / f"seed{seed}_threads{threads}.json"
    if target.is_file():
        print(f"{target} exists, skipped")
        return target
    config = json.loads(scenario.read_text())
    config["attack"]["kwargs"]["seed"] = seed
    with tempfile.TemporaryDirectory() as tmp:
        derived = Path(tmp) / scenario.name
        derived.write_text(json.dumps(config))
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
        start = time.perf_counter()
        done = subprocess.run([str(Path(sys.executable).parent / "armory"), "run", str(derived), "--no-docker"],
                              env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
    log = done.stdout + done.stderr
    found = re.search(r"results output written to:?\s*\n?\s*(\S+\.json)", log)
    if done.returncode != 0 or not found:
        raise RuntimeError(f"armory run failed (exit {done.returncode}):\n{log[-3000:]}")
    with atomic_path(target) as tmp_path:
        shutil.copy(found.group(1), tmp_path)
    print(f"seed {seed}, {threads} threads: {wall:.0f} s -> {target}")
    return target


def summary(out: Path) -> str:
    rows = []
    for seed, threads in RUNS:
        s = summarize(out / f"seed{seed}_threads{threads}.json")
        for video, (benign, adv) in enumerate(zip(s["benign_per_video"], s["adversarial_per_video"]), start=1):
            rows.append({"seed": seed, "threads": threads, "video": video, "benign": benign, "adversarial": adv})
    frame = pd.DataFrame(rows)
    per_run = frame.groupby(["seed", "threads"])[["benign", "adversarial"]].mean()
    wide = frame.pivot_table(index="video", columns=["seed", "threads"], values="adversarial")
    wide.columns = [f"seed {s}, {t} thr" for s, t in wide.columns]
    two = per_run.xs(2, level="threads")["adversarial"]
    lines = ["# Main job, run to run", "",
             "Adversarial mIoU ×100 per video (`armory run scenarios/carla_mtl_l02.json --no-docker`, embedded "
             "default: 3 procedural videos of 30 frames at 960×1280; attack seed and torch threads as named):", "",
             "```", wide.round(1).to_string(), "```", "",
             "Mean over the 3 videos per run:", "", "```", per_run.round(1).to_string(), "```", "",
             f"Across the 3 seeds (2 threads): adversarial mean {two.mean():.1f}, standard deviation "
             f"{two.std(ddof=1):.1f}, range {two.min():.1f}–{two.max():.1f}. Seed 0 with 1 vs 2 threads: "
             f"{per_run.loc[(0, 1), 'adversarial']:.1f} vs {per_run.loc[(0, 2), 'adversarial']:.1f}. "
             f"Benign mIoU does not depend on the seed: {per_run['benign'].min():.1f}–{per_run['benign'].max():.1f}."]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/main_job")
    parser.add_argument("--scenario", default="scenarios/carla_mtl_l02.json")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for seed, threads in RUNS:
        run_once(Path(args.scenario), seed, threads, out)
    text = summary(out)
    write_text(out / "summary.md", text)
    print(text)


if __name__ == "__main__":
    main()
