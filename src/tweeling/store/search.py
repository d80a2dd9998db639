"""Full-text search over the store's listings, ranked, with facets.

SQLite keeps an FTS5 index (BM25) over ``store_search``; PostgreSQL a weighted ``tsvector``
column with a GIN index (``ts_rank_cd``). Both rank a match in the title above one in the
summary above one in the body. Both are fed text folded here, in one place (``fold``: accents
off, lower case), and so is the query: "een" finds "één" and "cafe" "Café" on either backend,
with no database extension needed. Every word of the query must match,
as a prefix ("zon" finds "zonnepanelen"). Facets (use case, publisher, price model,
approval, data needed) filter the matches and are counted over them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, delete, insert, select, text

from tweeling.storage.schema import Json, store_facets, store_search

FACETS = ("use_cases", "publisher", "price_model", "approval", "layers", "origin")
# The query parameter (CLI option, HTTP parameter) that filters on each facet.
FACET_PARAMS = {
    "use_cases": "use_case",
    "publisher": "publisher",
    "price_model": "price_model",
    "approval": "approval",
    "layers": "data",
    "origin": "origin",
}


def filters_from(**params: str | None) -> dict[str, str]:
    """Facet filters from query parameters named as in ``FACET_PARAMS`` (unset ones ignored)."""
    return {
        facet: value
        for facet, name in FACET_PARAMS.items()
        if (value := params.get(name)) is not None and value != ""
    }


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


def fold(text: str) -> str:
    """``text`` without accents and in lower case, as both indexes and every query see it:
    compatibility decomposition (NFKD), combining marks dropped. A letter that is not a base
    letter with marks (ø, ł, ß) stays itself."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


_DOCUMENT = (
    "setweight(to_tsvector('simple', :title), 'A') || "
    "setweight(to_tsvector('simple', :summary), 'B') || "
    "setweight(to_tsvector('simple', :body), 'C')"
)


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
    rows = [
        {"listing_id": listing_id, "facet": facet, "value": value}
        for facet in FACETS
        for value in sorted(set(_as_list(facets.get(facet))))
    ]
    if rows:
        conn.execute(insert(store_facets), rows)
    folded = {"id": listing_id, "title": fold(title), "summary": fold(summary), "body": fold(body)}
    if _sqlite(conn):
        conn.execute(
            text(
                "INSERT INTO store_fts(rowid, title, summary, body) "
                "VALUES (:id, :title, :summary, :body)"
            ),
            folded,
        )
    else:
        conn.execute(
            text(f"UPDATE store_search SET document = {_DOCUMENT} WHERE listing_id = :id"),
            folded,
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
        # An external-content FTS5 table forgets a row when told the values it indexed.
        conn.execute(
            text(
                "INSERT INTO store_fts(store_fts, rowid, title, summary, body) "
                "VALUES ('delete', :id, :title, :summary, :body)"
            ),
            {
                "id": listing_id,
                "title": fold(old.title),
                "summary": fold(old.summary),
                "body": fold(old.body),
            },
        )
    conn.execute(delete(store_facets).where(store_facets.c.listing_id == listing_id))
    conn.execute(delete(store_search).where(store_search.c.listing_id == listing_id))


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v)[:200] for v in value] if isinstance(value, list) else [str(value)[:200]]


def _words(query: str) -> list[str]:
    return _WORD.findall(fold(query or ""))[:20]


def _matches(conn: Connection, words: list[str]) -> tuple[str, dict[str, Any]]:
    """SQL for the matching listings as (listing_id, rank), lower rank first."""
    if not words:
        return "SELECT listing_id, 0.0 AS rank FROM store_search", {}
    if _sqlite(conn):
        # Each word quoted (no FTS5 syntax from the user) and matched as a prefix.
        match = " ".join('"' + w.replace('"', "") + '"*' for w in words)
        sql = (
            "SELECT rowid AS listing_id, bm25(store_fts, 10.0, 4.0, 1.0) AS rank "
            "FROM store_fts WHERE store_fts MATCH :match"
        )
        return sql, {"match": match}
    query = " & ".join(f"{w}:*" for w in words)  # words are \w+ only: no tsquery syntax
    sql = (
        "SELECT listing_id, -ts_rank_cd(document, to_tsquery('simple', :query)) AS rank "
        "FROM store_search WHERE document @@ to_tsquery('simple', :query)"
    )
    return sql, {"query": query}


def find(
    conn: Connection,
    query: str,
    filters: dict[str, str] | None = None,
    limit: int = 20,
    offset: int = 0,
) -> Results:
    """Listings matching every word of ``query`` (all listings for an empty one) and every
    facet filter, best first (by title for an empty query); facet counts are over all
    matches, before paging. Filtering, ranking, paging and counting happen in SQL."""
    words = _words(query)
    if not _sqlite(conn):
        # psycopg prepares a statement run five times, and PostgreSQL may then keep one
        # generic plan for every query word and facet: ten times slower for some of them.
        conn.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    sql, params = _matches(conn, words)
    pairs = sorted((filters or {}).items())
    where = "1 = 1"
    if pairs:
        # One grouped subquery for all filters: the planner hashes it once, whatever its
        # statistics say (an IN per filter became a nested loop on a fresh PostgreSQL table).
        wanted = " OR ".join(f"(facet = :f{i} AND value = :v{i})" for i in range(len(pairs)))
        where = (
            f"listing_id IN (SELECT listing_id FROM store_facets WHERE {wanted} "
            f"GROUP BY listing_id HAVING count(DISTINCT facet) = {len(pairs)})"
        )
        for i, (facet, value) in enumerate(pairs):
            params[f"f{i}"], params[f"v{i}"] = facet, value
    if not words and not pairs:
        # Browsing the whole store, the commonest search: every listing, by title.
        matches, within = "", ""
        total = int(conn.execute(text("SELECT count(*) FROM store_search")).scalar_one())
        page = (
            "SELECT listing_id, title, summary, facets, 0.0 AS rank FROM store_search "
            "ORDER BY title, listing_id LIMIT :limit OFFSET :offset"
        )
    else:
        matches = (
            f"WITH base AS MATERIALIZED ({sql}), "
            f"m AS MATERIALIZED (SELECT listing_id, rank FROM base WHERE {where}) "
        )
        within = "WHERE f.listing_id IN (SELECT listing_id FROM m) "
        total = int(conn.execute(text(matches + "SELECT count(*) FROM m"), params).scalar_one())
        order = "m.rank, s.listing_id" if words else "s.title, s.listing_id"
        page = (
            matches + "SELECT s.listing_id, s.title, s.summary, s.facets, m.rank FROM m "
            f"JOIN store_search s ON s.listing_id = m.listing_id ORDER BY {order} "
            "LIMIT :limit OFFSET :offset"
        )
    rows = conn.execute(
        text(page).columns(facets=Json), {**params, "limit": limit, "offset": offset}
    ).all()
    hits = [Hit(r.listing_id, r.title, r.summary, dict(r.facets), -float(r.rank)) for r in rows]
    counts: dict[str, dict[str, int]] = {facet: {} for facet in FACETS}
    for facet, value, n in conn.execute(
        text(
            matches
            + "SELECT f.facet, f.value, count(*) AS n FROM store_facets f "
            + within
            + "GROUP BY f.facet, f.value ORDER BY n DESC, f.value"
        ),
        params,
    ):
        counts.setdefault(facet, {})[value] = int(n)
    return Results(hits, total, counts)
