"""Cross-origin reads (CORS): another site's viewer may read, never with our cookies, and
never change anything."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import as_
from tweeling.api.app import create_app
from tweeling.storage.db import Database

VIEWER = "https://viewer.example"


def _client(db: Database, monkeypatch: pytest.MonkeyPatch, origins: str | None) -> TestClient:
    if origins is None:
        monkeypatch.delenv("TWEELING_CORS_ORIGINS", raising=False)
    else:
        monkeypatch.setenv("TWEELING_CORS_ORIGINS", origins)
    return TestClient(create_app(db, run_jobs=False))


def test_any_origin_may_read_without_credentials_by_default(
    db: Database, platform: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = _client(db, monkeypatch, None)
    r = client.get(
        "/ogc/delft/collections", headers={"Origin": VIEWER, **as_(platform, "admin@delft.nl")}
    )
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in r.headers
    assert "ETag" in r.headers.get("access-control-expose-headers", "")
    # a bearer token from another origin is preflighted and allowed; a change is not
    ok = client.options(
        "/ogc/delft/3dtiles/current/tileset.json",
        headers={
            "Origin": VIEWER,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == "*"
    assert "authorization" in ok.headers["access-control-allow-headers"].lower()
    for method in ("POST", "DELETE", "PATCH"):
        refused = client.options(
            "/twins/delft/scenarios",
            headers={"Origin": VIEWER, "Access-Control-Request-Method": method},
        )
        assert refused.status_code == 400, method
        assert method not in refused.headers.get("access-control-allow-methods", "")


def test_named_origins_only_and_none_at_all(
    db: Database, platform: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = _client(db, monkeypatch, f"{VIEWER}, https://other.example/")
    named = client.get("/", headers={"Origin": VIEWER})
    assert named.headers["access-control-allow-origin"] == VIEWER
    assert "origin" in named.headers.get("vary", "").lower()
    stranger = client.get("/", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in stranger.headers
    closed = _client(db, monkeypatch, "")
    assert "access-control-allow-origin" not in closed.get("/", headers={"Origin": VIEWER}).headers
