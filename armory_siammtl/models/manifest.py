"""``manifest.json``: the list of weights files a folder holds, each with its sha256, lambda_K and head."""

import json
from pathlib import Path
from typing import Optional

from armory_siammtl.models.checkpoint import CheckpointError

MANIFEST = "manifest.json"


def read_manifest(path) -> dict:
    """{file name: entry} from a manifest ({"weights": [{"file", "sha256", "kpt_weight", "head", ...}]})."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no weights manifest at {path}: run `armory-siammtl setup` to install the weights")
    try:
        entries = json.loads(path.read_text())["weights"]
        listed = {entry["file"]: entry for entry in entries}
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"weights manifest {path} is malformed: {exc}") from exc
    for name, entry in listed.items():
        check_entry(name, entry, path)
    return listed


def check_entry(name, entry: dict, path) -> None:
    """A plain file name (nothing outside the manifest's folder) and a 64-hex-digit sha256: an entry
    without a checksum would let any file load."""
    if not isinstance(name, str) or not name or Path(name).name != name or name in (".", ".."):
        raise CheckpointError(f"weights manifest {path}: file {name!r} must be a plain file name in its folder")
    digest = entry.get("sha256")
    if not isinstance(digest, str) or len(digest) != 64 or any(c not in "0123456789abcdefABCDEF" for c in digest):
        raise CheckpointError(f"weights manifest {path}: entry {name!r} has sha256 {digest!r}, not 64 hex digits; "
                              "every listed weights file needs its checksum")


def manifest_entry(weights_path) -> dict:
    """The entry of ``weights_path`` in the manifest beside it; CheckpointError if absent or unlisted."""
    weights_path = Path(weights_path)
    entries = read_manifest(weights_path.parent / MANIFEST)
    if weights_path.name not in entries:
        raise CheckpointError(f"{weights_path.name} is not listed in {weights_path.parent / MANIFEST}; "
                              f"listed: {sorted(entries)}")
    return entries[weights_path.name]


def manifest_beside(weights_path) -> Optional[Path]:
    path = Path(weights_path).parent / MANIFEST
    return path if path.is_file() else None
