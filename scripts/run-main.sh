#!/usr/bin/env bash
# The main job: set ARMORY up offline (config, project weights, embedded CARLA-format dataset when the
# real one is absent) and run the MTL lambda_K = 0.2 scenario; prints benign and adversarial mIoU.
set -euo pipefail
cd "$(dirname "$0")/.."
scenario="${1:-scenarios/carla_mtl_l02.json}"
.venv/bin/armory-siammtl setup
# ARMORY would look for a missing weights file on S3 before any model code runs: check it here first
.venv/bin/armory-siammtl validate "$scenario" 2>&1 | grep -E "^(ok|FAILED)|error:" || exit 2
echo "armory run $scenario --no-docker (about 18 min on 2 CPU cores; full log in runs-main.log)"
set +e
.venv/bin/armory run "$scenario" --no-docker 2>&1 | tee runs-main.log | grep --line-buffered -E "METRIC|ERROR"
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
    tail -n 30 runs-main.log >&2
    echo "armory run failed with exit code $status; the full log is runs-main.log" >&2
    exit "$status"
fi
.venv/bin/python -m armory_siammtl.armory.results "$(grep -A1 'results output written to' runs-main.log | tail -1)"
