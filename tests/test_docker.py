"""Static checks of docker/ (no Docker engine here): base image, what is copied and installed, the workflow."""

import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_dockerfile_builds_on_armorys_image_and_installs_the_package():
    from armory.docker.images import IMAGE_MAP

    text = (REPO / "docker" / "Dockerfile").read_text()
    base = re.search(r"^FROM\s+(\S+)", text, re.M).group(1)
    assert base == IMAGE_MAP["pytorch"]  # the image ARMORY 0.19.2 uses for PyTorch scenarios
    for needed in ("armory_siammtl", "scenarios", "setup.cfg"):
        assert re.search(rf"^COPY\s+{needed}\b", text, re.M), needed
        assert (REPO / needed).exists(), needed
    assert re.search(r"pip install[^\n]*--no-deps \.", text)
    assert "opencv-python-headless" not in text, "the image has opencv-python 4.5.5.62; a second cv2 breaks it"
    check = re.search(r"python -m (armory_siammtl\.armory\.selfcheck) --weights-dir (\S+)", text)
    assert check and (REPO / check.group(2)).is_dir(), "the build runs a real predict and loss_gradient"


def test_scenarios_name_the_image_the_dockerfile_builds():
    script = (REPO / "docker" / "run-scenario.sh").read_text()
    tag = re.search(r"docker build -f docker/Dockerfile -t (\S+) \.", script).group(1)
    for path in (REPO / "scenarios").glob("*.json"):
        assert json.loads(path.read_text())["sysconfig"]["docker_image"] == tag, path.name
    assert "armory run" in script and "--use-gpu" in script


def test_workflow_runs_the_main_scenario_in_docker():
    workflow = (REPO / ".github" / "workflows" / "docker-reproduction.yml").read_text()
    match = re.search(r"bash docker/run-scenario.sh (\S+)", workflow)
    assert match and match.group(1) == "scenarios/carla_mtl_l02.json"
    assert (REPO / match.group(1)).is_file()
