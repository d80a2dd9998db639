"""What the HTTP API and the CLI open when they start: the database, and the runtime that
carries out app runs (the executor the settings name, the platform's home folder). The
database handle is opaque to them: they pass it to services and never query it."""

from __future__ import annotations

from tweeling import settings
from tweeling.apps.executors import executor_from_settings
from tweeling.apps.jobs import JobRunner as JobRunner
from tweeling.apps.runs import Runtime as Runtime
from tweeling.apps.sandbox import NO_SANDBOX as NO_SANDBOX
from tweeling.storage.db import Database as Database
from tweeling.storage.db import open_database as open_database


def default_runtime(db: Database, executor: str | None = None) -> Runtime:
    """The runtime of the settings: their executor (or the one named: local, dask), runs
    under their home folder. ``NO_SANDBOX`` as its isolation is for a developer's own code."""
    return Runtime(db, executor_from_settings(executor), settings.current().storage.home)
