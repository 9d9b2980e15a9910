"""Read an ARMORY video-tracking results JSON: benign and adversarial mIoU (x 100) and success rate."""

import json
import sys
from pathlib import Path

KEYS = {"benign_miou": "benign_mean_video_tracking_mean_iou",
        "adversarial_miou": "adversarial_mean_video_tracking_mean_iou",
        "benign_success": "benign_mean_video_tracking_mean_success_rate",
        "adversarial_success": "adversarial_mean_video_tracking_mean_success_rate"}


def summarize(path) -> dict:
    """{benign_miou, adversarial_miou, ...} in percent, plus per-video lists, from ARMORY's output file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no ARMORY results file at {path}")
    results = json.loads(path.read_text())["results"]
    missing = [k for k in KEYS.values() if k not in results]
    if missing:
        raise ValueError(f"{path} lacks {missing}: not a video tracking run with both benign and attack stages")
    summary = {name: 100.0 * float(results[key][0]) for name, key in KEYS.items()}
    summary["benign_per_video"] = [100.0 * float(v[0]) for v in results["benign_video_tracking_mean_iou"]]
    summary["adversarial_per_video"] = [100.0 * float(v[0]) for v in results["adversarial_video_tracking_mean_iou"]]
    summary["videos"] = exported_videos(path)
    return summary


def exported_videos(path) -> list:
    """The videos ARMORY's exporter wrote beside a results file (``saved_samples/``, with
    ``scenario.export_batches``): benign ``*_x``, adversarial ``*_x_adv``, each also with boxes drawn."""
    samples = Path(path).parent / "saved_samples"
    return sorted(samples.rglob("*.mp4")) if samples.is_dir() else []


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m armory_siammtl.armory.results RESULTS.json", file=sys.stderr)
        return 2
    s = summarize(argv[0])
    print(f"benign mIoU      {s['benign_miou']:6.2f}   success {s['benign_success']:6.2f}")
    print(f"adversarial mIoU {s['adversarial_miou']:6.2f}   success {s['adversarial_success']:6.2f}")
    if s["videos"]:
        print(f"{len(s['videos'])} videos written to {s['videos'][0].parent if len(s['videos']) == 1 else Path(argv[0]).parent / 'saved_samples'}"
              " (benign *_x, adversarial *_x_adv; *_with_boxes/ draw ground truth and prediction)")
    else:
        print("no videos exported (the scenario's export_batches is 0, or ffmpeg was missing)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
