"""The default executor: sandboxed workers as child processes of this machine."""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor

from tweeling.apps.sandbox import Outcome, ProgressCallback, RunSpec, launch


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
