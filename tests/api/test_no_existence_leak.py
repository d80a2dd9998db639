"""A twin one may not see answers exactly like one that does not exist, whatever the token's
scopes; 403 only for what one sees. Anonymous denials are counted, not logged one by one."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from tests.api.conftest import as_
from tweeling.access import identity
from tweeling.storage.db import Database
from tweeling.storage.schema import audit_denial_counts, audit_log


def _token(db: Database, email: str, org: str, scopes: list[str]) -> dict[str, str]:
    with db.begin() as conn:
        secret = identity.create_token(conn, email, org, actor="test", scopes=scopes).secret
    return {"Authorization": f"Bearer {secret}"}


def _answer(client: TestClient, path: str, headers: dict[str, str], name: str) -> object:
    r = client.get(path, headers=headers)
    return r.status_code, r.text.replace(name, "NAME"), r.headers.get("content-type")


@pytest.mark.parametrize(
    "scopes",
    [["dataset:read"], ["twin:read"], ["scenario:*"], []],
    ids=["other-kind", "twin-read", "scenario-wildcard", "unscoped"],
)
def test_an_invisible_twin_answers_like_a_missing_one(
    client: TestClient, platform: dict[str, str], db: Database, scopes: list[str]
) -> None:
    rotterdam = _token(db, "admin@rotterdam.nl", "Gemeente Rotterdam", scopes)
    for suffix in ("", "/datasets", "/scenarios"):
        existing = _answer(client, f"/twins/delft{suffix}", rotterdam, "delft")
        missing = _answer(client, f"/twins/nowhere{suffix}", rotterdam, "nowhere")
        assert existing == missing, suffix
        assert existing[0] == 404


def test_anonymous_callers_see_the_same(client: TestClient, platform: dict[str, str]) -> None:
    assert _answer(client, "/twins/delft", {}, "delft") == _answer(
        client, "/twins/nowhere", {}, "nowhere"
    )


def test_403_only_for_what_the_caller_sees(
    client: TestClient, platform: dict[str, str], db: Database
) -> None:
    """A Delft token without twin:read sees Delft's twin exists (its organisation owns it),
    so it is told what it may not do."""
    narrow = _token(db, "admin@delft.nl", "Gemeente Delft", ["dataset:read"])
    r = client.get("/twins/delft", headers=narrow)
    assert r.status_code == 403 and "scopes do not include twin:read" in r.json()["message"]
    assert client.get("/twins/nowhere", headers=narrow).status_code == 404
    r = client.delete("/twins/delft", headers=as_(platform, "viewer@delft.nl"))
    assert r.status_code == 403


def test_anonymous_denials_are_counted_not_logged_each(
    client: TestClient, platform: dict[str, str], db: Database
) -> None:
    with db.read() as conn:
        before = conn.execute(text("SELECT COUNT(*) FROM audit_log")).scalar_one()
    for _ in range(30):
        assert client.get("/twins/delft").status_code == 404
        assert client.get("/twins/delft/datasets").status_code == 404
    for _ in range(3):
        r = client.get("/twins/delft", headers=as_(platform, "admin@rotterdam.nl"))
        assert r.status_code == 404
    with db.read() as conn:
        after = conn.execute(text("SELECT COUNT(*) FROM audit_log")).scalar_one()
        denied = conn.execute(
            select(audit_log.c.actor, audit_log.c.action, audit_log.c.target).where(
                audit_log.c.outcome == "denied"
            )
        ).all()
        counts = conn.execute(
            select(
                audit_denial_counts.c.action,
                audit_denial_counts.c.target,
                audit_denial_counts.c.count,
            ).order_by(audit_denial_counts.c.action)
        ).all()
    # one entry for the first anonymous denial of each action and target in this hour,
    # one entry for each denial of a signed-in principal
    assert after - before == 2 + 3
    assert sorted(tuple(d) for d in denied) == [
        ("admin@rotterdam.nl", "twin.read", "twin:delft"),
    ] * 3 + [
        ("anonymous", "dataset.read", "twin:delft"),
        ("anonymous", "twin.read", "twin:delft"),
    ]
    assert [tuple(c) for c in counts] == [
        ("dataset.read", "twin:delft", 30),
        ("twin.read", "twin:delft", 30),
    ]
