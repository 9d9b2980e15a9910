#!/usr/bin/env bash
# Create ./.venv-image: the official ARMORY 0.19.2 image's versions on CPython 3.10, with this package
# installed --no-deps as docker/Dockerfile does. Safe to re-run.
# requirements-image.txt names the versions; requirements-image.lock is what they resolved to (installed
# here without resolving again). After editing the .txt:
#   rm -rf .venv-image && IMAGE_ENV_RESOLVE=1 bash scripts/install-image-env.sh \
#     && .venv-image/bin/pip freeze --exclude-editable | grep -v armory-siammtl > requirements-image.lock
set -euo pipefail
cd "$(dirname "$0")/.."
python310=""
for candidate in "$HOME"/.pyenv/versions/3.10*/bin/python python3.10; do  # a pyenv shim may exist yet not run
    if "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
        python310=$candidate
        break
    fi
done
[ -n "$python310" ] || { echo "install-image-env: no working CPython 3.10 (pyenv or python3.10)" >&2; exit 1; }
if [ -x .venv-image/bin/python ] && ! .venv-image/bin/python -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
    rm -rf .venv-image  # made for another Python (an older version of this script)
fi
[ -x .venv-image/bin/python ] || "$python310" -m venv .venv-image
.venv-image/bin/python -m pip install -q --upgrade "pip<25"
if [ -n "${IMAGE_ENV_RESOLVE:-}" ]; then
    .venv-image/bin/python -m pip install -q -r requirements-image.txt
else
    .venv-image/bin/python -m pip install -q --no-deps -r requirements-image.lock
fi
.venv-image/bin/python -m pip install -q --no-deps tidecv==1.0.1
.venv-image/bin/python -m pip install -q --no-deps -e .
# ARMORY's video exporter runs `ffmpeg` by name: link the imageio-ffmpeg wheel's static binary into the venv
ln -sf "$(.venv-image/bin/python -c 'import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())')" .venv-image/bin/ffmpeg
echo "installed the image-equivalent environment into $(pwd)/.venv-image ($(.venv-image/bin/python -c \
  'import sys, torch, art, numpy; print(f"Python {sys.version.split()[0]}, torch {torch.__version__}, ART {art.__version__}, numpy {numpy.__version__}")'))"
