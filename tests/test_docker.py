"""Docker mode, checked as far as it can be without an engine: the scenarios name the official ARMORY image,
ARMORY's container would find every module they name in the working tree it mounts at /workspace, and the
optional custom image keeps its copy outside that mount."""

import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((REPO / "scenarios").rglob("*.json"))


def _module_file(module: str):
    """Where ``python -m armory.scenarios.main`` in /workspace (the repository root) finds ``module``."""
    base = REPO.joinpath(*module.split("."))
    return base.with_suffix(".py") if base.with_suffix(".py").is_file() else base / "__init__.py"


def test_scenarios_run_in_the_official_image_from_the_mounted_working_tree():
    from armory import paths
    from armory.docker.images import IMAGE_MAP, get_armory_name, is_armory

    assert paths.DockerPaths().cwd == "/workspace"  # ARMORY mounts the host's working directory here
    for path in SCENARIOS:
        config = json.loads(path.read_text())
        image = config["sysconfig"]["docker_image"]
        assert is_armory(image) and get_armory_name(image) == IMAGE_MAP["pytorch"], (path, image)
        assert (
            config["sysconfig"].get("external_github_repo") is None and config["sysconfig"]["local_repo_path"] is None
        )
        for section in ("model", "attack", "dataset", "scenario"):
            module = config[section]["module"]
            if module.startswith("armory_siammtl"):
                assert _module_file(module).is_file(), (path.name, module)


def test_the_run_script_runs_from_the_repository_root_with_the_weights_installed():
    script = (REPO / "docker" / "run-scenario.sh").read_text()
    assert 'cd "$(dirname "$0")/.."' in script  # the repository root becomes /workspace in the container
    assert script.index("armory-siammtl setup") < script.index("armory run")  # weights in saved_model_dir first
    assert "docker build" not in script  # the official image, nothing built
    default = re.search(r'scenario="\$\{1:-(\S+)\}"', script).group(1)
    assert (REPO / default).is_file() and "/embedded/" in default  # offline data: runs without a download


def test_the_optional_image_builds_on_armorys_and_keeps_its_copy_outside_the_mount():
    from armory.docker.images import IMAGE_MAP

    text = (REPO / "docker" / "Dockerfile").read_text()
    assert re.search(r"^FROM\s+(\S+)", text, re.M).group(1) == IMAGE_MAP["pytorch"]
    workdirs = re.findall(r"^WORKDIR\s+(\S+)", text, re.M)
    copy_dir = workdirs[0]
    assert not (copy_dir + "/").startswith("/workspace/"), "ARMORY's /workspace mount would hide the copy"
    for needed in ("armory_siammtl", "scenarios", "setup.cfg"):
        assert re.search(rf"^COPY\s+{needed}\b", text, re.M), needed
        assert (REPO / needed).exists(), needed
    assert re.search(r"pip install[^\n]*--no-deps \.", text)
    assert "opencv-python-headless" not in text, "the image has opencv-python 4.5.5.62; a second cv2 breaks it"
    check = re.search(r"python -m (armory_siammtl\.armory\.selfcheck) --weights-dir (\S+)", text)
    assert check and (REPO / check.group(2)).is_dir(), "the build runs a real predict and loss_gradient"


def test_workflow_runs_the_main_scenario_in_docker():
    workflow = (REPO / ".github" / "workflows" / "docker-reproduction.yml").read_text()
    match = re.search(r"bash docker/run-scenario.sh (\S+)", workflow)
    assert match and (REPO / match.group(1)).is_file()
