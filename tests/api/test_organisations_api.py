"""Organisation administration over HTTP: admins manage their own organisation only; the
market master creates organisations and checks the audit log."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tweeling.access import identity
from tweeling.api.app import create_app
from tweeling.storage.db import Database


@pytest.fixture
def tokens(db: Database) -> dict[str, str]:
    out = {}
    with db.begin() as conn:
        identity.bootstrap(conn)
        identity.create_organisation(conn, "Gemeente Delft", "municipality", actor="t")
        identity.create_organisation(conn, "Gemeente Leiden", "municipality", actor="t")
        for email, org, role in (
            (identity.FIRST_ADMIN, identity.MARKET_MASTER, "admin"),
            ("admin@delft.nl", "Gemeente Delft", "admin"),
            ("viewer@delft.nl", "Gemeente Delft", "viewer"),
            ("admin@leiden.nl", "Gemeente Leiden", "admin"),
        ):
            if email != identity.FIRST_ADMIN:
                identity.add_member(conn, email, org, role, actor="t")
            out[email] = identity.create_token(conn, email, org, actor="t").secret
    return out


@pytest.fixture
def client(db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(db)) as c:
        yield c


def _h(tokens: dict[str, str], who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[who]}"}


def test_admin_manages_own_members_and_tokens(client: TestClient, tokens: dict[str, str]) -> None:
    admin = _h(tokens, "admin@delft.nl")
    r = client.post(
        "/organisations/Gemeente Delft/members",
        json={"email": "new@delft.nl", "role": "analyst"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    password = r.json()["password"]
    members = client.get("/organisations/Gemeente Delft/members", headers=admin).json()["members"]
    assert {"email": "new@delft.nl", "role": "analyst"} in members
    assert password not in client.get("/organisations/Gemeente Delft/members", headers=admin).text
    r = client.post(
        "/organisations/Gemeente Delft/tokens", json={"email": "new@delft.nl"}, headers=admin
    )
    assert r.status_code == 201
    new_token = r.json()["token"]
    assert client.get("/twins", headers={"Authorization": f"Bearer {new_token}"}).status_code == 200
    assert (
        client.delete(
            f"/organisations/Gemeente Delft/tokens/{r.json()['id']}", headers=admin
        ).status_code
        == 204
    )
    assert client.get("/twins", headers={"Authorization": f"Bearer {new_token}"}).status_code == 401
    assert (
        client.delete(
            "/organisations/Gemeente Delft/members/new@delft.nl/analyst", headers=admin
        ).status_code
        == 204
    )


def test_no_reach_into_other_organisations(client: TestClient, tokens: dict[str, str]) -> None:
    leiden = _h(tokens, "admin@leiden.nl")
    for method, path, body in (
        ("GET", "/organisations/Gemeente Delft/members", None),
        (
            "POST",
            "/organisations/Gemeente Delft/members",
            {"email": "x@leiden.nl", "role": "admin"},
        ),
        ("POST", "/organisations/Gemeente Delft/tokens", {"email": "admin@delft.nl"}),
    ):
        r = client.request(method, path, json=body, headers=leiden)
        assert r.status_code == 404, (path, r.text)
    viewer = _h(tokens, "viewer@delft.nl")
    r = client.post(
        "/organisations/Gemeente Delft/members",
        json={"email": "x@delft.nl", "role": "admin"},
        headers=viewer,
    )
    assert r.status_code == 403
    orgs = client.get("/organisations", headers=leiden).json()["organisations"]
    assert [o["name"] for o in orgs] == ["Gemeente Leiden"]


def test_market_master(client: TestClient, tokens: dict[str, str]) -> None:
    master = _h(tokens, identity.FIRST_ADMIN)
    r = client.post("/organisations", json={"name": "SolarCo", "kind": "provider"}, headers=master)
    assert r.status_code == 201
    r = client.post(
        "/organisations",
        json={"name": "X", "kind": "provider"},
        headers=_h(tokens, "admin@delft.nl"),
    )
    assert r.status_code == 403
    r = client.post("/organisations", json={"name": "Y", "kind": "kingdom"}, headers=master)
    assert r.status_code == 400 and "unknown organisation kind" in r.json()["message"]
    assert len(client.get("/organisations", headers=master).json()["organisations"]) == 4
    check = client.get("/audit/verify", headers=master).json()
    assert check["ok"] is True and check["entries"] > 5
    assert client.get("/audit/verify", headers=_h(tokens, "admin@delft.nl")).status_code in (
        403,
        404,
    )
