"""Where app workers run: the Executor extension point.

An executor takes a :class:`~tweeling.apps.sandbox.RunSpec` and gives a future of its
:class:`~tweeling.apps.sandbox.Outcome`. The platform runs every packaged app on one
executor, picked by name (``TWEELING_EXECUTOR``, default ``local``) from ``EXECUTORS``:

- ``local``: a pool of sandboxed worker processes on this machine (``local.py``);
- ``dask``: a Dask distributed cluster at ``TWEELING_DASK_SCHEDULER`` (``dask.py``);
- a third party's, from its own package through the ``tweeling.executors`` entry-point
  group, naming a function that takes no arguments and starts one.

An app hosted by its provider runs on a :class:`RemoteExecutor` (``remote.py``), the same
protocol, but chosen by the app's manifest rather than by the platform: it needs the app's
own endpoint, so it cannot be the one executor every app runs on (see ``executor_for``).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Protocol

from tweeling import settings
from tweeling.apps.executors.dask import DaskExecutor, run_shipped, start_dask
from tweeling.apps.executors.local import LocalExecutor
from tweeling.apps.executors.remote import RemoteExecutor
from tweeling.apps.manifest import Manifest
from tweeling.apps.sandbox import Outcome, ProgressCallback, RunSpec
from tweeling.plugins import Registry

__all__ = [
    "EXECUTORS", "DaskExecutor", "Executor", "LocalExecutor", "RemoteExecutor",
    "executor_for", "executor_from_settings", "run_shipped",
]  # fmt: skip


class Executor(Protocol):
    """Runs app workers; ``name`` is recorded with every run."""

    name: str

    def submit(
        self, spec: RunSpec, on_progress: ProgressCallback | None = None
    ) -> Future[Outcome]: ...

    def close(self) -> None: ...


# Each entry starts a fresh executor (a pool, a cluster client): a runtime owns and closes it.
EXECUTORS: Registry[Callable[[], Executor]] = Registry("tweeling.executors", "executor", callable)
EXECUTORS.register(LocalExecutor.name, LocalExecutor)
EXECUTORS.register(DaskExecutor.name, start_dask)


def executor_from_settings(kind: str | None = None, address: str | None = None) -> Executor:
    """The executor named ``kind``, else by TWEELING_EXECUTOR (``local`` when unset); an
    ``address`` goes to the Dask executor (else TWEELING_DASK_SCHEDULER=tcp://…)."""
    kind = kind or settings.current().runs.executor
    if kind == DaskExecutor.name and address:
        return DaskExecutor(address)
    return EXECUTORS.get(kind)()  # an unknown name: NotConfigured, listing the known ones


def executor_for(manifest: Manifest, platform: Executor) -> Executor:
    """Where this app runs: at its provider when it is hosted remotely, else on the
    platform's executor."""
    if manifest.remote is not None:
        return RemoteExecutor(manifest)
    return platform
