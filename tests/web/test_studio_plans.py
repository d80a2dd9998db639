"""The plan pages without a browser: who sees what, in which language, and what a visitor
who may not is told."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import as_
from tweeling.storage.db import Database

ADMIN = "admin@delft.nl"


def _published(client: TestClient, platform: dict[str, str]) -> str:
    me = as_(platform, ADMIN)
    client.post("/twins/delft/scenarios", json={"name": "park"}, headers=me)
    plan = {"title": "Park", "summary": "Een park <script>alert(1)</script>"}
    r = client.post("/twins/delft/scenarios/park/plan", json=plan, headers=me)
    assert r.status_code == 201, r.text
    return str(r.json()["slug"])


def test_a_published_plan_is_a_page_for_everyone(
    client: TestClient, platform: dict[str, str]
) -> None:
    slug = _published(client, platform)
    page = client.get(f"/studio/plans/{slug}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Privacyverklaring" in page.text  # Dutch by default, with the privacy notice
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text  # escaped, never run
    assert "<script>alert" not in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    client.cookies.set("tweeling_lang", "en")
    english = client.get(f"/studio/plans/{slug}")
    client.cookies.delete("tweeling_lang")
    assert "Privacy notice" in english.text and "Leave a comment" in english.text
    # no moderation link for a visitor
    assert f"/studio/plans/{slug}/moderation" not in page.text


def test_moderation_is_for_the_organisation_only(
    client: TestClient, platform: dict[str, str]
) -> None:
    slug = _published(client, platform)
    anonymous = client.get(f"/studio/plans/{slug}/moderation", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/studio/sign-in?next=")
    other = client.get(
        f"/studio/plans/{slug}/moderation", headers=as_(platform, "admin@rotterdam.nl")
    )
    assert other.status_code == 403 and "text/html" in other.headers["content-type"]
    own = client.get(f"/studio/plans/{slug}/moderation", headers=as_(platform, ADMIN))
    assert own.status_code == 200 and "Wachten op moderatie" in own.text


def test_a_withdrawn_or_unknown_plan_is_not_found(
    client: TestClient, platform: dict[str, str], db: Database
) -> None:
    slug = _published(client, platform)
    client.delete(f"/plans/{slug}", headers=as_(platform, ADMIN))
    for path in (f"/studio/plans/{slug}", "/studio/plans/no-such-plan"):
        r = client.get(path)
        assert r.status_code == 404 and "Niet gevonden" in r.text
    mine = client.get("/studio/plans", headers=as_(platform, ADMIN))
    assert mine.status_code == 200 and "ingetrokken" in mine.text
