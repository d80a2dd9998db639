"""One harvest per source at a time (issue 24, item 6): several server processes harvesting
on a schedule claim a source with one conditional UPDATE, like app runs. Judged from the
catalogue's side (how many times it was read) and from the listing rows."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update

from tests.api.live import live_server
from tweeling.access import identity
from tweeling.access.identity import Principal, Role
from tweeling.errors import Conflict
from tweeling.services import federation as service
from tweeling.storage.db import Database
from tweeling.storage.schema import store_harvest_sources, store_listings
from tweeling.store import federation
from tweeling.twin.twins import now

TWEELING = str(Path(sys.executable).with_name("tweeling"))


@dataclass
class Catalogue:
    """An OGC API – Records catalogue whose first read waits until the test lets it go."""

    reads: int = 0
    entered: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _catalogue_app(cat: Catalogue) -> FastAPI:
    app = FastAPI()

    @app.get("/records/collections")
    def collections() -> dict[str, Any]:
        with cat.lock:
            cat.reads += 1
            first = cat.reads == 1
        if first:
            cat.entered.set()
            cat.release.wait(60)
        return {"collections": [{"id": "apps", "itemType": "record"}]}

    @app.get("/records/collections/apps/items")
    def items() -> dict[str, Any]:
        record = {"id": "rain", "properties": {"title": "Rain", "description": "Cloudbursts"}}
        return {"features": [record], "links": []}

    return app


@pytest.fixture
def catalogue() -> Iterator[tuple[Catalogue, str]]:
    cat = Catalogue()
    with live_server(_catalogue_app(cat)) as base:
        try:
            yield cat, f"{base}/records"
        finally:
            cat.release.set()


def _register(db: Database, url: str) -> int:
    with db.begin() as conn:
        return federation.register_source(conn, url, 3600, "test")


def _listings(db: Database, source_id: int) -> int:
    with db.read() as conn:
        return int(
            conn.execute(
                select(func.count()).where(store_listings.c.source_id == source_id)
            ).scalar_one()
        )


def _cli(db_url: str, home: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "TWEELING_HOME": str(home), "TWEELING_DATABASE_URL": db_url}
    return subprocess.Popen(
        [TWEELING, *args], env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def test_two_processes_harvesting_one_source_harvest_it_once(
    db: Database, db_url: str, tmp_path: Path, catalogue: tuple[Catalogue, str]
) -> None:
    cat, url = catalogue
    source_id = _register(db, url)
    first = _cli(db_url, tmp_path, "store", "harvest", "--due")
    try:
        assert cat.entered.wait(120), "the first harvester never reached the catalogue"
        # While the first is inside the catalogue, a second process finds the source due
        # by its interval but held: it harvests nothing.
        second = _cli(db_url, tmp_path, "store", "harvest", "--due")
        out, err = second.communicate(timeout=120)
        assert second.returncode == 0, err
        assert url not in out
        assert cat.reads == 1
    finally:
        cat.release.set()
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert f"{url}: 1 records" in out
    assert cat.reads == 1
    assert _listings(db, source_id) == 1
    with db.read() as conn:
        row = conn.execute(
            select(store_harvest_sources).where(store_harvest_sources.c.id == source_id)
        ).one()
    assert row.last_status == "ok" and row.claimed_until is None


def test_threads_in_one_process_and_a_request_meanwhile(
    db: Database, catalogue: tuple[Catalogue, str]
) -> None:
    cat, url = catalogue
    source_id = _register(db, url)
    with db.begin() as conn:
        identity.bootstrap(conn)
        master = identity.get_organisation(conn, identity.MARKET_MASTER)
    admin = Principal(0, identity.FIRST_ADMIN, master, frozenset({Role.admin}))
    results: list[list[service.Harvest]] = []
    first = threading.Thread(target=lambda: results.append(service.harvest_due(db)))
    first.start()
    try:
        assert cat.entered.wait(60)
        assert service.harvest_due(db) == []
        # The market master asking for it now is told it is under way, not given a second.
        with pytest.raises(Conflict, match="is being harvested now"):
            service.harvest(db, admin, url)
        assert cat.reads == 1
    finally:
        cat.release.set()
        first.join(60)
    assert [h.records for h in results[0]] == [1]
    assert cat.reads == 1 and _listings(db, source_id) == 1


def test_a_stale_view_of_what_is_due_does_not_harvest_again(
    db: Database, catalogue: tuple[Catalogue, str]
) -> None:
    cat, url = catalogue
    cat.release.set()
    _register(db, url)
    with db.read() as conn:
        seen = federation.due_sources(conn)  # a harvester looks, then is overtaken
    assert [s.url for s in seen] == [url]
    assert [h.records for h in service.harvest_due(db)] == [1]
    with db.begin() as conn:
        assert not federation.claim(conn, seen[0].id, seen[0].last_at)
    assert cat.reads == 1


def test_a_claim_left_by_a_dead_process_runs_out(
    db: Database, catalogue: tuple[Catalogue, str]
) -> None:
    cat, url = catalogue
    cat.release.set()
    source_id = _register(db, url)
    with db.begin() as conn:  # a harvester took it and died
        conn.execute(
            update(store_harvest_sources)
            .where(store_harvest_sources.c.id == source_id)
            .values(claimed_until=now() + timedelta(minutes=5))
        )
    assert service.harvest_due(db) == [] and cat.reads == 0
    with db.begin() as conn:  # its claim has run out
        conn.execute(
            update(store_harvest_sources)
            .where(store_harvest_sources.c.id == source_id)
            .values(claimed_until=now() - timedelta(seconds=1))
        )
    assert [h.records for h in service.harvest_due(db)] == [1]
    assert cat.reads == 1 and _listings(db, source_id) == 1
