"""Harvesting other stores' catalogues: on request (the market master) and on a schedule
(the API service's background harvester, or ``tweeling store harvest --due`` from cron)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from tweeling.access.audit import AuditEvent, acted, record
from tweeling.access.identity import Principal
from tweeling.access.policy import Action, authorize
from tweeling.errors import Conflict, TweelingError
from tweeling.services.store import STORE
from tweeling.storage.db import Database
from tweeling.store import federation
from tweeling.store.federation import HarvestStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Harvest:
    url: str
    records: int


def _harvest(db: Database, source_id: int, url: str) -> Harvest:
    """Harvest a source this process has claimed (``federation.claim``); lets go of it."""
    try:
        records = federation.fetch_records(url)
        with db.begin() as conn:
            kept = federation.store_records(conn, source_id, url, records)
            federation.finish(conn, source_id, HarvestStatus.ok, f"{kept} records", kept)
    except Exception as exc:
        # Whatever went wrong, the source is let go at once rather than when the claim ends.
        why = str(exc) if isinstance(exc, TweelingError) else "internal error (see the log)"
        with db.begin() as conn:
            federation.finish(conn, source_id, HarvestStatus.failed, why, 0)
        raise
    return Harvest(url, kept)


def harvest(db: Database, principal: Principal, url: str, interval_s: int = 3600) -> Harvest:
    """Register ``url`` (an OGC API – Records landing page) to be harvested every
    ``interval_s`` seconds, and harvest it now. The market master's decision."""
    authorize(db, principal, Action.update, STORE)
    with db.begin() as conn:
        source_id = federation.register_source(conn, url, interval_s, principal.actor)
        if not federation.claim(conn, source_id):
            raise Conflict(f"{url} is being harvested now; its listings come in when that ends")
    done = _harvest(db, source_id, url)
    with db.begin() as conn:
        record(conn, acted(principal, "store.harvest", url, {"records": done.records}))
    return done


def harvest_due(db: Database) -> list[Harvest]:
    """Harvest every source whose interval has passed (a failure is recorded and skipped)."""
    with db.read() as conn:
        due = federation.due_sources(conn)
    done = []
    for source in due:
        with db.begin() as conn:
            if not federation.claim(conn, source.id, source.last_at):
                continue  # another process is harvesting it, or just did
        try:
            done.append(_harvest(db, source.id, source.url))
        except TweelingError as exc:
            log.warning("harvesting %s failed: %s", source.url, exc)
            continue
        with db.begin() as conn:
            detail = {"records": done[-1].records}
            record(conn, AuditEvent("system", "store.harvest", target=source.url, detail=detail))
    return done


class Harvester:
    """The API service's background harvester: looks for due sources every ``poll_s``."""

    def __init__(self, db: Database, poll_s: float = 60.0) -> None:
        self.db = db
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="tweeling-harvest", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                harvest_due(self.db)
            except Exception:  # a harvester that dies would silently stop all federation
                log.exception("scheduled harvest failed")
