"""The README is part of the contract: every command documented, CI runs its test command."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from trialfinder.cli import cli

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in group.commands.items():
        found.append((f"{prefix}{name}", command))
        if isinstance(command, click.Group):
            found += commands(command, f"{prefix}{name} ")
    return found


@pytest.mark.parametrize("name, command", commands(cli), ids=[n for n, _ in commands(cli)])
def test_every_command_has_help_with_an_example_and_is_in_the_readme(name, command):
    assert command.help and "Example" in command.help, name
    assert f"trialfinder {name}" in README, name


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    command = re.search(r'TEST_COMMAND="(.+)"', ci).group(1)
    assert f"```sh\n{command}\n```" in README


def test_every_search_option_is_in_the_readme():
    search = cli.commands["search"]
    for param in search.params:
        if isinstance(param, click.Option):
            assert max(param.opts, key=len) in README, param.opts


def test_changelog_has_an_unreleased_section():
    assert "## Unreleased" in (ROOT / "CHANGELOG.md").read_text()


def test_the_library_knows_nothing_of_click():
    for path in (ROOT / "trialfinder").rglob("*.py"):
        if "cli" not in path.relative_to(ROOT / "trialfinder").parts[:1] and path.name != "cli.py":
            assert not re.search(r"^\s*(import click|from click)", path.read_text(), re.M), path.name


def test_library_imports_without_loading_click():
    import subprocess
    import sys

    code = ("import sys, trialfinder, trialfinder.finder, trialfinder.digest, trialfinder.mail;"
            "from trialfinder import Client, Query, Trial, Match, resolve_place, find_drug_class, search;"
            "print('click' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
