"""Opening the database, with the right settings per backend, and migrating it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError

from tweeling.clock import SYSTEM_CLOCK, Clock
from tweeling.errors import NotConfigured
from tweeling.settings import StorageSettings
from tweeling.storage.backends import SpatialBackend, backend_for
from tweeling.storage.schema import dump_json, load_json

_MIGRATIONS = str(Path(__file__).with_name("migrations"))
_CLOCK = "tweeling.clock"


def clock_of(conn: Connection) -> Clock:
    """The clock of the Database that handed out ``conn`` (the system clock for any other
    connection): domain code with only a connection at hand reads the time here."""
    clock: Clock = conn.info.get(_CLOCK, SYSTEM_CLOCK)
    return clock


@dataclass(eq=False)  # identity: a Database is a handle that services key caches on
class Database:
    """An engine plus the spatial backend that matches its dialect."""

    engine: Engine
    backend: SpatialBackend
    # Writers that batch (the usage log) flush here before the engine goes away.
    before_dispose: list[Callable[[], object]] = field(default_factory=list)
    # Where the domain's timestamps come from; each connection handed out carries it.
    clock: Clock = SYSTEM_CLOCK

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One write transaction: committed when the block ends, rolled back on any error.

        On SQLite it takes the write lock at once (BEGIN IMMEDIATE): a transaction that reads
        first and writes later could not upgrade its lock once another writer had committed
        ("database is locked"); taking it up front just waits its turn.
        """
        with self.engine.connect() as conn:
            conn.execution_options(tweeling_write=True)
            conn.info[_CLOCK] = self.clock
            with conn.begin():
                yield conn

    @contextmanager
    def read(self, *, snapshot: bool = True) -> Iterator[Connection]:
        """A connection for reading.

        ``snapshot=False`` is for a request's few quick lookups: on PostgreSQL they then run
        outside a transaction block (each statement sees the data as it is when it runs),
        which spares the BEGIN and ROLLBACK round trips. Streaming reads need a snapshot.
        """
        with self.engine.connect() as conn:
            conn.info[_CLOCK] = self.clock
            if not snapshot and self.backend.name == "postgresql":
                conn.execution_options(isolation_level="AUTOCOMMIT")
            yield conn

    def migrate(self, target: str = "head") -> tuple[str | None, str]:
        """Create or upgrade the schema; returns (revision before, revision after)."""
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
            before = MigrationContext.configure(conn).get_current_revision()
            config = _alembic_config()
            config.attributes["connection"] = conn
            command.upgrade(config, target)
            after = MigrationContext.configure(conn).get_current_revision()
        return before, after or ""

    def require_current(self) -> None:
        """Refuse to work on a database that `tweeling init` has not brought up to date."""
        head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
        try:
            with self.engine.connect() as conn:
                current = MigrationContext.configure(conn).get_current_revision()
        except OperationalError as exc:
            raise NotConfigured(f"cannot open the database {self.url}: {exc.orig}") from None
        if current != head:
            state = "is not initialised" if current is None else f"is at revision {current}"
            raise NotConfigured(
                f"the database {self.url} {state}; run `tweeling init` to create or upgrade it"
            )

    def dispose(self) -> None:
        for flush in self.before_dispose:
            flush()
        self.before_dispose.clear()
        self.engine.dispose()


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", _MIGRATIONS)
    return config


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Own the transactions (pysqlite's implicit BEGIN would not cover DDL) and set WAL.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    # Larger pages suit rows of 1-3 kB (a city object with its geometry); only takes effect
    # on a new, empty database file.
    cur.execute("PRAGMA page_size=16384")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA cache_size=-65536")  # 64 MiB: bounded memory on big imports
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    write = conn.get_execution_options().get("tweeling_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


# Every JSON column (schema.Json) is written and read with orjson, on both backends.
_JSON_CODEC: dict[str, Any] = {"json_serializer": dump_json, "json_deserializer": load_json}


def open_database(url: str | None = None, settings: StorageSettings | None = None) -> Database:
    """Open (not create tables in) the database at ``url`` or the configured one."""
    settings = settings or StorageSettings()
    url = url or settings.resolved_database_url()
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite"):
        match = re.match(r"sqlite:///(.+)$", url)
        if match and match.group(1) != ":memory:":
            Path(match.group(1)).parent.mkdir(parents=True, exist_ok=True)
        # A pool large enough for the API's thread pool, so connections (and their pragmas)
        # are reused rather than opened per request.
        engine = create_engine(url, pool_size=16, max_overflow=16, **_JSON_CODEC)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        # No ping before each checkout: that is a round trip per query batch. A dropped
        # connection fails its request and SQLAlchemy then discards the whole pool.
        engine = create_engine(url, pool_size=16, max_overflow=16, pool_recycle=3600, **_JSON_CODEC)
    return Database(engine=engine, backend=backend_for(engine.dialect.name))
