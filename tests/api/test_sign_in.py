"""Signing in: sessions with CSRF protection, lockout, two-step verification, sign-out, and
no secret ever showing up in the audit log or in a response after its creation."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

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
    _clear_of_a_step_change()
    assert (
        client.post("/auth/totp/confirm", json={"code": totp.now()}, headers=h).status_code == 200
    )
    client.cookies.clear()
    r = client.post("/auth/login", json={"email": "anna@delft.nl", "password": PASSWORD})
    assert r.status_code == 401 and "two-step" in r.json()["message"]
    next_code = totp.at(time.time() + STEP)  # the code just used is spent
    assert _login(client, "anna@delft.nl", totp=next_code)["second_factor_required"] is False


STEP = 30  # seconds per TOTP code


def _clear_of_a_step_change() -> None:
    """Wait, if need be, for a fresh TOTP time step, so that the codes a test takes for the
    previous, this and the next step are all still accepted while it runs."""
    left = STEP - time.time() % STEP
    if left < 8:
        time.sleep(left + 0.1)


def _steps(people: Database) -> tuple[int | None, bool]:
    with people.read() as conn:
        row = conn.execute(
            text("SELECT totp_last_step, totp_enabled FROM users WHERE email = 'anna@delft.nl'")
        ).one()
    return row[0], bool(row[1])


def test_a_totp_code_is_good_once(client: TestClient, people: Database) -> None:
    """At confirmation, at sign-in and at turning it off: a code already used is refused
    although it is still within its validity window, and a later one is accepted."""
    h = {"X-CSRF-Token": _login(client, "anna@delft.nl")["csrf_token"]}
    totp = pyotp.TOTP(client.post("/auth/totp", headers=h).json()["secret"])
    _clear_of_a_step_change()
    now = time.time()
    previous, current, following = (totp.at(now + d * STEP) for d in (-1, 0, 1))
    step = totp.timecode(datetime.fromtimestamp(now, UTC))

    assert client.post("/auth/totp/confirm", json={"code": current}, headers=h).status_code == 200
    assert _steps(people) == (step, True)
    client.cookies.clear()
    for replayed in (current, previous):  # the same code again, or an older one
        r = client.post(
            "/auth/login", json={"email": "anna@delft.nl", "password": PASSWORD, "totp": replayed}
        )
        assert r.status_code == 401, replayed
    h = {"X-CSRF-Token": _login(client, "anna@delft.nl", totp=following)["csrf_token"]}
    assert _steps(people) == (step + 1, True)

    r = client.post("/auth/totp/disable", json={"code": following}, headers=h)
    assert r.status_code == 400 and "used already" in r.json()["message"]
    assert _steps(people) == (step + 1, True)  # still on
    with people.read() as conn:
        failures = conn.execute(
            select(audit_log.c.action, audit_log.c.outcome).where(audit_log.c.outcome == "failure")
        ).all()
    assert [tuple(f) for f in failures] == [("login", "failure")] * 2 + [("2fa.disable", "failure")]


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


def _guesses(
    client: TestClient, emails: list[str], forwarded_for: list[str]
) -> list[tuple[int, str]]:
    answers = []
    for email, address in zip(emails, forwarded_for, strict=True):
        r = client.post(
            "/auth/login",
            json={"email": email, "password": "x" * 12},
            headers={"X-Forwarded-For": address},
        )
        answers.append((r.status_code, r.json()["message"]))
    return answers


def test_x_forwarded_for_from_a_client_is_ignored(client: TestClient) -> None:
    """No proxy is trusted by default: a client naming a new address in each request is
    still one address."""
    emails = [f"guess{i}@delft.nl" for i in range(25)]
    answers = _guesses(client, emails, [f"198.51.100.{i}" for i in range(25)])
    assert [a[0] for a in answers] == [401] * 20 + [429] * 5
    assert "from your address" in answers[-1][1]


@pytest.fixture
def behind_proxy(people: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The platform behind a reverse proxy at 10.0.0.5, which appends the client's address."""
    monkeypatch.setenv("TWEELING_TRUSTED_PROXIES", "10.0.0.0/24, 2001:db8::/32")
    app = create_app(people, cookie_secure=False)
    with TestClient(app, client=("10.0.0.5", 40000)) as c:
        yield c


def test_x_forwarded_for_from_a_trusted_proxy_names_the_client(
    behind_proxy: TestClient,
) -> None:
    emails = [f"guess{i}@delft.nl" for i in range(25)]
    # 25 clients behind the proxy: each is its own address
    answers = _guesses(behind_proxy, emails, [f"203.0.113.{i}" for i in range(25)])
    assert {a[0] for a in answers} == {401}
    # one client that puts addresses of its own in front of what the proxy appends
    spoofed = [f"198.51.100.{i}, 203.0.113.99" for i in range(25)]
    answers = _guesses(behind_proxy, emails, spoofed)
    assert [a[0] for a in answers] == [401] * 20 + [429] * 5


def test_one_account_is_limited_across_addresses(
    behind_proxy: TestClient, people: Database
) -> None:
    """An attacker rotating addresses meets the per-account limit (10 tries in fifteen
    minutes) on top of the lockout; later tries never reach the database."""
    answers = _guesses(behind_proxy, ["anna@delft.nl"] * 14, [f"203.0.113.{i}" for i in range(14)])
    assert [a[0] for a in answers] == [401] * 5 + [429] * 9
    assert all("for this account" not in m for _, m in answers[:10])
    assert all("too many sign-in attempts for this account" in m for _, m in answers[10:])
    with people.read() as conn:
        tries = conn.execute(
            select(audit_log.c.outcome).where(
                audit_log.c.action == "login", audit_log.c.actor == "anna@delft.nl"
            )
        ).scalars()
        assert list(tries) == ["failure"] * 5 + ["denied"] * 5
    r = behind_proxy.post(
        "/auth/login",
        json={"email": "Anna@Delft.nl ", "password": PASSWORD},
        headers={"X-Forwarded-For": "203.0.113.200"},
    )
    assert r.status_code == 429 and "for this account" in r.json()["message"]
