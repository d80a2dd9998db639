"""A harvested record is written by another store, so its links are hostile until checked: a
listing's origin is only ever an http(s) URL with a host and no user info, and a page links
nothing else (checked in the stored rows and in the HTML a browser gets)."""

from __future__ import annotations

import html

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tweeling.api.app import create_app
from tweeling.errors import InvalidInput
from tweeling.storage.db import Database
from tweeling.storage.schema import store_listings
from tweeling.store import federation, search

SOURCE = "https://hub.example.nl/records"

HOSTILE = [
    "javascript:alert(document.cookie)",
    "JavaScript:alert(1)",
    "  javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "https://user:secret@evil.example/",
    "https://good.example\\@evil.example/",
    "//evil.example/items/x",
    "https:evil.example",
    "http://",
    "https://evil.example/\nSet-Cookie: x",
    "https://evil.example:notaport/",
    "ftp://evil.example/app",
]


@pytest.mark.parametrize("url", HOSTILE)
def test_unsafe_urls_are_not_http_urls(url: str) -> None:
    assert federation.http_url(url) is None


@pytest.mark.parametrize(
    "url", ["https://store.example.nl/records/collections/apps/items/x", "http://127.0.0.1:8081/a"]
)
def test_plain_http_urls_pass(url: str) -> None:
    assert federation.http_url(url) == url


def _record(number: int, self_href: str, record_id: str | None = None) -> dict[str, object]:
    return {
        "id": record_id or f"app-{number}",
        "type": "Feature",
        "properties": {"title": f"Hostile app {number}", "description": "zonnepanelen"},
        "links": [{"rel": "self", "href": self_href}],
    }


def test_a_hostile_harvested_record_gets_a_safe_origin(db: Database) -> None:
    records = [_record(n, href) for n, href in enumerate(HOSTILE)]
    records.append(_record(99, "javascript:x", '"><script>alert(1)</script>'))
    records.append(_record(100, "https://hub.example.nl/records/collections/apps/items/ok"))
    with db.begin() as conn:
        source_id = federation.register_source(conn, SOURCE, 3600, "test")
        assert federation.store_records(conn, source_id, SOURCE, records) == len(records)
    with db.read() as conn:
        rows = conn.execute(select(store_listings.c.remote_record, store_listings.c.origin))
        origins = {row.remote_record["id"]: row.origin for row in rows}
    for number in range(len(HOSTILE)):
        assert origins[f"app-{number}"] == f"{SOURCE}/items/app-{number}"
    assert origins['"><script>alert(1)</script>'] == (
        f"{SOURCE}/items/%22%3E%3Cscript%3Ealert%281%29%3C%2Fscript%3E"
    )
    assert origins["app-100"] == "https://hub.example.nl/records/collections/apps/items/ok"
    assert all(federation.http_url(o) == o for o in origins.values())


def test_a_harvest_source_must_be_a_plain_http_url(db: Database) -> None:
    with db.begin() as conn:
        for url in ("https://user:pw@hub.example.nl/records", "javascript:alert(1)//x"):
            with pytest.raises(InvalidInput, match="not an http"):
                federation.register_source(conn, url, 3600, "test")


def test_the_store_page_links_only_http_origins(db: Database) -> None:
    """A row stored before origins were checked (or by any other path) is shown, not linked."""
    with db.begin() as conn:
        source_id = federation.register_source(conn, SOURCE, 3600, "test")
        federation.store_records(
            conn, source_id, SOURCE, [_record(1, "https://hub.example.nl/records/x")]
        )
        listing_id = conn.execute(select(store_listings.c.id)).scalar_one()
        search.put(
            conn,
            listing_id,
            "Hostile app",
            "zonnepanelen",
            "zonnepanelen",
            {
                "app_id": "hostile~h1",
                "version": "1",
                "state": "harvested",
                "use_cases": [],
                "layers": [],
                "approval": "harvested",
                "origin": "javascript:alert(document.cookie)",
            },
        )
    with TestClient(create_app(db, run_jobs=False)) as client:
        page = client.get("/store/search", params={"f": "html"})
    assert page.status_code == 200
    assert "Hostile app" in page.text
    hrefs = [html.unescape(h) for h in page.text.split('href="')[1:]]
    assert not any(h.lower().lstrip().startswith("javascript:") for h in hrefs)
    assert "javascript:alert(document.cookie)" in html.unescape(page.text)  # shown as text
