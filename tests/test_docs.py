"""The docs cannot drift: every setting and every CLI command is documented, and nothing the
docs name is gone (after datasette's tests/test_docs.py)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from tweeling import settings
from tweeling.cli.main import app

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "tweeling"
CONFIGURATION = ROOT / "docs" / "configuration.md"
CLI = ROOT / "docs" / "cli.md"

# Read by the test suite only (and listed as such in docs/configuration.md).
TEST_ONLY = {"TWEELING_TEST_PG_URL", "TWEELING_REQUIRE_PG", "TWEELING_HOSTILE_SECRET"}

_SECTION = re.compile(r"^## (.+)$", re.MULTILINE)
_VARIABLE_ROW = re.compile(r"^\| `(TWEELING_[A-Z0-9_]+)` \|(.*)$", re.MULTILINE)
_MENTION = re.compile(r"TWEELING_[A-Z0-9_]+")


def _sections(text: str) -> dict[str, str]:
    """Each ``## heading`` of a page → its text."""
    parts = _SECTION.split(text)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def _documented() -> dict[str, tuple[str, str]]:
    """Documented variable → (its section heading, its default cell)."""
    found: dict[str, tuple[str, str]] = {}
    for heading, body in _sections(CONFIGURATION.read_text()).items():
        for name, rest in _VARIABLE_ROW.findall(body):
            found[name] = (heading, rest.split("|")[0].strip())
    return found


def _shown(default: Any) -> str:
    """A default as the page writes it."""
    if default is None or default is False:
        return "unset"
    if default == "":
        return "empty"
    return f"`{default}`"


def test_every_setting_is_documented_under_its_group_with_its_default() -> None:
    documented = _documented()
    for name, (group, field) in settings.variables().items():
        assert name in documented, f"{name} is not in docs/configuration.md"
        heading, default = documented[name]
        assert f"(`{group}`)" in heading, f"{name} is documented under {heading!r}, not {group}"
        expected = _shown(settings.GROUPS[group].model_fields[field].default)
        assert default == expected, f"{name}: the docs say {default}, the default is {expected}"


def test_every_documented_variable_is_read_by_the_platform_or_the_tests() -> None:
    documented = set(_documented())
    assert documented - set(settings.variables()) == TEST_ONLY
    test_only = _sections(CONFIGURATION.read_text())["Test-only variables"]
    assert set(_MENTION.findall(test_only)) == TEST_ONLY


def _mentions() -> Iterator[tuple[Path, str]]:
    paths = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md"), *SRC.rglob("*.py")]
    for path in paths:
        for name in _MENTION.findall(path.read_text()):
            yield path, name


def test_every_variable_mentioned_in_code_or_docs_exists() -> None:
    known = set(settings.variables()) | TEST_ONLY
    unknown = set()
    for path, name in _mentions():
        # "TWEELING_OIDC_" is a prefix (the OIDC group's), not a variable.
        prefix_of_one = name.endswith("_") and any(k.startswith(name) for k in known)
        if name not in known and not prefix_of_one:
            unknown.add(f"{path.relative_to(ROOT)}: {name}")
    assert not unknown, f"neither a setting nor a test-only variable: {sorted(unknown)}"


def _environment_reads(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """``os.environ.get("TWEELING_…")``, ``os.getenv(…)``, ``os.environ["…"]``, ``"…" in
    os.environ``: each read of a TWEELING_ variable, with its line."""

    def names_environ(node: ast.AST) -> bool:
        return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
            isinstance(node, ast.Name) and node.id == "environ"
        )

    def tweeling(node: ast.AST | None) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value if node.value.startswith("TWEELING_") else None
        if isinstance(node, ast.JoinedStr) and node.values:
            return tweeling(node.values[0])
        return None

    for node in ast.walk(tree):
        key: str | None = None
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            getter = isinstance(func, ast.Attribute) and (
                (func.attr in ("get", "pop", "setdefault") and names_environ(func.value))
                or func.attr in ("getenv", "getenvb")
            )
            if getter or (isinstance(func, ast.Name) and func.id == "getenv"):
                key = tweeling(node.args[0])
        elif isinstance(node, ast.Subscript) and names_environ(node.value):
            key = tweeling(node.slice)
        elif isinstance(node, ast.Compare) and any(names_environ(c) for c in node.comparators):
            key = tweeling(node.left)
        if key is not None:
            yield node.lineno, key


def test_the_scan_finds_each_kind_of_read() -> None:
    code = """
import os
from os import environ, getenv
os.environ.get("TWEELING_A")
os.getenv("TWEELING_B", "x")
os.environ["TWEELING_C"]
"TWEELING_D" in os.environ
environ.get(f"TWEELING_{name}")
getenv("TWEELING_F")
os.environ.get("HOME")
env = {"TWEELING_CPUS": "2"}
"""
    found = [key for _, key in _environment_reads(ast.parse(code))]
    assert sorted(found) == ["TWEELING_", "TWEELING_A", "TWEELING_B", "TWEELING_C",
                             "TWEELING_D", "TWEELING_F"]  # fmt: skip


def test_no_tweeling_variable_is_read_outside_the_settings_module() -> None:
    stray = [
        f"{path.relative_to(ROOT)}:{line}: {key}"
        for path in SRC.rglob("*.py")
        if path != SRC / "settings.py"
        for line, key in _environment_reads(ast.parse(path.read_text()))
    ]
    assert not stray, f"read these through tweeling.settings.current(): {stray}"


def _commands() -> Iterator[str]:
    """Every command and subcommand, as typed: ``tweeling store keys add``."""

    def walk(command: Any, path: list[str]) -> Iterator[str]:
        if path:
            yield " ".join(["tweeling", *path])
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            yield from walk(sub, [*path, name])

    yield from walk(typer.main.get_command(app), [])


def _documented_commands() -> set[str]:
    return set(re.findall(r"^\| `(tweeling[^`]*)` \|", CLI.read_text(), re.MULTILINE))


def test_the_command_walk_reaches_subcommands() -> None:
    commands = set(_commands())
    assert {"tweeling init", "tweeling store", "tweeling store keys add"} <= commands


@pytest.mark.parametrize("command", list(_commands()))
def test_every_cli_command_is_documented(command: str) -> None:
    assert command in _documented_commands(), f"{command!r} is not in docs/cli.md"


def test_every_documented_cli_command_exists() -> None:
    assert _documented_commands() - set(_commands()) == set()
