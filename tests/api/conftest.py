"""Fixtures for the HTTP API tests: a small platform of organisations and people, and a
client on the real app over the test's database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tweeling.access import identity
from tweeling.api.app import create_app
from tweeling.storage.db import Database
from tweeling.twin.ingest import ingest


@pytest.fixture
def platform(db: Database, samples: Path) -> dict[str, str]:
    """Two municipalities, each with people; Delft owns a twin."""
    tokens: dict[str, str] = {}
    with db.begin() as conn:
        identity.bootstrap(conn)
        for org, kind in (
            ("Gemeente Delft", "municipality"),
            ("Gemeente Rotterdam", "municipality"),
            ("Waterschap Delfland", "water_board"),
        ):
            identity.create_organisation(conn, org, kind, actor="test")
        people = [
            ("admin@delft.nl", "Gemeente Delft", "admin"),
            ("analyst@delft.nl", "Gemeente Delft", "analyst"),
            ("viewer@delft.nl", "Gemeente Delft", "viewer"),
            ("admin@rotterdam.nl", "Gemeente Rotterdam", "admin"),
            ("viewer@delfland.nl", "Waterschap Delfland", "viewer"),
        ]
        for email, org, role in people:
            identity.add_member(conn, email, org, role, actor="test")
            tokens[email] = identity.create_token(conn, email, org, actor="test").secret
        delft = identity.get_organisation(conn, "Gemeente Delft").id
    ingest(db, samples / "delft.city.json", "delft", owner_org_id=delft)
    return tokens


@pytest.fixture
def client(db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(db)) as c:
        yield c


def as_(tokens: dict[str, str], who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[who]}"}


@pytest.fixture(autouse=True)
def _owslib_headers() -> Iterator[None]:
    """OWSLib's OGC API clients update one module-level dict with each client's headers
    (``owslib.ogcapi.REQUEST_HEADERS``), so a token given to one client reaches every later
    client in the process; each test starts from the library's own headers."""
    from owslib import ogcapi

    saved = dict(ogcapi.REQUEST_HEADERS)
    yield
    ogcapi.REQUEST_HEADERS.clear()
    ogcapi.REQUEST_HEADERS.update(saved)
