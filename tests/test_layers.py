"""The package's layers: a module imports only from its own folder or from a layer below it."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "armory_siammtl"
# lower numbers are lower layers; folders on the same layer do not import each other
LAYERS = {
    "atomic": 0,
    "input_checks": 0,
    "runtime": 0,
    "values": 0,
    "data": 1,
    "models": 1,
    "tracking": 2,
    "estimators": 3,
    "experiment": 3,
    "attacks": 4,
    "training": 4,
    "armory": 5,
    "evaluation": 6,
    "reproduce": 7,
    "cli": 8,
}


def _part(module: str) -> str:
    return module.split(".")[1] if module.count(".") else module


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("armory_siammtl."):
            yield node.lineno, node.module
        elif isinstance(node, ast.Import):
            yield from ((node.lineno, a.name) for a in node.names if a.name.startswith("armory_siammtl."))


def test_every_folder_has_a_layer():
    parts = {
        p.stem if p.parent == PACKAGE else p.relative_to(PACKAGE).parts[0]
        for p in PACKAGE.rglob("*.py")
        if p.name != "__init__.py" or p.parent != PACKAGE
    }
    assert parts <= set(LAYERS), f"give {sorted(parts - set(LAYERS))} a layer in tests/test_layers.py"


def test_no_module_imports_from_a_layer_above_or_beside_it():
    offences = []
    for path in PACKAGE.rglob("*.py"):
        if path.parent == PACKAGE and path.name == "__init__.py":
            continue
        own = path.stem if path.parent == PACKAGE else path.relative_to(PACKAGE).parts[0]
        for line, module in _imports(path):
            other = module.split(".")[1]
            if other != own and LAYERS[other] >= LAYERS[own]:
                offences.append(
                    f"{path.relative_to(PACKAGE.parent)}:{line} ({own}, layer {LAYERS[own]}) imports "
                    f"{module} (layer {LAYERS[other]})"
                )
    assert not offences, "\n".join(offences)


def test_no_module_is_over_400_lines():
    long = {
        str(p.relative_to(PACKAGE.parent)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 400
    }
    assert not long, long
