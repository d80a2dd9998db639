"""Store search folds accents the same way on SQLite and PostgreSQL (issue 24, item 6): the
same query finds the same listings on both. Expected matches are written out by hand from
the words as a Dutch or French reader folds them, not from our code."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import Connection, insert, text

from tweeling.storage.db import Database, _alembic_config
from tweeling.storage.schema import store_listings, store_search
from tweeling.store import search
from tweeling.twin.twins import now

TITLES = {
    1: "Café Zürich",
    2: "Coördinatie van één reünie",
    3: "Curaçao havens",
    4: "Naïeve crème brûlée",
    5: "Plain cafeteria",
    6: "ﬁets",  # a ligature: "fi" + "ets"
}

# query → the listings it must find, on either backend (every word matches as a prefix)
EXPECTED = {
    "cafe": {1, 5},
    "café": {1, 5},
    "CAFÉ zurich": {1},
    "zürich": {1},
    "een": {2},
    "één": {2},
    "coordinatie reunie": {2},
    "coördinatie": {2},
    "curacao": {3},
    "naieve creme brulee": {4},
    "crème": {4},
    "fiets": {6},
    "zurigo": set(),
}


def _listing(conn: Connection, listing_id: int) -> None:
    conn.execute(
        insert(store_listings).values(
            id=listing_id, app_id=f"app-{listing_id}", created_by="t", created_at=now()
        )
    )


@pytest.fixture
def listed(db: Database) -> Database:
    with db.begin() as conn:
        for listing_id, title in TITLES.items():
            _listing(conn, listing_id)
            search.put(conn, listing_id, title, "", "", {})
    return db


@pytest.mark.parametrize("query", list(EXPECTED))
def test_the_same_query_finds_the_same_listings(listed: Database, query: str) -> None:
    with listed.read() as conn:
        found = {hit.listing_id for hit in search.find(conn, query, limit=100).hits}
    assert found == EXPECTED[query]


def test_a_listing_written_before_the_upgrade_is_found_and_can_be_removed(db: Database) -> None:
    """Rows indexed by revision 0012 (text as written) are re-indexed by 0013."""
    config = _alembic_config()
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0012")
        _listing(conn, 1)
        conn.execute(
            insert(store_search).values(
                listing_id=1, title="Café Zürich", summary="één", body="", facets={}
            )
        )
        if conn.dialect.name == "sqlite":  # as revision 0012's code indexed it
            conn.execute(
                text(
                    "INSERT INTO store_fts(rowid, title, summary, body) "
                    "VALUES (1, 'Café Zürich', 'één', '')"
                )
            )
    db.migrate()
    with db.read() as conn:
        assert [h.listing_id for h in search.find(conn, "cafe zurich een").hits] == [1]
    with db.begin() as conn:
        search.remove(conn, 1)
    with db.read() as conn:
        assert search.find(conn, "cafe").hits == []
        if conn.dialect.name == "sqlite":
            # the FTS5 index is consistent after the upgrade and the removal
            conn.execute(text("INSERT INTO store_fts(store_fts) VALUES ('integrity-check')"))
            assert conn.execute(text("SELECT count(*) FROM store_fts")).scalar_one() == 0
