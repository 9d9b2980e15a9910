#!/usr/bin/env bash
# Run a scenario in ARMORY's Docker mode with the official image twosixarmory/armory:0.19.2 (the scenarios'
# sysconfig.docker_image). ARMORY bind-mounts the working directory at /workspace and runs
# `python -m armory.scenarios.main` there, so run from the repository root: armory_siammtl/ is importable
# without installing anything into the image. The weights reach ARMORY's saved_model_dir (mounted at
# /armory/saved_models) through `armory-siammtl setup`, as a round delivers a scenario's weights_file.
#   docker/run-scenario.sh [scenarios/embedded/embedded_mtl_l02.json] [extra armory run flags, e.g. --use-gpu]
set -euo pipefail
cd "$(dirname "$0")/.."
scenario="${1:-scenarios/embedded/embedded_mtl_l02.json}"
shift || true
armory-siammtl setup
armory-siammtl validate "$scenario"
armory run "$scenario" "$@"
