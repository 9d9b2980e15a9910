#!/usr/bin/env bash
# The main job: set ARMORY up offline (config, project weights, embedded CARLA-format dataset when the
# real one is absent) and run the MTL lambda_K = 0.2 scenario; prints benign and adversarial mIoU.
set -euo pipefail
cd "$(dirname "$0")/.."
scenario="${1:-scenarios/carla_mtl_l02.json}"
.venv/bin/armory-siammtl setup
.venv/bin/armory run "$scenario" --no-docker 2>&1 | tee runs-main.log | grep -E "METRIC|results output|ERROR" || true
.venv/bin/python -m armory_siammtl.evaluation.armory_results "$(grep -A1 'results output written to' runs-main.log | tail -1)"
