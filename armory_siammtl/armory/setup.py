"""``armory-siammtl setup``: ARMORY's config and the project's weights, offline.

Writes ``~/.armory/config.json`` (unless one exists) and copies the package's ``model_weights/*.pth`` and
their manifest into ARMORY's ``saved_model_dir`` after checking each sha256, never over or through what is
there (``install_weights``). It writes nothing in ``dataset_dir``: the embedded default is a dataset of the
package's own name, rendered when a scenario reads it (``armory.embedded_dataset``). It says whether
ARMORY's real CARLA tracking data is there, and how to remove an embedded copy that an earlier version of
this package wrote under ARMORY's ``carla_video_tracking_dev`` name.
"""

import json
import shutil
from pathlib import Path

from armory_siammtl.atomic import atomic_path, write_text
from armory_siammtl.models.manifest import MANIFEST, SHIPPED_WEIGHTS, read_manifest
from armory_siammtl.models.weights_file import WeightsError, sha256_of

ARMORY_KEYS = ("dataset_dir", "local_git_dir", "saved_model_dir", "output_dir", "tmp_dir")


def armory_config(home: Path) -> dict:
    """Load ``home/.armory/config.json`` or write one whose folders live under ``home/.armory``."""
    config_path = home / ".armory" / "config.json"
    if config_path.is_file():
        return read_armory_config(config_path)
    root = home / ".armory"
    config = {
        "dataset_dir": str(root / "datasets"),
        "local_git_dir": str(root / "git"),
        "saved_model_dir": str(root / "saved_models"),
        "output_dir": str(root / "outputs"),
        "tmp_dir": str(root / "tmp"),
        "verify_ssl": True,
    }
    write_text(config_path, json.dumps(config, indent=4, sort_keys=True) + "\n")
    return config


def read_armory_config(config_path: Path) -> dict:
    """An ARMORY ``config.json`` with a folder for each of ``ARMORY_KEYS``; ValueError naming the file and
    what is wrong with it otherwise."""
    try:
        config = json.loads(Path(config_path).read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"ARMORY config {config_path} is not readable JSON: {exc}") from None
    if not isinstance(config, dict):
        raise ValueError(f"ARMORY config {config_path} must be a JSON object, not {type(config).__name__}")
    bad = [k for k in ARMORY_KEYS if not isinstance(config.get(k), str) or not config.get(k)]
    if bad:
        raise ValueError(
            f"ARMORY config {config_path} has no folder for {', '.join(bad)}; run `armory configure` or add them"
        )
    return config


def installed_weights_dir(home="~") -> Path:
    """ARMORY's ``saved_model_dir`` per ``home/.armory/config.json``; ValueError when ARMORY is not set up."""
    config_path = Path(home).expanduser() / ".armory" / "config.json"
    if not config_path.is_file():
        raise ValueError(
            f"no ARMORY config at {config_path}: run `armory-siammtl setup`, or name the weights "
            "folder with --weights-dir"
        )
    return Path(read_armory_config(config_path)["saved_model_dir"])


def armory_dataset_dir(home="~"):
    """ARMORY's ``dataset_dir`` per ``home/.armory/config.json``, or None when ARMORY is not set up."""
    config_path = Path(home).expanduser() / ".armory" / "config.json"
    return Path(read_armory_config(config_path)["dataset_dir"]) if config_path.is_file() else None


def _same_bytes(a: Path, b: Path) -> bool:
    return a.is_file() and b.is_file() and a.stat().st_size == b.stat().st_size and sha256_of(a) == sha256_of(b)


def install_weights(weights_dir: Path, saved_model_dir: Path, replace: bool = False) -> list:
    """Copy every manifest-listed weights file that is present and verified, and the manifest, into
    ``saved_model_dir``. Nothing there is written through or over unless ``replace``: a name that is a
    symbolic link, or a file with other bytes, is refused (before anything is written) with the list of
    such names; with ``replace`` they are replaced by the file itself (a link is replaced, never followed).
    A folder in the way is always refused. Files already identical are left as they are."""
    manifest_path = weights_dir / MANIFEST
    entries = read_manifest(manifest_path).values()
    plan = []
    for entry in entries:
        source = weights_dir / entry["file"]
        if not source.is_file():
            print(f"  not present (see its 'source' in the manifest): {entry['file']}")
            continue
        if sha256_of(source) != entry["sha256"].lower():
            raise WeightsError(f"{source} does not match its sha256 in {manifest_path}")
        plan.append((source, saved_model_dir / entry["file"]))
    plan.append((manifest_path, saved_model_dir / MANIFEST))
    folders = [str(d) for _, d in plan if d.is_dir() and not d.is_symlink()]
    if folders:
        raise ValueError(f"folders stand where setup would write weights: {', '.join(folders)}; move them")
    taken = [d for s, d in plan if d.is_symlink() or (d.exists() and not _same_bytes(s, d))]
    if taken and not replace:
        raise ValueError(
            f"{saved_model_dir} already holds {', '.join(d.name for d in taken)} (a symbolic link or "
            "other bytes); setup writes nothing over files it did not put there. Move them, or run "
            "`armory-siammtl setup --replace` to replace them with this version's files"
        )
    saved_model_dir.mkdir(parents=True, exist_ok=True)
    installed = []
    for source, destination in plan:
        if not (destination.is_symlink() or not _same_bytes(source, destination)):
            installed.append(destination.name)
            continue
        with atomic_path(destination) as tmp:  # renamed over the name: a link there is replaced, not followed
            shutil.copyfile(source, tmp)
        installed.append(destination.name)
    return [name for name in installed if name != MANIFEST]


EARLIER_EMBEDDED = ("carla_video_tracking_dev", "2.0.0", "SIAMMTL_EMBEDDED.json")  # written by versions < 0.2


def dataset_status(dataset_dir: Path) -> list:
    """Lines saying what ``dataset_dir`` holds of ARMORY's CARLA tracking data; reads, never writes."""
    name, version, marker = EARLIER_EMBEDDED
    lines = []
    real = Path(dataset_dir) / name / version
    if (real / marker).is_file():
        lines.append(
            f"{real} holds procedural videos an earlier armory-siammtl wrote under ARMORY's own name; "
            f"ARMORY would read them as its real dataset. Remove them with `rm -r {real}` (this package "
            "no longer uses them)"
        )
    elif real.is_dir():
        lines.append(f"ARMORY's {name} {version} is in {real}: scenarios/carla_*.json run on it")
    else:
        lines.append(
            f"ARMORY's {name} is not in {dataset_dir}: `armory run scenarios/carla_*.json` downloads it "
            "(network needed); offline, scenarios/embedded/ runs on the package's embedded set"
        )
    return lines


def run_setup(home="~", weights_dir=SHIPPED_WEIGHTS, log=print, replace: bool = False) -> None:
    """ARMORY config in ``home``, verified weights in its ``saved_model_dir``, and what its ``dataset_dir`` holds."""
    home = Path(home).expanduser()
    config = armory_config(home)
    weights = install_weights(Path(weights_dir), Path(config["saved_model_dir"]), replace)
    log(f"armory config: {home / '.armory' / 'config.json'}")
    log(f"weights installed in {config['saved_model_dir']}: {weights or 'none'}")
    for line in dataset_status(Path(config["dataset_dir"])):
        log(line)
