"""Federation, hub and spokes: this store harvests another store's catalogue — or any OGC
API – Records catalogue — and shows those listings beside its own, with their origin.
Acquiring one is referred to its home store ("no wrong door").

A harvest walks the source's record collections page by page (``next`` links), keeps the
records the source itself holds (records that carry ``tweeling:origin`` were harvested there
in turn and are skipped, so two stores harvesting each other do not echo), and replaces
what it had from that source: a record gone there is gone here.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import quote, urlparse

import httpx
from sqlalchemy import Connection, delete, insert, or_, select, update

from tweeling.errors import InvalidInput
from tweeling.storage.db import clock_of
from tweeling.storage.schema import store_harvest_sources, store_listings
from tweeling.store import search

MAX_PAGES = 500
PAGE = 100
TIMEOUT_S = 30.0


class HarvestStatus(StrEnum):
    """How a source's last harvest went (``store_harvest_sources.last_status``)."""

    ok = "ok"
    failed = "failed"


MAX_URL = 2048


def http_url(value: object) -> str | None:
    """``value`` if it is an absolute http(s) URL with a host and no user info — one that is
    safe to put in an href — else None. A harvested record is written by another store: its
    links could be ``javascript:`` or ``data:`` URLs, or carry credentials."""
    if not isinstance(value, str) or not value or len(value) > MAX_URL:
        return None
    if "\\" in value or any(c.isspace() or unicodedata.category(c)[0] == "C" for c in value):
        return None
    try:
        parsed = urlparse(value)
        host = parsed.hostname
        parsed.port  # noqa: B018 (a port that is not a number raises here)
    except ValueError:
        return None
    if parsed.scheme not in ("http", "https") or not host or "@" in parsed.netloc:
        return None
    return value


