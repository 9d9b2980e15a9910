"""``armory_siammtl_manifest.json``: the list of weights files a folder holds, each with its sha256, lambda_K and
head. The name is the package's own, so that a ``manifest.json`` of anything else in a shared folder such as
ARMORY's ``saved_model_dir`` is neither read nor written.

The project's own list ships inside the package (``SHIPPED_WEIGHTS``), so weights named as a shipped file
are checked against it even where ARMORY copied the weights file alone into ``saved_model_dir``.
"""

import json
from pathlib import Path
from typing import Optional

from armory_siammtl.models.errors import WeightsError
from armory_siammtl.models.variant import is_sha256

MANIFEST = "armory_siammtl_manifest.json"
SHIPPED_WEIGHTS = Path(__file__).resolve().parents[1] / "model_weights"  # inside the installed package


def read_manifest(path) -> dict:
    """{file name: entry} from a manifest ({"weights": [{"file", "sha256", "kpt_weight", "head", ...}]})."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"no weights manifest at {path}: run `armory-siammtl setup` to install the weights")
    try:
        entries = json.loads(path.read_text())["weights"]
        listed = {entry["file"]: entry for entry in entries}
    except (ValueError, KeyError, TypeError) as exc:
        raise WeightsError(f"weights manifest {path} is malformed: {exc}") from exc
    for name, entry in listed.items():
        check_entry(name, entry, path)
    return listed


def check_entry(name, entry: dict, path) -> None:
    """A plain file name (nothing outside the manifest's folder) and a 64-hex-digit sha256: an entry
    without a checksum would let any file load."""
    if not isinstance(name, str) or not name or Path(name).name != name or name in (".", ".."):
        raise WeightsError(f"weights manifest {path}: file {name!r} must be a plain file name in its folder")
    digest = entry.get("sha256")
    if not is_sha256(digest):
        raise WeightsError(
            f"weights manifest {path}: entry {name!r} has sha256 {digest!r}, not 64 hex digits; "
            "every listed weights file needs its checksum"
        )


def listing(weights_path, shipped=SHIPPED_WEIGHTS) -> Optional[tuple]:
    """(entry, manifest path) of the first manifest that lists ``weights_path``'s file name: the one beside
    it, else the package's own; None when neither does."""
    for folder in (Path(weights_path).parent, Path(shipped)):
        path = folder / MANIFEST
        if path.is_file():
            entry = read_manifest(path).get(Path(weights_path).name)
            if entry is not None:
                return entry, path
    return None
