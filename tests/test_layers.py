"""The layering contracts of pyproject.toml ([tool.importlinter]) hold for the source, and
they can fail: a copy of the package with one handler module that reaches into storage is
refused (issue 18, "services are the only door")."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _lint_imports(project: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the package under ``project``/src, with its pyproject.toml (only
    the ``contracts`` named by id, when given)."""
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    chosen = [arg for c in contracts for arg in ("--contract", c)]
    return subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command as run; run()",
         "--no-cache", *chosen],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip


def _copy_of_the_package(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    shutil.copytree(
        ROOT / "src" / "tweeling",
        project / "src" / "tweeling",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    shutil.copy(ROOT / "pyproject.toml", project / "pyproject.toml")
    return project


def test_the_source_keeps_every_contract(tmp_path: Path) -> None:
    done = _lint_imports(_copy_of_the_package(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "source", "contract"),
    [
        ("api/_reaches_into_storage.py", "from tweeling.storage.db import Database\n", "door"),
        ("cli/_runs_sql.py", "import sqlalchemy\n", "door"),
        ("cli/_knows_identity.py", "from tweeling.access import identity\n", "cli-identity"),
        ("twin/_knows_http.py", "import fastapi\n", "core-knows-no-web"),
        ("storage/_imports_upward.py", "from tweeling.services import twins\n", "layers"),
        ("sdk/_uses_the_platform.py", "from tweeling.twin import model\n", "sdk-stands-alone"),
    ],
)
def test_a_module_that_breaks_a_contract_is_refused(
    tmp_path: Path, module: str, source: str, contract: str
) -> None:
    project = _copy_of_the_package(tmp_path)
    kept = _lint_imports(project, contract)
    assert kept.returncode == 0, kept.stdout + kept.stderr  # the copy keeps it ...
    (project / "src" / "tweeling" / module).write_text(
        f'"""Breaks a contract on purpose."""\n\n{source}', encoding="utf-8"
    )
    broken = _lint_imports(project, contract)
    assert broken.returncode == 1, broken.stdout + broken.stderr  # ... until the module comes
    assert "1 broken" in broken.stdout
    assert "tweeling." + module.removesuffix(".py").replace("/", ".") in broken.stdout
