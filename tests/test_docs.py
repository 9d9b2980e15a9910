"""The README and docs pages as a newcomer reads them: short front door, every page reachable, every link
resolving, every command and flag they name existing, the spec's keys table current."""

import argparse
import re
import shlex
from pathlib import Path

import pytest

from armory_siammtl.cli.parser import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "docs" / "results" / "README.md", ROOT / "CHANGELOG.md"]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
FENCE = re.compile(r"```(?:bash|sh)?\n(.*?)```", re.S)


def _subcommands() -> dict:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices


def _commands(text: str):
    """Each ``armory-siammtl SUB ...`` invocation in the text's code blocks and inline code, continuation
    lines joined."""
    blocks = [b.replace("\\\n", " ") for b in FENCE.findall(text)] + re.findall(r"`([^`\n]+)`", text)
    for block in blocks:
        for line in block.splitlines():
            line = line.split("#", 1)[0]
            for match in re.finditer(r"(?:armory-siammtl|-m armory_siammtl\.cli)\s+(.*)", line):
                yield match.group(1)


def test_the_readme_is_a_front_door():
    lines = README.read_text().splitlines()
    assert len(lines) <= 150, f"README.md has {len(lines)} lines"
    linked = {(README.parent / link).resolve() for link in LINK.findall(README.read_text())}
    unlinked = [str(p.relative_to(ROOT)) for p in PAGES if p.resolve() not in linked]
    assert not unlinked, f"pages the README does not link: {unlinked}"


@pytest.mark.parametrize("page", [README] + PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_resolve(page):
    missing = []
    for link in LINK.findall(page.read_text()):
        if "://" in link or link.startswith("mailto:"):
            continue
        if not (page.parent / link).exists():
            missing.append(link)
    assert not missing, f"{page.name} links to missing files: {missing}"


@pytest.mark.parametrize("page", [README] + PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_named_commands_and_flags_exist(page):
    subcommands = _subcommands()
    problems = []
    for command in _commands(page.read_text()):
        words = shlex.split(command.replace("[", " ").replace("]", " ").replace("|", " "), posix=True)
        if not words or words[0].startswith("-"):
            continue  # `armory-siammtl --help` and the like
        sub = words[0]
        if sub not in subcommands:
            problems.append(f"no subcommand {sub!r} in: {command}")
            continue
        known = {opt for action in subcommands[sub]._actions for opt in action.option_strings}
        for word in words[1:]:
            flag = word.split("=", 1)[0]
            if re.fullmatch(r"--[a-z][a-z0-9-]*", flag) and flag not in known:
                problems.append(f"{sub} has no {flag}: {command}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("page", [README] + PAGES[:-1], ids=lambda p: str(p.relative_to(ROOT)))
def test_named_scripts_exist(page):  # CHANGELOG.md names what used to exist
    named = re.findall(r"\b((?:benchmarks|scripts)/[\w.-]+\.(?:py|sh))", page.read_text())
    missing = sorted({n for n in named if not (ROOT / n).is_file()})
    assert not missing, f"{page.name} names scripts that do not exist: {missing}"


def test_the_keys_table_is_the_generated_one():
    from armory_siammtl.experiment.spec import keys_table

    text = (ROOT / "docs" / "reproducing.md").read_text()
    start, end = text.index("<!-- keys_table -->") + len("<!-- keys_table -->"), text.index("<!-- /keys_table -->")
    assert text[start:end].strip() == keys_table().strip(), "run keys_table() and paste its output"


def test_the_checks_catch_what_they_look_for(tmp_path):
    """The command check finds an unknown subcommand and an unknown flag."""
    text = "```bash\narmory-siammtl no-such-command --x\narmory-siammtl sweep C.yaml --no-such-flag\n```\n"
    found = list(_commands(text))
    assert found == ["no-such-command --x", "sweep C.yaml --no-such-flag"]
    subcommands = _subcommands()
    assert "no-such-command" not in subcommands
    known = {opt for action in subcommands["sweep"]._actions for opt in action.option_strings}
    assert "--no-such-flag" not in known and "--results" in known
