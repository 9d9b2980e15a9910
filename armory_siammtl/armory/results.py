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
    return summary


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m armory_siammtl.armory.results RESULTS.json", file=sys.stderr)
        return 2
    s = summarize(argv[0])
    print(f"benign mIoU      {s['benign_miou']:6.2f}   success {s['benign_success']:6.2f}")
    print(f"adversarial mIoU {s['adversarial_miou']:6.2f}   success {s['adversarial_success']:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
