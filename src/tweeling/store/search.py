"""Full-text search over the store's listings, ranked, with facets.

SQLite keeps an FTS5 index (BM25, diacritics folded) over ``store_search``; PostgreSQL a
weighted ``tsvector`` column with a GIN index (``ts_rank_cd``). Both rank a match in the
title above one in the summary above one in the body. Every word of the query must match,
as a prefix ("zon" finds "zonnepanelen"). Facets (use case, publisher, price model,
approval, data needed) filter the matches and are counted over them.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, delete, insert, select, text

from tweeling.storage.schema import store_search

FACETS = ("use_cases", "publisher", "price_model", "approval", "layers")
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Hit:
    listing_id: int
    title: str
    summary: str
    facets: dict[str, Any]
    rank: float


@dataclass
class Results:
    hits: list[Hit]
    total: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


def _sqlite(conn: Connection) -> bool:
    return conn.dialect.name == "sqlite"


def put(
    conn: Connection,
    listing_id: int,
    title: str,
    summary: str,
    body: str,
    facets: dict[str, Any],
) -> None:
    remove(conn, listing_id)
    conn.execute(
        insert(store_search).values(
            listing_id=listing_id, title=title, summary=summary, body=body, facets=facets
        )
    )
    if _sqlite(conn):
        conn.execute(
            text(
                "INSERT INTO store_fts(rowid, title, summary, body) "
                "VALUES (:id, :title, :summary, :body)"
            ),
            {"id": listing_id, "title": title, "summary": summary, "body": body},
        )


def remove(conn: Connection, listing_id: int) -> None:
    old = conn.execute(
        select(store_search.c.title, store_search.c.summary, store_search.c.body).where(
            store_search.c.listing_id == listing_id
        )
    ).first()
    if old is None:
        return
    if _sqlite(conn):
        # An external-content FTS5 table forgets a row when told its old values.
        conn.execute(
            text(
                "INSERT INTO store_fts(store_fts, rowid, title, summary, body) "
                "VALUES ('delete', :id, :title, :summary, :body)"
            ),
            {"id": listing_id, "title": old.title, "summary": old.summary, "body": old.body},
        )
    conn.execute(delete(store_search).where(store_search.c.listing_id == listing_id))


def _words(query: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(query or "")][:20]


def _matches(conn: Connection, words: list[str]) -> list[Hit]:
    if not words:
        rows = conn.execute(
            select(
                store_search.c.listing_id,
                store_search.c.title,
                store_search.c.summary,
                store_search.c.facets,
            ).order_by(store_search.c.title, store_search.c.listing_id)
        )
        return [Hit(r.listing_id, r.title, r.summary, _facets(r.facets), 0.0) for r in rows]
    if _sqlite(conn):
        # Each word quoted (no FTS5 syntax from the user) and matched as a prefix.
        match = " ".join('"' + w.replace('"', "") + '"*' for w in words)
        sql = (
            "SELECT s.listing_id, s.title, s.summary, s.facets, "
            "bm25(store_fts, 10.0, 4.0, 1.0) AS rank FROM store_fts "
            "JOIN store_search s ON s.listing_id = store_fts.rowid "
            "WHERE store_fts MATCH :match ORDER BY rank, s.listing_id"
        )
        rows = conn.execute(text(sql), {"match": match})
        return [Hit(r.listing_id, r.title, r.summary, _facets(r.facets), -r.rank) for r in rows]
    query = " & ".join(f"{w}:*" for w in words)  # words are \w+ only: no tsquery syntax
    sql = (
        "SELECT listing_id, title, summary, facets, ts_rank_cd(document, q) AS rank "
        "FROM store_search, to_tsquery('simple', :query) AS q WHERE document @@ q "
        "ORDER BY rank DESC, listing_id"
    )
    rows = conn.execute(text(sql), {"query": query})
    return [Hit(r.listing_id, r.title, r.summary, _facets(r.facets), r.rank) for r in rows]


def _facets(value: Any) -> dict[str, Any]:
    return orjson.loads(value) if isinstance(value, (str, bytes)) else dict(value)


def _values(hit: Hit, facet: str) -> list[str]:
    value = hit.facets.get(facet)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def find(
    conn: Connection,
    query: str,
    filters: dict[str, str] | None = None,
    limit: int = 20,
    offset: int = 0,
) -> Results:
    """Listings matching every word of ``query`` (all listings for an empty one) and every
    facet filter, best first; facet counts are over all matches before paging."""
    hits = _matches(conn, _words(query))
    for facet, wanted in (filters or {}).items():
        hits = [h for h in hits if wanted in _values(h, facet)]
    counts = {facet: Counter(v for h in hits for v in _values(h, facet)) for facet in FACETS}
    return Results(
        hits[offset : offset + limit],
        len(hits),
        {facet: dict(counter.most_common()) for facet, counter in counts.items()},
    )
