"""The repository stands on its own: no tracked file outside docs/ reaches for a shared
folder beside the checkout for data or schemas; what the product and the tests need ships
in the repository (issue 25)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Spelled in pieces, so that this file does not name what it forbids.
FORBIDDEN = ("../" + "shared", "shared/" + "data", "shared/" + "schemas")


def _tracked_files() -> list[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout (git ls-files lists the tracked files)")
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    return [name for name in listed.decode().split("\0") if name]


def test_no_file_outside_docs_refers_to_a_folder_beside_the_checkout() -> None:
    files = _tracked_files()
    assert "pyproject.toml" in files  # the listing is real
    offenders = []
    for name in files:
        if name.startswith("docs/"):
            continue
        try:
            text = (ROOT / name).read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue  # binary data, or deleted in the working tree
        for line_number, line in enumerate(text.splitlines(), 1):
            found = [f for f in FORBIDDEN if f in line]
            if found:
                offenders.append(f"{name}:{line_number}: {found[0]}")
    assert not offenders, "files that reach outside the repository:\n" + "\n".join(offenders)
