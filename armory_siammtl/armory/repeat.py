"""How much one ARMORY run varies: ``armory run SCENARIO --no-docker`` again under what may change its result.
Where the attack draws random numbers (frame windows, random start): attack seeds 0, 1, 2 with 2 torch
threads and seed 0 with 1 thread; else (the reference attack) 2 threads, 1 thread, and 2 threads on AVX2
kernels. Each run's results JSON is copied to OUT/seed<S>_threads<T>[_<kernels>].json (runs already there
are skipped, so a killed job resumes) and OUT/summary.md tabulates benign and adversarial mIoU per video with
their spread. Needs ``armory-siammtl setup`` first."""

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

SEEDED_RUNS = [(0, 2, None), (1, 2, None), (2, 2, None), (0, 1, None)]  # (attack seed, threads, CPU kernels)
UNSEEDED_RUNS = [(0, 2, None), (0, 1, None), (0, 2, "avx2")]  # the seed changes nothing: vary the kernels


def runs_for(scenario: dict) -> list:
    """Seeds vary a run only where the attack draws from its generator (frame windows, random init); the
    reference attack (whole video, grey start) is deterministic but for round-off: vary threads and the
    CPU kernels (ATEN_CPU_CAPABILITY) instead."""
    kwargs = scenario["attack"]["kwargs"]
    return SEEDED_RUNS if kwargs.get("frame_batch") or kwargs.get("init") == "random" else UNSEEDED_RUNS


def label(seed: int, threads: int, capability) -> str:
    return f"seed {seed}, {threads} thr" + (f", {capability}" if capability else "")


def run_once(scenario: Path, seed: int, threads: int, capability, out: Path) -> Path:
    target = out / (f"seed{seed}_threads{threads}" + (f"_{capability}" if capability else "") + ".json")
    if target.is_file():
        print(f"{target} exists, skipped")
        return target
    config = json.loads(scenario.read_text())
    config["attack"]["kwargs"]["seed"] = seed
    with tempfile.TemporaryDirectory() as tmp:
        derived = Path(tmp) / scenario.name
        derived.write_text(json.dumps(config))
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
        if capability:
            env["ATEN_CPU_CAPABILITY"] = capability
        start = time.perf_counter()
        done = subprocess.run(
            [str(Path(sys.executable).parent / "armory"), "run", str(derived), "--no-docker"],
            env=env,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - start
    log = done.stdout + done.stderr
    found = re.search(r"results output written to:?\s*\n?\s*(\S+\.json)", log)
    if done.returncode != 0 or not found:
        raise RuntimeError(f"armory run failed (exit {done.returncode}):\n{log[-3000:]}")
    with atomic_path(target) as tmp_path:
        shutil.copy(found.group(1), tmp_path)
    print(f"{label(seed, threads, capability)}: {wall:.0f} s -> {target}")
    return target


def summary(scenario: Path, results: dict) -> str:
    """``results``: {run label: results JSON}."""
    rows = []
    for name, path in results.items():
        s = summarize(path)
        for video, (benign, adv) in enumerate(
            zip(s["benign_miou_per_video"], s["adversarial_miou_per_video"]), start=1
        ):
            rows.append({"run": name, "video": video, "benign": benign, "adversarial": adv})
    frame = pd.DataFrame(rows)
    order = list(results)
    per_run = frame.groupby("run", sort=False)[["benign", "adversarial"]].mean().loc[order]
    wide = frame.pivot_table(index="video", columns="run", values="adversarial")[order]
    adv = per_run["adversarial"]
    lines = [
        "# Main job, run to run",
        "",
        f"Adversarial mIoU ×100 per video (`armory run {scenario} --no-docker`; attack seed, torch threads "
        "and CPU kernels as named, the machine's own kernels where none is):",
        "",
        "```",
        wide.round(1).to_string(),
        "```",
        "",
        f"Mean over the {frame['video'].nunique()} videos per run:",
        "",
        "```",
        per_run.round(1).to_string(),
        "```",
        "",
        f"Across the {len(adv)} runs: adversarial mean {adv.mean():.1f}, standard deviation "
        f"{adv.std(ddof=1):.1f}, range {adv.min():.1f}–{adv.max():.1f}; benign "
        f"{per_run['benign'].min():.1f}–{per_run['benign'].max():.1f}.",
    ]
    return "\n".join(lines) + "\n"


def repeat_scenario(scenario, out) -> str:
    """``armory-siammtl repeat``: the runs of ``runs_for`` into ``out`` and their summary (returned)."""
    out, scenario = Path(out), Path(scenario)
    out.mkdir(parents=True, exist_ok=True)
    results = {label(*run): run_once(scenario, *run, out) for run in runs_for(json.loads(scenario.read_text()))}
    text = summary(scenario, results)
    write_text(out / "summary.md", text)
    return text
