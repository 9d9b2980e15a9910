#!/usr/bin/env bash
# Build the image, put the project's weights in the host's ARMORY saved_model_dir (which ARMORY mounts
# at /armory/saved_models in its container), and run one scenario in Docker on the GPU.
#   docker/run-scenario.sh [scenarios/carla_mtl_l02.json]
set -euo pipefail
cd "$(dirname "$0")/.."
scenario="${1:-scenarios/carla_mtl_l02.json}"
docker build -f docker/Dockerfile -t armory-siammtl:0.1.0 .
saved=$(python -c "from armory import paths; paths.set_mode('host'); print(paths.runtime_paths().saved_model_dir)")
mkdir -p "$saved"
cp armory_siammtl/model_weights/armory_siammtl_manifest.json armory_siammtl/model_weights/*.pth "$saved"/
armory run "$scenario" --use-gpu
