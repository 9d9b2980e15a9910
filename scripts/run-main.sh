#!/usr/bin/env bash
# The main job: set ARMORY up offline (config, project weights) and run the paper's reference attack on the
# package's embedded set (scenarios/embedded/, its own dataset name: nothing is written under ARMORY's);
# prints the estimate first, then benign and per-checkpoint mIoU from ARMORY's results JSON.
set -euo pipefail
cd "$(dirname "$0")/.."
scenario="${1:-scenarios/embedded/embedded_mtl_l02.json}"
.venv/bin/armory-siammtl setup
# ARMORY would look for a missing weights file on S3 before any model code runs: check it here first
.venv/bin/armory-siammtl validate "$scenario" 2>&1 | grep -E "^(ok|FAILED)|error:|^ +\(" || exit 2
.venv/bin/armory-siammtl estimate "$scenario" 2>/dev/null | grep estimated
echo "armory run $scenario --no-docker (full log in runs-main.log)"
start=$(date +%s)
set +e
.venv/bin/armory run "$scenario" --no-docker 2>&1 | tee runs-main.log | grep --line-buffered -E "METRIC|ERROR"
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
    tail -n 30 runs-main.log >&2
    echo "armory run failed with exit code $status; the full log is runs-main.log" >&2
    exit "$status"
fi
echo "armory run took $(( $(date +%s) - start )) s on $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores"
.venv/bin/python -m armory_siammtl.armory.results "$(grep -A1 'results output written to' runs-main.log | tail -1)"
