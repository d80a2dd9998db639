"""Signing in: sessions with CSRF protection, lockout, two-step verification, sign-out, and
no secret ever showing up in the audit log or in a response after its creation."""

from __future__ import annotations

from collections.abc import Iterator

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from tweeling.access import audit, identity
from tweeling.api.app import create_app
from tweeling.storage.db import Database
from tweeling.storage.schema import audit_log

PASSWORD = "a long enough password"


@pytest.fixture
def people(db: Database) -> Database:
    with db.begin() as conn:
        identity.create_organisation(conn, "Gemeente Delft", "municipality", actor="t")
        identity.create_organisation(
            conn, "Provincie Zuid-Holland", "province", actor="t", mfa_required=True
        )
        identity.add_member(
            conn, "anna@delft.nl", "Gemeente Delft", "editor", actor="t", password=PASSWORD
        )
        identity.add_member(
            conn, "piet@zh.nl", "Provincie Zuid-Holland", "admin", actor="t", password=PASSWORD
        )
    return db


@pytest.fixture
def client(people: Database) -> Iterator[TestClient]:
    with TestClient(create_app(people, cookie_secure=False)) as c:
        yield c


def _login(client: TestClient, email: str, **extra: str) -> dict[str, str]:
    r = client.post("/auth/login", json={"email": email, "password": PASSWORD, **extra})
    assert r.status_code == 200, r.text
    return r.json()


def test_session_cookie_and_csrf(client: TestClient) -> None:
    body = _login(client, "anna@delft.nl")
    assert body["organisation"] == "Gemeente Delft" and body["roles"] == ["editor"]
    cookie = client.cookies.get("tweeling_session")
    assert cookie
    login = client.post("/auth/login", json={"email": "anna@delft.nl", "password": PASSWORD})
    set_cookie = login.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=lax" in set_cookie
    csrf = login.json()["csrf_token"]
    cookie = client.cookies.get("tweeling_session")
    assert client.get("/twins").status_code == 200
    r = client.post("/twins", json={"name": "mine"})
    assert r.status_code == 403 and "X-CSRF-Token" in r.json()["message"]
    r = client.post("/twins", json={"name": "mine"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201, r.text
    assert client.post("/auth/logout").status_code == 204
    client.cookies.set("tweeling_session", cookie)
    assert client.get("/twins").status_code == 401


def test_lockout_after_repeated_failures(client: TestClient, people: Database) -> None:
    for _ in range(5):
        r = client.post(
            "/auth/login", json={"email": "anna@delft.nl", "password": "wrong password!"}
        )
        assert r.status_code == 401
    r = client.post("/auth/login", json={"email": "anna@delft.nl", "password": PASSWORD})
    assert r.status_code == 429 and "try again after" in r.json()["message"]
    with people.read() as conn:
        outcomes = (
            conn.execute(select(audit_log.c.outcome).where(audit_log.c.action == "login"))
            .scalars()
            .all()
        )
    assert outcomes == ["failure"] * 5 + ["denied"]
    with people.begin() as conn:  # the lock expires
        conn.execute(
            text("UPDATE users SET locked_until = created_at WHERE email = 'anna@delft.nl'")
        )
    assert (
        client.post(
            "/auth/login", json={"email": "anna@delft.nl", "password": PASSWORD}
        ).status_code
        == 200
    )


def test_two_step_verification(client: TestClient) -> None:
    csrf = _login(client, "anna@delft.nl")["csrf_token"]
    h = {"X-CSRF-Token": csrf}
    setup = client.post("/auth/totp", headers=h).json()
    assert setup["otpauth_uri"].startswith("otpauth://totp/Tweeling:anna%40delft.nl")
    totp = pyotp.TOTP(setup["secret"])
    bad = client.post(
        "/auth/totp/confirm",
        json={"code": "000000" if totp.now() != "000000" else "111111"},
        headers=h,
    )
    assert bad.status_code == 400
    assert (
        client.post("/auth/totp/confirm", json={"code": totp.now()}, headers=h).status_code == 200
    )
    client.cookies.clear()
    r = client.post("/auth/login", json={"email": "anna@delft.nl", "password": PASSWORD})
    assert r.status_code == 401 and "two-step" in r.json()["message"]
    assert _login(client, "anna@delft.nl", totp=totp.now())["second_factor_required"] is False


def test_organisation_that_requires_two_step_verification(client: TestClient) -> None:
    body = _login(client, "piet@zh.nl")
    assert body["second_factor_required"] is True
    h = {"X-CSRF-Token": body["csrf_token"]}
    r = client.get("/twins")
    assert r.status_code == 403 and "requires two-step verification" in r.json()["message"]
    secret = client.post("/auth/totp", headers=h).json()["secret"]
    assert (
        client.post(
            "/auth/totp/confirm", json={"code": pyotp.TOTP(secret).now()}, headers=h
        ).status_code
        == 200
    )
    assert client.get("/twins").status_code == 200
    r = client.post("/auth/totp/disable", json={"code": pyotp.TOTP(secret).now()}, headers=h)
    assert r.status_code == 403


def test_secrets_never_logged_or_echoed(client: TestClient, people: Database) -> None:
    _login(client, "anna@delft.nl")
    session = client.cookies.get("tweeling_session")
    with people.begin() as conn:
        token = identity.create_token(conn, "anna@delft.nl", "Gemeente Delft", actor="t").secret
    r = client.get("/twins", headers={"Authorization": f"Bearer {token}"})
    assert token not in r.text
    with people.read() as conn:
        log = b"".join(audit.export_lines(conn)).decode()
        stored = " ".join(str(v) for v in conn.execute(text("SELECT * FROM sessions")).one())
        stored += " ".join(str(v) for v in conn.execute(text("SELECT * FROM api_tokens")).one())
    for secret in (PASSWORD, session, token):
        assert secret and secret not in log
        assert secret not in stored


def test_one_address_cannot_try_many_accounts(client: TestClient) -> None:
    statuses = [
        client.post(
            "/auth/login", json={"email": f"guess{i}@delft.nl", "password": "x" * 12}
        ).status_code
        for i in range(25)
    ]
    assert statuses[:20] == [401] * 20
    assert set(statuses[20:]) == {429}
