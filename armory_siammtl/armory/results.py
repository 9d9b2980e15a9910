"""Read an ARMORY video-tracking results JSON: benign, adversarial and per-checkpoint mIoU and success rate
(x 100), and print the step table (``python -m armory_siammtl.armory.results RESULTS.json``).

Whatever the run recorded is read and whatever it did not is named: ``--skip-benign`` / ``--skip-attack``
runs lack a stage, ``record_metric_per_sample: false`` (ARMORY's eval5 configs) leaves only the means, and
only the package's attack records checkpoints (``armory.scenario.CarlaVideoTracking``).
"""

import json
import sys
from pathlib import Path

METRICS = {"miou": "video_tracking_mean_iou", "success": "video_tracking_mean_success_rate"}
STAGES = ("benign", "adversarial")


def _percent(values):
    """ARMORY's per-sample lists hold one value (or a one-value list) per video."""
    return [100.0 * float(v[0] if isinstance(v, (list, tuple)) else v) for v in values]


def summarize(path) -> dict:
    """{benign_miou, adversarial_miou, benign_success, ..., *_per_video, checkpoints, missing, videos} in
    percent; a value the run did not record is absent and named in ``missing``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no ARMORY results file at {path}")
    try:
        results = json.loads(path.read_text())["results"]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path} is not an ARMORY results JSON (no 'results'): {exc}") from None
    summary, missing = {}, []
    for stage in STAGES:
        for short, metric in METRICS.items():
            mean_key, sample_key = f"{stage}_mean_{metric}", f"{stage}_{metric}"
            if mean_key in results:
                summary[f"{stage}_{short}"] = 100.0 * float(results[mean_key][0])
            else:
                missing.append(mean_key)
            if sample_key in results:
                summary[f"{stage}_{short}_per_video"] = _percent(results[sample_key])
            elif mean_key in results:
                missing.append(f"{sample_key} (record_metric_per_sample was off)")
    if not any(key.startswith(STAGES) for key in summary):
        raise ValueError(f"{path} holds no video tracking metric: not a CarlaVideoTracking run")
    summary["checkpoints"] = {
        int(steps): {short: 100.0 * float(row[f"adversarial_mean_{metric}"]) for short, metric in METRICS.items()}
        for steps, row in results.get("checkpoints", {}).items()
    }
    summary["missing"] = missing
    summary["videos"] = exported_videos(path)
    return summary


def exported_videos(path) -> list:
    """The videos ARMORY's exporter wrote beside a results file (``saved_samples/``, with
    ``scenario.export_batches``): benign ``*_x``, adversarial ``*_x_adv``, each also with boxes drawn."""
    samples = Path(path).parent / "saved_samples"
    return sorted(samples.rglob("*.mp4")) if samples.is_dir() else []


def step_table(summary: dict) -> str:
    """Markdown: benign, then each checkpoint (or the final adversarial result when there are none)."""
    lines = ["| steps | mIoU | success rate |", "|---|---|---|"]
    cell = lambda stage, short: f"{summary[f'{stage}_{short}']:.1f}" if f"{stage}_{short}" in summary else "–"  # noqa: E731
    lines.append(f"| benign | {cell('benign', 'miou')} | {cell('benign', 'success')} |")
    if summary["checkpoints"]:
        lines += [
            f"| {steps} | {row['miou']:.1f} | {row['success']:.1f} |"
            for steps, row in sorted(summary["checkpoints"].items())
        ]
    else:
        lines.append(f"| attacked (final) | {cell('adversarial', 'miou')} | {cell('adversarial', 'success')} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m armory_siammtl.armory.results RESULTS.json", file=sys.stderr)
        return 2
    try:
        s = summarize(argv[0])
    except (FileNotFoundError, ValueError) as exc:
        print(f"armory_siammtl.armory.results: error: {exc}", file=sys.stderr)
        return 2
    print("mean over videos, x 100 (ARMORY's video_tracking_mean_iou and _mean_success_rate)")
    print(step_table(s))
    if "benign_miou_per_video" in s:
        print("benign mIoU per video:      " + ", ".join(f"{v:.1f}" for v in s["benign_miou_per_video"]))
    if "adversarial_miou_per_video" in s:
        print("adversarial mIoU per video: " + ", ".join(f"{v:.1f}" for v in s["adversarial_miou_per_video"]))
    if s["missing"]:
        print("not recorded by this run: " + "; ".join(s["missing"]))
    if s["videos"]:
        print(
            f"{len(s['videos'])} videos written to {Path(argv[0]).parent / 'saved_samples'}"
            " (benign *_x, adversarial *_x_adv; *_with_boxes/ draw ground truth and prediction)"
        )
    else:
        print("no videos exported (the scenario's export_batches is 0, or ffmpeg was missing)")
    textures = Path(argv[0]).parent / "textures"
    if textures.is_dir():
        print(f"textures of every checkpoint in {textures}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
