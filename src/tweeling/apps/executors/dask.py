"""The Dask executor: app workers on a Dask distributed cluster.

It ships the run's inputs and the app's files with the task and brings the outputs back, so
its workers need no shared disk and no database: only Tweeling installed (for the worker and
the SDK).
"""

from __future__ import annotations

import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from tweeling import settings
from tweeling.apps.sandbox import Outcome, ProgressCallback, RunSpec, RunStatus, launch, release

_SKIP = {"__pycache__", ".git", ".pytest_cache", ".mypy_cache", ".ruff_cache"}


def _pack(folder: Path) -> dict[str, bytes]:
    files = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not _SKIP.intersection(path.relative_to(folder).parts):
            files[path.relative_to(folder).as_posix()] = path.read_bytes()
    return files


def _unpack(files: dict[str, bytes], folder: Path) -> None:
    for name, data in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def run_shipped(
    spec: RunSpec, app_files: dict[str, bytes], input_files: dict[str, bytes]
) -> Outcome:
    """On a Dask worker: lay the run out in a private temporary folder and launch it."""
    with tempfile.TemporaryDirectory(prefix="tweeling-run-") as tmp:
        root = Path(tmp)
        _unpack(app_files, root / "app")
        _unpack(input_files, root / "run" / "inputs")
        local = replace(spec, run_dir=str(root / "run"), app_dir=str(root / "app"))
        try:
            return launch(local)
        finally:
            release(root / "run")


class DaskExecutor:
    """Workers on a Dask distributed cluster (``address``), or on a given client."""

    name = "dask"

    def __init__(self, address: str | None = None, client: Any = None) -> None:
        from distributed import Client

        self._own = client is None
        self.client = client if client is not None else Client(address)  # type: ignore[no-untyped-call]
        self._waiters = ThreadPoolExecutor(8, thread_name_prefix="tweeling-dask")

    def submit(self, spec: RunSpec, on_progress: ProgressCallback | None = None) -> Future[Outcome]:
        app_files = _pack(Path(spec.app_dir))
        input_files = _pack(spec.inputs_dir)
        task = self.client.submit(run_shipped, spec, app_files, input_files, pure=False)

        def wait() -> Outcome:
            outcome: Outcome = task.result()
            if on_progress is not None and outcome.status == RunStatus.successful:
                on_progress(1.0, "done on a Dask worker")
            return outcome

        return self._waiters.submit(wait)

    def close(self) -> None:
        self._waiters.shutdown(wait=True)
        if self._own:
            self.client.close()


def start_dask() -> DaskExecutor:
    """The ``dask`` executor of the settings: the cluster at TWEELING_DASK_SCHEDULER."""
    return DaskExecutor(settings.current().runs.dask_scheduler)
