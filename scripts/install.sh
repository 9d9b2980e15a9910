#!/usr/bin/env bash
# Create ./.venv with the pinned stack and this package (editable). Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements.txt
.venv/bin/python -m pip install -q --no-deps tidecv==1.0.1
.venv/bin/python -m pip install -q --no-deps -e .
# ARMORY's video exporter runs `ffmpeg` by name: link the imageio-ffmpeg wheel's static binary into the venv
ln -sf "$(.venv/bin/python -c 'import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())')" .venv/bin/ffmpeg
echo "installed armory-siammtl into $(pwd)/.venv"
