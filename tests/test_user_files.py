"""Nothing of the user's is written through, over or beside: setup's weights and manifest in a shared
``saved_model_dir``, and a sweep whose results path is a symbolic link."""

import json
import shutil

import pytest

from armory_siammtl.armory.setup import install_weights, installed_weights_dir, run_setup
from armory_siammtl.models.manifest import MANIFEST, SHIPPED_WEIGHTS
from armory_siammtl.models.weights_file import sha256_of

SHIPPED = sorted(p.name for p in SHIPPED_WEIGHTS.glob("*.pth"))


@pytest.fixture()
def saved(tmp_path):
    folder = tmp_path / "saved_models"
    folder.mkdir()
    return folder


def test_setup_replaces_no_link_and_follows_none(tmp_path, saved):
    elsewhere = tmp_path / "precious.bin"
    elsewhere.write_bytes(b"the user's own file")
    (saved / SHIPPED[0]).symlink_to(elsewhere)
    with pytest.raises(ValueError, match=f"already holds {SHIPPED[0]}.*--replace"):
        install_weights(SHIPPED_WEIGHTS, saved)
    assert elsewhere.read_bytes() == b"the user's own file"
    assert sorted(p.name for p in saved.iterdir()) == [SHIPPED[0]]  # refused before anything was written
    install_weights(SHIPPED_WEIGHTS, saved, replace=True)  # asked: the link itself is replaced
    assert elsewhere.read_bytes() == b"the user's own file"
    assert not (saved / SHIPPED[0]).is_symlink()
    assert sha256_of(saved / SHIPPED[0]) == sha256_of(SHIPPED_WEIGHTS / SHIPPED[0])


def test_setup_keeps_a_manifest_json_that_is_not_its_own(saved):
    theirs = json.dumps({"weights": [{"file": "their_model.pth", "sha256": "a" * 64}], "note": "mine"})
    (saved / "manifest.json").write_text(theirs)
    installed = install_weights(SHIPPED_WEIGHTS, saved)
    assert sorted(installed) == SHIPPED
    assert (saved / "manifest.json").read_text() == theirs
    assert (saved / MANIFEST).read_text() == (SHIPPED_WEIGHTS / MANIFEST).read_text() and MANIFEST != "manifest.json"


def test_setup_refuses_other_bytes_under_its_names_and_leaves_identical_files(saved):
    install_weights(SHIPPED_WEIGHTS, saved)
    before = {p.name: p.stat().st_mtime_ns for p in saved.iterdir()}
    install_weights(SHIPPED_WEIGHTS, saved)  # a second setup: nothing to do, nothing rewritten
    assert {p.name: p.stat().st_mtime_ns for p in saved.iterdir()} == before
    (saved / SHIPPED[-1]).write_bytes(b"an older or other file")
    with pytest.raises(ValueError, match="other bytes"):
        install_weights(SHIPPED_WEIGHTS, saved)
    assert (saved / SHIPPED[-1]).read_bytes() == b"an older or other file"


def test_setup_accepts_an_upper_case_checksum(tmp_path, saved):
    weights = tmp_path / "weights"
    shutil.copytree(SHIPPED_WEIGHTS, weights)
    manifest = json.loads((weights / MANIFEST).read_text())
    for entry in manifest["weights"]:
        entry["sha256"] = entry["sha256"].upper()
    (weights / MANIFEST).write_text(json.dumps(manifest))
    assert sorted(install_weights(weights, saved)) == SHIPPED


@pytest.mark.parametrize(
    "content,message",
    [
        ("{not json", "config.json is not readable JSON"),
        ("[1, 2]", "must be a JSON object, not list"),
        ('{"dataset_dir": "/tmp/d"}', "has no folder for local_git_dir, saved_model_dir"),
    ],
)
def test_a_broken_armory_config_is_named(tmp_path, content, message):
    (tmp_path / ".armory").mkdir()
    (tmp_path / ".armory" / "config.json").write_text(content)
    with pytest.raises(ValueError, match=message):
        run_setup(tmp_path, log=lambda *_: None)
    with pytest.raises(ValueError, match=message):
        installed_weights_dir(tmp_path)
    assert (tmp_path / ".armory" / "config.json").read_text() == content


def test_a_sweep_through_a_link_locks_and_writes_the_linked_file(tmp_path):
    from armory_siammtl.evaluation.sweep import exclusive as sweep_lock
    from armory_siammtl.evaluation.sweep import run_sweep
    from armory_siammtl.evaluation.sweep_config import sweep_config_from_dict

    real = tmp_path / "real" / "results.csv"
    real.parent.mkdir()
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    raw = {
        "models": [{"name": "STL", "weights": str(SHIPPED_WEIGHTS / "siamrpn_alex_stl.pth"), "kpt_weight": 0.0}],
        "step_sizes": [0.1],
        "max_iter": 1,
        "checkpoints": [1],
        "frame_batch": 3,
        "dataset": {"kind": "procedural", "videos": 1, "frames": 3, "height": 120, "width": 160, "seed": 910000},
    }
    with sweep_lock(real):  # another sweep holds the real file
        with pytest.raises(ValueError, match="another sweep is writing"):
            run_sweep(sweep_config_from_dict(raw), link, progress=False)
    run_sweep(sweep_config_from_dict(raw), link, progress=False)
    assert link.is_symlink() and real.is_file() and "STL" in real.read_text()
    assert not [p for p in tmp_path.iterdir() if p.name not in ("real", "link.csv")]  # nothing beside the link


def test_setup_leaves_armorys_datasets_as_they_are(tmp_path):
    """No write under ARMORY's dataset names: a real carla_video_tracking_dev stays byte for byte, and an
    embedded copy an earlier version wrote under ARMORY's name is reported with how to remove it, not removed."""
    datasets = tmp_path / "datasets"
    real = datasets / "carla_video_tracking_dev" / "2.0.0"
    real.mkdir(parents=True)
    (real / "dataset_info.json").write_text("{}")
    (tmp_path / ".armory").mkdir()
    config = {
        "dataset_dir": str(datasets),
        "local_git_dir": str(tmp_path / "git"),
        "saved_model_dir": str(tmp_path / "saved"),
        "output_dir": str(tmp_path / "out"),
        "tmp_dir": str(tmp_path / "tmp"),
    }
    (tmp_path / ".armory" / "config.json").write_text(json.dumps(config))
    before = {p: p.stat().st_mtime_ns for p in datasets.rglob("*")}
    said = []
    run_setup(tmp_path, log=said.append)
    assert {p: p.stat().st_mtime_ns for p in datasets.rglob("*")} == before
    assert any("carla_video_tracking_dev 2.0.0 is in" in line for line in said)
    (real / "SIAMMTL_EMBEDDED.json").write_text("{}")
    said.clear()
    run_setup(tmp_path, log=said.append)
    assert any(f"rm -r {real}" in line for line in said) and (real / "SIAMMTL_EMBEDDED.json").is_file()
