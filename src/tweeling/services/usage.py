"""The usage log ("who uses our data"): one row per dataset for every read of a twin.

Exports and other one-off reads write their rows in their own transaction (``record_use``).
Reads served over HTTP are many and small, and a write per request would serialise them on
SQLite's single writer, so they go through a ``UsageRecorder``: rows are kept in memory and
written in one transaction at most a second later (sooner when many pile up), by a
background thread, by the next request that finds them due, or when the service stops.
A crash can lose at most that last second of read records; a failed write is retried.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select

from tweeling.access.identity import Principal
from tweeling.storage.db import Database, clock_of
from tweeling.storage.schema import datasets, usage_log

log = logging.getLogger("tweeling.usage")

MAX_DELAY_S = 1.0
MAX_PENDING = 500
MAX_KEPT = 100_000  # rows kept for retry while the database refuses writes


@dataclass(frozen=True)
class Use:
    at: datetime
    user_email: str
    org_id: int | None
    twin_id: int
    purpose: str | None
    action: str


def _write(conn: Connection, uses: list[Use]) -> None:
    """One usage-log row per dataset of each use's twin, in one insert."""
    twin_ids = sorted({u.twin_id for u in uses})
    per_twin: dict[int, list[int]] = {t: [] for t in twin_ids}
    for dataset_id, twin_id in conn.execute(
        select(datasets.c.id, datasets.c.twin_id).where(datasets.c.twin_id.in_(twin_ids))
    ):
        per_twin[twin_id].append(dataset_id)
    rows = [
        {
            "at": u.at,
            "user_email": u.user_email,
            "org_id": u.org_id,
            "dataset_id": dataset_id,
            "purpose": u.purpose,
            "action": u.action,
        }
        for u in uses
        for dataset_id in per_twin[u.twin_id]
    ]
    if rows:
        conn.execute(insert(usage_log), rows)


def _use(at: datetime, principal: Principal, twin_id: int, purpose: str | None, action: str) -> Use:
    return Use(at, principal.email, principal.org.id or None, twin_id, purpose, action)


def record_use(
    conn: Connection, principal: Principal, twin_id: int, purpose: str | None, action: str
) -> None:
    """Log a use now, inside the caller's transaction."""
    _write(conn, [_use(clock_of(conn).now(), principal, twin_id, purpose, action)])


class UsageRecorder:
    """Batches the usage rows of one database's reads."""

    def __init__(self, db: Database) -> None:
        self._db = weakref.ref(db)
        self._clock = db.clock  # held, so a use is stamped even while the database closes
        self._pending: list[Use] = []
        self._oldest = 0.0
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        db.before_dispose.append(self.close)

    def close(self) -> None:
        """Write what is pending and stop the background writer (the database is closing)."""
        self._closed.set()
        self.flush()

    def record(self, principal: Principal, twin_id: int, purpose: str | None, action: str) -> None:
        use = _use(self._clock.now(), principal, twin_id, purpose, action)
        if self._closed.is_set():
            db = self._db()
            if db is not None:
                with db.begin() as conn:
                    _write(conn, [use])
            return
        with self._lock:
            if not self._pending:
                self._oldest = time.monotonic()
            self._pending.append(use)
            due = len(self._pending) >= MAX_PENDING
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="tweeling-usage", daemon=True
                )
                self._thread.start()
        if due:
            self.flush()

    def flush(self) -> int:
        """Write everything pending; returns the number of uses written."""
        db = self._db()
        if db is None:
            return 0
        with self._flushing:
            with self._lock:
                batch, self._pending = self._pending, []
            if not batch:
                return 0
            try:
                with db.begin() as conn:
                    _write(conn, batch)
            except Exception:
                log.exception("could not write %d usage records; keeping them to retry", len(batch))
                with self._lock:
                    self._pending = (batch + self._pending)[-MAX_KEPT:]
                    self._oldest = time.monotonic()
                return 0
            return len(batch)

    def _run(self) -> None:
        while self._db() is not None and not self._closed.is_set():
            self._closed.wait(MAX_DELAY_S / 2)
            with self._lock:
                due = bool(self._pending) and time.monotonic() - self._oldest >= MAX_DELAY_S
            if due:
                self.flush()


_recorders: weakref.WeakKeyDictionary[Database, UsageRecorder] = weakref.WeakKeyDictionary()
_registry_lock = threading.Lock()


def recorder(db: Database) -> UsageRecorder:
    """The recorder of a database (one per database object in this process)."""
    with _registry_lock:
        found = _recorders.get(db)
        if found is None:
            found = _recorders[db] = UsageRecorder(db)
        return found


def flush(db: Database) -> int:
    """Write the database's pending usage records now (before reading the log, on shutdown)."""
    with _registry_lock:
        found = _recorders.get(db)
    return found.flush() if found is not None else 0


@atexit.register
def _flush_all() -> None:
    with _registry_lock:
        pending = list(_recorders.values())
    for r in pending:
        r.flush()
