"""``tweeling app check``: an app folder is validated by reading it, never by running it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.apps.test_manifest import GOOD
from tweeling.apps.check import check_app
from tweeling.apps.manifest import MANIFEST
from tweeling.errors import InputFileError


def _app(folder: Path, code: str, manifest: str = GOOD) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MANIFEST).write_text(manifest)
    package = folder / "solar_potential"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "app.py").write_text(code)
    return folder


def test_check_reads_the_entry_point_without_running_it(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    code = (
        f"open({str(marker)!r}, 'w').close()\n\ndef run(inputs, parameters, context):\n    pass\n"
    )
    report = check_app(_app(tmp_path, code))
    assert report.entry_file.name == "app.py" and report.calibrated == ["efficiency"]
    assert not marker.exists()  # the app's code was read, never executed


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("def other():\n    pass\n", "defines no top-level function 'run'"),
        ("class Run:\n    def run(self):\n        pass\n", "defines no top-level function 'run'"),
        ("def run(:\n", "does not parse as Python"),
    ],
)
def test_check_names_a_broken_entry_point(tmp_path: Path, code: str, message: str) -> None:
    with pytest.raises(InputFileError, match=re.escape(message)):
        check_app(_app(tmp_path, code))


def test_check_names_a_missing_module(tmp_path: Path) -> None:
    (tmp_path / MANIFEST).write_text(GOOD)
    with pytest.raises(
        InputFileError, match=r"entry point module 'solar_potential\.app' not found"
    ):
        check_app(tmp_path)


def test_app_check_command(tmp_path: Path) -> None:
    folder = _app(tmp_path / "good", "def run(inputs, parameters, context):\n    return {}\n")
    done = subprocess.run(
        [str(Path(sys.executable).with_name("tweeling")), "app", "check", str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert done.returncode == 0, done.stderr
    assert "ok solar-potential 1.0.0" in done.stdout and "efficiency" in done.stdout
    bad = _app(
        tmp_path / "bad",
        "def run(inputs, parameters, context):\n    return {}\n",
        GOOD.replace('version = "1.0.0"', 'version = "one"'),
    )
    done = subprocess.run(
        [str(Path(sys.executable).with_name("tweeling")), "app", "check", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2 and "version: 'one' is not a semantic version" in done.stderr
    assert "Traceback" not in done.stderr
