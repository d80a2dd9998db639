"""The accreditation desk's pages over HTTP, on a real round: the queue and a version's
assessment as an assigned reviewer and as the market master, and who is kept out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.web import desk_round
from tweeling.access import identity
from tweeling.api.app import create_app
from tweeling.storage.db import Database
from tweeling.web import i18n

PASSWORD = "correct horse battery staple"
PAGE = "/studio/desk/solar-potential/0.1.0"


@pytest.fixture(scope="module")
def app(module_db: Database, samples: Path, tmp_path_factory: pytest.TempPathFactory) -> object:
    with module_db.begin() as conn:
        identity.bootstrap(conn)
        identity.create_organisation(conn, "Gemeente Delft", "municipality", actor="test")
        identity.add_member(
            conn, "viewer@delft.nl", "Gemeente Delft", "viewer", actor="test", password=PASSWORD
        )
    desk_round.prepare(module_db, samples, tmp_path_factory.mktemp("desk"), PASSWORD)
    return create_app(module_db, cookie_secure=False, run_jobs=False)


def _signed_in(app: object, email: str | None) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as client:  # type: ignore[arg-type]
        client.cookies.set(i18n.LANGUAGE_COOKIE, "en")
        if email is not None:
            r = client.post("/auth/login", json={"email": email, "password": PASSWORD})
            assert r.status_code == 200, r.text
        yield client


@pytest.fixture
def reviewer(app: object) -> Iterator[TestClient]:
    yield from _signed_in(app, desk_round.REVIEWERS[0])


@pytest.fixture
def master(app: object) -> Iterator[TestClient]:
    yield from _signed_in(app, desk_round.MASTER)


def test_the_reviewer_sees_the_queue_checks_and_a_scoring_form(reviewer: TestClient) -> None:
    queue = reviewer.get("/studio/desk")
    assert queue.status_code == 200
    assert 'href="/studio/desk"' in queue.text  # the desk is in the reviewer's navigation
    assert f'href="{PAGE}"' in queue.text and "the accreditors score every criterion" in queue.text

    page = reviewer.get(PAGE)
    assert page.status_code == 200, page.text
    text = page.text
    assert "You may score this version." in text
    assert "The publisher may not score its own app:" in text and "Stadslab BV" in text
    assert "Keurmerk Instituut" in text  # the assigned accreditor
    for check in ("integrity", "conformance", "determinism", "resources"):
        assert f'<th scope="row">{check}</th>' in text
    assert text.count("data-desk-scores=") == 6  # one form per dimension
    assert text.count('name="evidence"') == 20  # every criterion of the framework
    assert (
        'data-api="POST /store/apps/solar-potential/versions/0.1.0/accreditation/decision"'
        not in text
    )


def test_the_market_master_decides_but_does_not_score(master: TestClient) -> None:
    page = master.get(PAGE)
    assert page.status_code == 200, page.text
    assert "You may not score this version now." in page.text
    assert 'name="evidence"' not in page.text
    assert "accreditation/decision" in page.text
    assert (
        'id="outcome-accredited" name="outcome" value="accredited" required disabled' in page.text
    )


def test_the_desk_in_dutch(reviewer: TestClient) -> None:
    reviewer.cookies.set(i18n.LANGUAGE_COOKIE, "nl")
    page = reviewer.get(PAGE)
    assert "Wie mag scoren" in page.text and "Geautomatiseerde controles" in page.text


@pytest.mark.parametrize("email", ["viewer@delft.nl", desk_round.PROVIDER])
def test_others_are_kept_from_the_desk(app: object, email: str) -> None:
    for client in _signed_in(app, email):
        assert client.get("/studio/desk").status_code == 403
        assert 'href="/studio/desk"' not in client.get("/studio/twins").text
        assert client.get(PAGE).status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(app: object) -> None:
    for client in _signed_in(app, None):
        r = client.get(PAGE)
        assert r.status_code == 303
        assert r.headers["location"].startswith("/studio/sign-in?next=")


def test_an_unknown_version_is_not_found(reviewer: TestClient) -> None:
    assert reviewer.get("/studio/desk/solar-potential/9.9.9").status_code == 404


def test_the_publisher_follows_its_version_through_accreditation(app: object) -> None:
    for client in _signed_in(app, desk_round.PROVIDER):
        page = client.get("/studio/publish")
        assert page.status_code == 200, page.text
        assert 'href="/studio/publish"' in page.text  # in the developer's navigation
        assert '<th scope="row">0.1.0</th>' in page.text, (
            page.text[page.text.find("<main") :] and "under_review" in page.text
        )
        assert "the accreditors score every criterion" in page.text
        assert 'data-publish="/store/apps"' in page.text and 'type="file"' in page.text
        assert "/store/apps/solar-potential/versions/0.1.0/accreditation?f=html" in page.text


def test_the_portal_is_for_publishers(app: object) -> None:
    for client in _signed_in(app, desk_round.REVIEWERS[0]):
        assert client.get("/studio/publish").status_code == 403
