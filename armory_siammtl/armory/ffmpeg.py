"""An ``ffmpeg`` executable for ARMORY's video exporter, which calls ``ffmpeg`` by name through
ffmpeg-python. Many machines (and this project's) have none; the install puts the static binary of the
``imageio-ffmpeg`` wheel at ``<venv>/bin/ffmpeg``, which is not on ``PATH`` unless the venv is activated.
"""

import functools
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Optional


@functools.cache
def ensure_ffmpeg() -> Optional[str]:
    """The ``ffmpeg`` that ARMORY will run, putting one on ``PATH`` when there is none: the venv's
    ``bin/ffmpeg``, else a link to imageio-ffmpeg's binary. None (ARMORY's exports then fail) when neither
    exists. Done once per process: every model the factory builds after the first reuses the answer."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    folder = Path(sys.executable).parent
    if not (folder / "ffmpeg").is_file():
        try:
            import imageio_ffmpeg
        except ImportError:
            return None
        folder = Path(tempfile.mkdtemp(prefix="armory-siammtl-ffmpeg-"))
        (folder / "ffmpeg").symlink_to(imageio_ffmpeg.get_ffmpeg_exe())
    os.environ["PATH"] = f"{folder}{os.pathsep}{os.environ.get('PATH', '')}"
    return shutil.which("ffmpeg")