def _get(client: httpx.Client, url: str) -> dict[str, Any]:
    try:
        response = client.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise InvalidInput(f"cannot reach {url}: {exc}") from None
    if response.status_code != 200:
        raise InvalidInput(f"{url} answered {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        raise InvalidInput(f"{url} did not answer JSON") from None
    if not isinstance(body, dict):
        raise InvalidInput(f"{url} did not answer a JSON object")
    return body


def fetch_records(url: str, client: httpx.Client | None = None) -> list[dict[str, Any]]:
    """Every record of the catalogue at ``url`` (its OGC API – Records landing page)."""
    own = client is None
    client = client or httpx.Client(timeout=TIMEOUT_S, follow_redirects=True)
    try:
        base = url.rstrip("/")
        collections = _get(client, f"{base}/collections").get("collections", [])
        wanted = [c for c in collections if str(c.get("itemType", "")).lower() == "record"]
        if not wanted:
            raise InvalidInput(f"{url} has no record collections (itemType 'record')")
        records: list[dict[str, Any]] = []
        for collection in wanted:
            page_url: str | None = f"{base}/collections/{collection['id']}/items?limit={PAGE}"
            for _ in range(MAX_PAGES):
                if page_url is None:
                    break
                page = _get(client, page_url)
                records += [f for f in page.get("features", []) if isinstance(f, dict)]
                page_url = next(
                    (link["href"] for link in page.get("links", []) if link.get("rel") == "next"),
                    None,
                )
        return records
    finally:
        if own:
            client.close()


def _listing_key(source_id: int, record_id: str) -> str:
    """A local key for a harvested record: short, stable, apart from local app ids."""
    digest = hashlib.sha256(f"{source_id}/{record_id}".encode()).hexdigest()[:10]
    return f"{record_id[:40]}~h{source_id}-{digest}"


def _self_link(record: dict[str, Any]) -> str | None:
    for link in record.get("links", []):
        if link.get("rel") == "self":
            return str(link.get("href"))
    return None


def _facets(record: dict[str, Any], key: str, origin: str) -> dict[str, Any]:
    props = record.get("properties", {})
    themes = [c.get("id") for t in props.get("themes", []) for c in t.get("concepts", [])]
    contacts = props.get("contacts") or [{}]
    price = props.get("tweeling:price") or {}
    return {
        "app_id": key,
        "remote_id": str(record.get("id")),
        "version": str(props.get("version") or ""),
        "state": "harvested",
        "use_cases": [str(t) for t in themes if t],
        "publisher": contacts[0].get("organization"),
        "price_model": price.get("model"),
        "layers": [],
        "approval": "harvested",
        "origin": origin,
    }


def register_source(conn: Connection, url: str, interval_s: int, actor: str) -> int:
    if http_url(url) is None:
        raise InvalidInput(
            f"{url!r} is not an http(s) URL of an OGC API – Records catalogue (with a host, "
            "and no user name or password in it)"
        )
    if interval_s < 60:
        raise InvalidInput("harvest at most once a minute (--every 60 or more seconds)")
    found = conn.execute(
        select(store_harvest_sources.c.id).where(store_harvest_sources.c.url == url)
    ).scalar()
    if found is not None:
        conn.execute(
            update(store_harvest_sources)
            .where(store_harvest_sources.c.id == found)
            .values(interval_s=interval_s)
        )
        return int(found)
    key = conn.execute(
        insert(store_harvest_sources).values(
            url=url, interval_s=interval_s, added_by=actor, records=0
        )
    ).inserted_primary_key
    assert key is not None
    return int(key[0])


def store_records(
    conn: Connection, source_id: int, source_url: str, records: list[dict[str, Any]]
) -> int:
    """Replace what this store holds from the source by ``records``; returns how many. A
    record's home is its own ``self`` link only when that is a safe http(s) URL; otherwise
    it is made from the source's URL."""
    if http_url(source_url) is None:
        raise InvalidInput(f"{source_url!r} is not an http(s) URL to harvest")
    origin = f"{urlparse(source_url).scheme}://{urlparse(source_url).netloc}"
    old = conn.execute(
        select(store_listings.c.id).where(store_listings.c.source_id == source_id)
    ).scalars()
    for listing_id in list(old):
        search.remove(conn, listing_id)
    conn.execute(delete(store_listings).where(store_listings.c.source_id == source_id))
    kept = 0
    for record in records:
        props = record.get("properties") or {}
        if "tweeling:origin" in props or not record.get("id"):
            continue  # harvested there from elsewhere: its home store is not the source
        key = _listing_key(source_id, str(record["id"]))
        home = http_url(_self_link(record)) or (
            f"{source_url.rstrip('/')}/items/{quote(str(record['id']), safe='')}"
        )
        listing_id = conn.execute(
            insert(store_listings).values(
                app_id=key,
                publisher_org_id=None,
                created_by=f"harvest:{source_url}",
                created_at=clock_of(conn).now(),
                source_id=source_id,
                origin=home,
                remote_record=record,
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        keywords = " ".join(str(k) for k in props.get("keywords", []))
        search.put(
            conn,
            listing_id,
            str(props.get("title") or record["id"]),
            str(props.get("description") or ""),
            f"{keywords} {props.get('description') or ''}",
            _facets(record, key, origin),
        )
        kept += 1
    return kept


# How long a harvest may hold its source. A process that dies mid-harvest keeps it that long;
# a harvest that outlasts it may be joined by a second one (a big catalogue on a slow link).
CLAIM = timedelta(minutes=30)
_ANY = object()


def claim(conn: Connection, source_id: int, seen_last_at: object = _ANY) -> bool:
    """Take the source for one harvest: one conditional UPDATE, so of several processes
    (or threads) asking at once exactly one gets it; False for the others. With
    ``seen_last_at`` (the ``last_at`` the caller read when it found the source due) the
    claim also fails when another harvest finished in between: the source is no longer due."""
    sources = store_harvest_sources.c
    stamp = clock_of(conn).now()
    condition = [
        sources.id == source_id,
        or_(sources.claimed_until.is_(None), sources.claimed_until < stamp),
    ]
    if seen_last_at is not _ANY:
        condition.append(
            sources.last_at.is_(None) if seen_last_at is None else sources.last_at == seen_last_at
        )
    taken = conn.execute(
        update(store_harvest_sources).where(*condition).values(claimed_until=stamp + CLAIM)
    )
    return taken.rowcount == 1


def finish(
    conn: Connection, source_id: int, status: HarvestStatus, message: str, records: int
) -> None:
    """Record how the harvest went and let go of the source."""
    conn.execute(
        update(store_harvest_sources)
        .where(store_harvest_sources.c.id == source_id)
        .values(
            last_at=clock_of(conn).now(),
            last_status=status,
            last_message=message,
            records=records,
            claimed_until=None,
        )
    )


@dataclass(frozen=True)
class DueSource:
    id: int
    url: str
    last_at: datetime | None  # as read, for ``claim``


def due_sources(conn: Connection) -> list[DueSource]:
    """Sources whose interval has passed and that no harvest holds now."""
    rows = conn.execute(select(store_harvest_sources)).all()
    stamp = clock_of(conn).now()

    def aware(moment: datetime) -> datetime:
        # SQLite hands back naive UTC
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)

    return [
        DueSource(r.id, r.url, r.last_at)
        for r in rows
        if (r.last_at is None or (stamp - aware(r.last_at)).total_seconds() >= r.interval_s)
        and (r.claimed_until is None or aware(r.claimed_until) < stamp)
    ]


def harvested(conn: Connection, app_key: str) -> dict[str, Any] | None:
    """The harvested record behind a listing key, with its origin (None for local apps)."""
    row = conn.execute(
        select(store_listings.c.origin, store_listings.c.remote_record).where(
            store_listings.c.app_id == app_key, store_listings.c.source_id.is_not(None)
        )
    ).first()
    if row is None:
        return None
    return {"origin": row.origin, "record": row.remote_record}
