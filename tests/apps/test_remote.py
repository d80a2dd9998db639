"""Remote apps: the provider hosts the app (``tweeling app serve``) behind OGC API – Processes;
the platform sends only the prepared inputs and treats the results like a local run's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.api.live import live_server
from tweeling.api.app_host import create_host_app
from tweeling.apps import packages
from tweeling.apps.runs import Runtime
from tweeling.errors import InputFileError
from tweeling.services import apps as service

from .conftest import MISBEHAVING, OPERATOR


def _remote_folder(app: Path, url: str, target: Path) -> Path:
    manifest = (app / "tweeling-app.toml").read_text()
    manifest = re.sub(r"^entry_point = .*$", f'remote = "{url}"', manifest, flags=re.M)
    target.mkdir(parents=True, exist_ok=True)
    (target / "tweeling-app.toml").write_text(manifest)
    return target


def test_a_remote_app_gives_what_the_local_one_gives(
    runtime: Runtime, footprints_app: Path, tmp_path: Path
) -> None:
    local = service.run(
        runtime,
        OPERATOR,
        "delft",
        package=packages.from_path(footprints_app),
        overrides={"large_m2": 321},
        purpose="tests",
    )
    with live_server(create_host_app(footprints_app)) as base:
        folder = _remote_folder(footprints_app, f"{base}/processes/footprints", tmp_path / "r")
        package = packages.from_path(folder)
        assert package.manifest.remote and package.manifest.entry_point is None
        remote_run = service.run(
            runtime,
            OPERATOR,
            "delft",
            package=package,
            overrides={"large_m2": 321},
            purpose="tests",
        )
    assert remote_run.status == "successful", remote_run.message
    assert any(f.startswith("remote:") for f in remote_run.flags)
    assert remote_run.cached_from is None  # a different package: really sent to the provider
    assert remote_run.output_hash == local.output_hash
    assert remote_run.inputs["content_hash"] == local.inputs["content_hash"]


def test_a_remote_failure_is_a_clear_status(runtime: Runtime, tmp_path: Path) -> None:
    with live_server(create_host_app(MISBEHAVING)) as base:
        folder = _remote_folder(MISBEHAVING, f"{base}/processes/misbehaving", tmp_path / "m")
        run = service.run(
            runtime,
            OPERATOR,
            "delft",
            package=packages.from_path(folder),
            overrides={"behaviour": "socket"},
            purpose="tests",
        )
    assert run.status == "failed"
    assert "422" in (run.message or "") and "sandbox-violation" in (run.message or "")


def test_an_unreachable_provider(runtime: Runtime, footprints_app: Path, tmp_path: Path) -> None:
    folder = _remote_folder(footprints_app, "http://127.0.0.1:9/processes/footprints", tmp_path)
    run = service.run(
        runtime, OPERATOR, "delft", package=packages.from_path(folder), purpose="tests"
    )
    assert run.status == "failed"
    assert "unreachable" in (run.message or "")


def test_remote_or_entry_point_not_both(footprints_app: Path, tmp_path: Path) -> None:
    text = (footprints_app / "tweeling-app.toml").read_text()
    (tmp_path / "tweeling-app.toml").write_text('remote = "https://x.example/processes/f"\n' + text)
    with pytest.raises(InputFileError, match="either entry_point"):
        packages.from_path(tmp_path)
