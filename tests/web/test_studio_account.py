"""The Studio's account section over HTTP: the sign-in page, the account page and two-step
enrolment (also while an organisation's demand for a second factor is pending, when every other
Studio page stays closed), tokens and members for admins, and the data owners' usage page."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from fastapi.testclient import TestClient

from tweeling.access import identity
from tweeling.api.app import create_app
from tweeling.storage.db import Database
from tweeling.twin.ingest import ingest
from tweeling.web.studio.owners import chart

PASSWORD = "a long enough password"


@pytest.fixture
def platform(db: Database, samples: Path) -> Database:
    with db.begin() as conn:
        identity.create_organisation(conn, "Gemeente Delft", "municipality", actor="t")
        identity.create_organisation(
            conn, "Provincie Zuid-Holland", "province", actor="t", mfa_required=True
        )
        for email, org, role in (
            ("planner@delft.nl", "Gemeente Delft", "admin"),
            ("viewer@delft.nl", "Gemeente Delft", "viewer"),
            ("piet@zh.nl", "Provincie Zuid-Holland", "admin"),
        ):
            identity.add_member(conn, email, org, role, actor="t", password=PASSWORD)
        delft = identity.get_organisation(conn, "Gemeente Delft").id
    ingest(db, samples / "delft.city.json", "delft", owner_org_id=delft)
    return db


@pytest.fixture
def client(platform: Database) -> Iterator[TestClient]:
    with TestClient(create_app(platform, cookie_secure=False)) as c:
        c.cookies.set("tweeling_lang", "en")
        yield c


def sign_in(client: TestClient, email: str, **extra: str) -> str:
    answer = client.post("/auth/login", json={"email": email, "password": PASSWORD, **extra})
    assert answer.status_code == 200, answer.text
    csrf: str = answer.json()["csrf_token"]
    return csrf


def test_the_sign_in_page_keeps_only_a_local_next(client: TestClient) -> None:
    page = client.get("/studio/sign-in", params={"next": "/studio/twins"})
    assert page.status_code == 200
    assert 'data-next="/studio/twins"' in page.text
    assert 'name="password"' in page.text and 'autocomplete="current-password"' in page.text
    evil = client.get("/studio/sign-in", params={"next": "//evil.example/x"})
    assert 'data-next="/"' in evil.text


def test_a_missing_second_factor_has_its_own_problem_code(client: TestClient) -> None:
    csrf = sign_in(client, "viewer@delft.nl")
    started = client.post("/auth/totp", headers={"X-CSRF-Token": csrf}).json()
    code = pyotp.TOTP(started["secret"]).now()
    confirmed = client.post(
        "/auth/totp/confirm", json={"code": code}, headers={"X-CSRF-Token": csrf}
    )
    assert confirmed.status_code == 200, confirmed.text
    client.cookies.clear()
    answer = client.post("/auth/login", json={"email": "viewer@delft.nl", "password": PASSWORD})
    assert answer.status_code == 401
    assert answer.json()["code"] == "second_factor_needed"
    wrong = client.post(
        "/auth/login", json={"email": "viewer@delft.nl", "password": "wrong", "totp": "000000"}
    )
    assert wrong.json()["code"] == "unauthenticated"


def test_the_account_page_sends_an_anonymous_visitor_to_sign_in(client: TestClient) -> None:
    answer = client.get("/studio/account", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/studio/sign-in?next=%2Fstudio%2Faccount"


def test_the_account_page_shows_the_person_and_for_an_admin_tokens_and_members(
    client: TestClient,
) -> None:
    csrf = sign_in(client, "planner@delft.nl")
    made = client.post(
        "/organisations/Gemeente Delft/tokens",
        json={"email": "viewer@delft.nl", "expires_in_days": 30},
        headers={"X-CSRF-Token": csrf},
    )
    assert made.status_code == 201, made.text
    page = client.get("/studio/account")
    assert page.status_code == 200
    assert "planner@delft.nl" in page.text and "Gemeente Delft" in page.text
    assert 'data-two-step-state="off"' in page.text
    assert "API tokens of Gemeente Delft" in page.text
    assert made.json()["token"] not in page.text  # shown once, by the API's answer only
    assert f'data-revoke="/organisations/Gemeente%20Delft/tokens/{made.json()["id"]}"' in page.text
    assert "viewer@delft.nl" in page.text  # a member, and the token's holder
    assert 'href="/studio/twins/delft/usage"' in page.text  # the data Delft owns


def test_a_viewer_sees_no_tokens_or_members(client: TestClient) -> None:
    sign_in(client, "viewer@delft.nl")
    page = client.get("/studio/account")
    assert page.status_code == 200
    assert "viewer@delft.nl" in page.text
    assert "API tokens of" not in page.text and "Members of" not in page.text


def test_the_qr_code_is_an_svg_of_an_otpauth_uri_only(client: TestClient) -> None:
    csrf = sign_in(client, "viewer@delft.nl")
    uri = "otpauth://totp/Tweeling:viewer%40delft.nl?secret=JBSWY3DPEHPK3PXP&issuer=Tweeling"
    answer = client.post(
        "/studio/account/qr", json={"otpauth_uri": uri}, headers={"X-CSRF-Token": csrf}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["data_uri"].startswith("data:image/svg+xml")
    other = client.post(
        "/studio/account/qr",
        json={"otpauth_uri": "https://evil.example/"},
        headers={"X-CSRF-Token": csrf},
    )
    assert other.status_code == 400 and "otpauth://totp/" in other.text  # a Studio error page
    no_csrf = client.post("/studio/account/qr", json={"otpauth_uri": uri})
    assert no_csrf.status_code == 403


def test_a_pending_second_factor_opens_only_the_enrolment_pages(client: TestClient) -> None:
    csrf = sign_in(client, "piet@zh.nl")  # his province demands two-step verification
    assert client.get("/studio/account").status_code == 200
    assert "requires two-step verification" in client.get("/studio/account").text
    assert client.get("/studio/sign-in").status_code == 200
    for closed in ("/studio/twins", "/studio/twins/delft", "/studio/twins/delft/usage"):
        assert client.get(closed).status_code == 403, closed
    started = client.post("/auth/totp", headers={"X-CSRF-Token": csrf}).json()
    qr = client.post(
        "/studio/account/qr",
        json={"otpauth_uri": started["otpauth_uri"]},
        headers={"X-CSRF-Token": csrf},
    )
    assert qr.status_code == 200
    code = pyotp.TOTP(started["secret"]).now()
    client.post("/auth/totp/confirm", json={"code": code}, headers={"X-CSRF-Token": csrf})
    assert client.get("/studio/twins").status_code == 200  # the session now has both factors


def test_the_usage_page_lists_who_used_the_data_for_what(client: TestClient) -> None:
    sign_in(client, "viewer@delft.nl")
    assert client.get("/twins/delft/datasets", params={"purpose": "noise study"}).status_code == 200
    assert client.get("/studio/twins/delft/usage").status_code == 403  # owners' admins only
    client.cookies.clear()
    client.cookies.set("tweeling_lang", "en")
    sign_in(client, "planner@delft.nl")
    page = client.get("/studio/twins/delft/usage")
    assert page.status_code == 200, page.text
    table = page.text[page.text.index("<table data-usage>") :]
    assert "viewer@delft.nl" in table and "noise study" in table
    assert re.search(
        r'<svg class="usage-chart" role="img" aria-labelledby="chart-title"', page.text
    )
    assert "1 use of the data by 1 organisation or person" in page.text
    assert "checked by its market master" in page.text  # Delft may not verify the whole log
    assert 'data-share="/twins/delft/shares"' in page.text


def test_the_chart_scales_bars_to_the_largest_count() -> None:
    drawn = chart(Counter({"Gemeente Delft": 4, "Provincie Zuid-Holland": 1, "Waterschap": 2}))
    assert [bar.label for bar in drawn.bars] == [
        "Gemeente Delft",
        "Waterschap",
        "Provincie Zuid-Holland",
    ]
    assert drawn.bars[0].width == 360 and drawn.bars[1].width == 180 and drawn.bars[2].width == 90
    assert chart(Counter()).bars == []
