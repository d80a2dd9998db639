"""A third party's executor, installed from its own package through the
``tweeling.executors`` entry point, picked by name (TWEELING_EXECUTOR) and running a real
app; an unknown name is refused with the known ones."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.plugin_util import installed_package
from tweeling.apps import packages, runs
from tweeling.apps.executors import EXECUTORS, executor_from_settings
from tweeling.apps.runs import Runtime
from tweeling.errors import NotConfigured
from tweeling.services import apps as service
from tweeling.storage.db import Database

from .conftest import OPERATOR

TOY_EXECUTOR = '''
from concurrent.futures import Future

from tweeling.apps.sandbox import launch


class CountingExecutor:
    """Runs each worker in the caller's thread and counts the runs it made."""

    name = "counting"

    def __init__(self):
        self.launched = []

    def submit(self, spec, on_progress=None):
        self.launched.append(spec.entry_point)
        done = Future()
        done.set_result(launch(spec, on_progress))
        return done

    def close(self):
        pass


def start():
    return CountingExecutor()
'''


@pytest.fixture
def toy_executor(tmp_path: Path) -> Iterator[None]:
    entry = {"tweeling.executors": {"counting": "toy_counting_executor:start"}}
    with installed_package(
        tmp_path / "site", "toy-counting-executor", {"toy_counting_executor": TOY_EXECUTOR}, entry
    ):
        EXECUTORS.reload()
        try:
            yield
        finally:
            EXECUTORS.unregister("counting")
            EXECUTORS.reload()


def test_a_toy_executor_from_a_package_is_picked_by_name_and_runs_an_app(
    delft_db: Database,
    footprints_app: Path,
    tmp_path: Path,
    toy_executor: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TWEELING_EXECUTOR", "counting")
    executor = executor_from_settings()
    assert executor.name == "counting"
    runtime = Runtime(delft_db, executor, tmp_path / "home")
    package = packages.from_path(footprints_app)
    run_id = service.submit(runtime, OPERATOR, "delft", package=package, purpose="tests")
    record = runs.execute(runtime, run_id, use_cache=False)
    executor.close()
    assert record.status == "successful", record.message
    assert record.executor == "counting"
    assert record.outputs and executor.launched == [package.manifest.entry_point]  # type: ignore[attr-defined]


def test_an_unknown_executor_is_refused_with_the_known_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TWEELING_EXECUTOR", "quantum")
    with pytest.raises(NotConfigured, match=r"no executor named 'quantum' \(known: dask, local\)"):
        executor_from_settings()
    local = executor_from_settings("local")
    assert local.name == "local"
    local.close()
