"""Where app workers run: a local process pool (the default) or a Dask cluster.

Both take a :class:`~tweeling.apps.sandbox.RunSpec` and give a future of its
:class:`~tweeling.apps.sandbox.Outcome`. The Dask executor ships the run's inputs and the
app's files with the task and brings the outputs back, so its workers need no shared disk
and no database: only Tweeling installed (for the worker and the SDK).
"""

from __future__ import annotations

import os
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from tweeling import settings
from tweeling.apps.sandbox import Outcome, ProgressCallback, RunSpec, launch, release


class Executor(Protocol):
    """Runs app workers; ``name`` is recorded with every run."""

    name: str

    def submit(
        self, spec: RunSpec, on_progress: ProgressCallback | None = None
    ) -> Future[Outcome]: ...

    def close(self) -> None: ...


class LocalExecutor:
    """Workers as child processes of this machine, at most ``slots`` at a time."""

    name = "local"

    def __init__(self, slots: int | None = None) -> None:
        self.slots = slots or max(1, (os.cpu_count() or 2) - 1)
        self._pool = ThreadPoolExecutor(self.slots, thread_name_prefix="tweeling-app")

    def submit(self, spec: RunSpec, on_progress: ProgressCallback | None = None) -> Future[Outcome]:
        return self._pool.submit(launch, spec, on_progress)

    def close(self) -> None:
        self._pool.shutdown(wait=True)


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
            if on_progress is not None and outcome.status == "successful":
                on_progress(1.0, "done on a Dask worker")
            return outcome

        return self._waiters.submit(wait)

    def close(self) -> None:
        self._waiters.shutdown(wait=True)
        if self._own:
            self.client.close()


def executor_from_settings(kind: str | None = None, address: str | None = None) -> Executor:
    """``local`` unless TWEELING_EXECUTOR=dask (with TWEELING_DASK_SCHEDULER=tcp://…)."""
    runs = settings.current().runs
    kind = kind or runs.executor
    if kind == "dask":
        return DaskExecutor(address or runs.dask_scheduler)
    if kind != "local":
        from tweeling.errors import InvalidInput

        raise InvalidInput(f"unknown executor {kind!r}: choose local or dask")
    return LocalExecutor()
