"""``armory-siammtl setup``: ARMORY's config, the project's weights and the CARLA dataset, offline.

Writes ``~/.armory/config.json`` (unless one exists), copies the package's ``model_weights/*.pth`` and their manifest
into ARMORY's ``saved_model_dir`` after checking each sha256, and, when ``carla_video_tracking_dev`` 2.0.0
is not already in ``dataset_dir``, builds the embedded default from the procedural scene.
"""

import json
import shutil
from pathlib import Path

from armory_siammtl.data.splits import EMBEDDED_SEED
from armory_siammtl.models.checkpoint import CheckpointError, sha256_of
from armory_siammtl.models.manifest import MANIFEST, SHIPPED_WEIGHTS, read_manifest

ARMORY_KEYS = ("dataset_dir", "local_git_dir", "saved_model_dir", "output_dir", "tmp_dir")


def armory_config(home: Path) -> dict:
    """Load ``home/.armory/config.json`` or write one whose folders live under ``home/.armory``."""
    config_path = home / ".armory" / "config.json"
    if config_path.is_file():
        return json.loads(config_path.read_text())
    root = home / ".armory"
    config = {"dataset_dir": str(root / "datasets"), "local_git_dir": str(root / "git"),
              "saved_model_dir": str(root / "saved_models"), "output_dir": str(root / "outputs"),
              "tmp_dir": str(root / "tmp"), "verify_ssl": True}
    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text(json.dumps(config, indent=4, sort_keys=True) + "\n")
    return config


def installed_weights_dir(home="~") -> Path:
    """ARMORY's ``saved_model_dir`` per ``home/.armory/config.json``; ValueError when ARMORY is not set up."""
    config_path = Path(home).expanduser() / ".armory" / "config.json"
    if not config_path.is_file():
        raise ValueError(f"no ARMORY config at {config_path}: run `armory-siammtl setup`, or name the weights "
                         "folder with --weights-dir")
    try:
        return Path(json.loads(config_path.read_text())["saved_model_dir"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"ARMORY config {config_path} has no readable saved_model_dir: {exc}") from exc


def install_weights(weights_dir: Path, saved_model_dir: Path) -> list:
    """Copy every manifest-listed weights file that is present, verified, plus the manifest itself."""
    manifest_path = weights_dir / MANIFEST
    entries = read_manifest(manifest_path).values()
    saved_model_dir.mkdir(parents=True, exist_ok=True)
    installed = []
    for entry in entries:
        source = weights_dir / entry["file"]
        if not source.is_file():
            print(f"  not present (see its 'source' in the manifest): {entry['file']}")
            continue
        if sha256_of(source) != entry["sha256"]:
            raise CheckpointError(f"{source} does not match its sha256 in {manifest_path}")
        shutil.copy2(source, saved_model_dir / entry["file"])
        installed.append(entry["file"])
    shutil.copy2(manifest_path, saved_model_dir / MANIFEST)
    return installed


def ensure_dataset(dataset_dir: Path, videos: int, frames: int) -> str:
    from armory_siammtl.data.export import TFDS_NAME, TFDS_VERSION, write_tfds

    target = dataset_dir / TFDS_NAME / TFDS_VERSION
    if target.is_dir():
        kind = "embedded procedural" if (target / "SIAMMTL_EMBEDDED.json").is_file() else "real ARMORY"
        return f"{kind} {TFDS_NAME} already in {target}"
    write_tfds(dataset_dir, range(EMBEDDED_SEED, EMBEDDED_SEED + videos), frames)
    return f"built the embedded procedural {TFDS_NAME} ({videos} videos x {frames} frames) in {target}"


def run_setup(home="~", weights_dir=SHIPPED_WEIGHTS, videos: int = 3, frames: int = 30, log=print) -> None:
    """ARMORY config in ``home``, verified weights in its ``saved_model_dir``, the dataset in its ``dataset_dir``."""
    home = Path(home).expanduser()
    config = armory_config(home)
    weights = install_weights(Path(weights_dir), Path(config["saved_model_dir"]))
    log(f"armory config: {home / '.armory' / 'config.json'}")
    log(f"weights installed in {config['saved_model_dir']}: {weights or 'none'}")
    log(ensure_dataset(Path(config["dataset_dir"]), videos, frames))
