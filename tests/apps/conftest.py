"""Fixtures for app tests: Delft in a real database (both backends), the scaffolded app, the
misbehaving fixture app, and a runtime with the local executor."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tweeling.access.identity import local_operator
from tweeling.apps.executors import LocalExecutor
from tweeling.apps.runs import Runtime
from tweeling.apps.scaffold import scaffold
from tweeling.storage.db import Database
from tweeling.twin.ingest import ingest

FIXTURES = Path(__file__).parent / "fixtures"
MISBEHAVING = FIXTURES / "misbehaving"
WELLBEHAVED = FIXTURES / "wellbehaved"
OPERATOR = local_operator("tester")


@pytest.fixture(scope="module")
def delft_db(module_db: Database, samples: Path) -> Database:
    ingest(module_db, samples / "delft.city.json", "delft")
    return module_db


@pytest.fixture(scope="module")
def footprints_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return scaffold("footprints", tmp_path_factory.mktemp("apps"))


@pytest.fixture(scope="session")
def app_envs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The apps' library environments, built once for the session (they are keyed by their
    content, so every runtime may share them)."""
    return tmp_path_factory.mktemp("envs")


@pytest.fixture(scope="module")
def runtime(
    delft_db: Database, tmp_path_factory: pytest.TempPathFactory, app_envs: Path
) -> Iterator[Runtime]:
    executor = LocalExecutor(slots=2)
    yield Runtime(delft_db, executor, tmp_path_factory.mktemp("home"), envs=app_envs)
    executor.close()
