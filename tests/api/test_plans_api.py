"""Participation through the API: a plan opens one scenario to everyone, read-only; anyone
may comment while comments are open; only the organisation sees comments before moderation
and decides on them; a withdrawn plan is gone for everyone. Checked from outside: the rows
in the database and the audit log, not only the answers."""

from __future__ import annotations

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.api.conftest import as_
from tweeling.storage.db import Database
from tweeling.storage.schema import audit_log, plan_comments

ADMIN = "admin@delft.nl"


def _plan(client: TestClient, platform: dict[str, str]) -> tuple[str, str]:
    """A scenario with one building removed, published; returns (slug, removed id)."""
    me = as_(platform, ADMIN)
    assert (
        client.post("/twins/delft/scenarios", json={"name": "park"}, headers=me).status_code == 201
    )
    items = client.get("/ogc/delft/collections/buildings/items?limit=1", headers=me).json()
    gone = items["features"][0]["id"]
    edit = {"reason": "a park instead", "delete": [gone]}
    assert (
        client.post("/twins/delft/scenarios/park/edits", json=edit, headers=me).status_code == 201
    )
    r = client.post(
        "/twins/delft/scenarios/park/plan",
        json={
            "title": "Park aan de Oude Delft",
            "summary": "Een gebouw maakt plaats voor een park.",
        },
        headers=me,
    )
    assert r.status_code == 201, r.text
    assert r.json()["slug"].startswith("park-aan-de-oude-delft-")
    return r.json()["slug"], gone


def test_everyone_reads_a_plan_of_a_private_twin_but_nothing_else_of_it(
    client: TestClient, platform: dict[str, str]
) -> None:
    slug, gone = _plan(client, platform)
    public = client.get(f"/plans/{slug}")  # anonymous
    assert public.status_code == 200
    body = public.json()
    assert body["effects"] == [{"change": "removed", "id": gone, "type": body["effects"][0]["type"],
                                "attributes": [], "geometry_changed": False}]  # fmt: skip
    tiles = client.get(f"/plans/{slug}/3dtiles/tileset.json")
    assert tiles.status_code == 200 and "root" in orjson.loads(tiles.content)
    uri = orjson.loads(tiles.content)["root"]
    while "content" not in uri:
        uri = uri["children"][0]
    glb = client.get(f"/plans/{slug}/3dtiles/{uri['content']['uri']}")
    assert glb.status_code == 200 and glb.content[:4] == b"glTF"
    # the plan opens its scenario only: the twin itself stays closed to the anonymous visitor
    assert client.get("/ogc/delft/3dtiles/park/tileset.json").status_code == 404
    assert client.get("/ogc/delft/3dtiles/current/tileset.json").status_code == 404
    assert client.get("/twins/delft").status_code == 404


def test_comments_wait_for_moderation_by_the_organisation(
    client: TestClient, platform: dict[str, str], db: Database
) -> None:
    slug, gone = _plan(client, platform)
    r = client.post(
        f"/plans/{slug}/comments",
        json={"body": "Graag bomen!", "pseudonym": "Buurvrouw", "object_id": gone},
    )
    assert r.status_code == 202 and r.json()["status"] == "pending"
    comment_id = r.json()["id"]
    assert client.get(f"/plans/{slug}").json()["comments"] == []  # not shown yet
    # neither a visitor nor another organisation may see the queue or decide
    assert client.get(f"/plans/{slug}/comments").status_code == 401
    other = as_(platform, "admin@rotterdam.nl")
    assert client.get(f"/plans/{slug}/comments", headers=other).status_code == 403
    decide = {"decision": "approve"}
    url = f"/plans/{slug}/comments/{comment_id}/moderation"
    assert client.post(url, json=decide, headers=other).status_code == 403
    viewer = as_(platform, "viewer@delft.nl")
    assert client.post(url, json=decide, headers=viewer).status_code == 403
    me = as_(platform, ADMIN)
    queue = client.get(f"/plans/{slug}/comments?status=pending", headers=me).json()["comments"]
    assert [c["body"] for c in queue] == ["Graag bomen!"]
    assert client.post(url, json=decide, headers=me).json()["status"] == "approved"
    shown = client.get(f"/plans/{slug}").json()["comments"]
    assert [(c["pseudonym"], c["body"], c["object_id"]) for c in shown] == [
        ("Buurvrouw", "Graag bomen!", gone)
    ]
    hide = {"decision": "hide", "note": "persoonsgegevens"}
    assert client.post(url, json=hide, headers=me).json()["status"] == "hidden"
    assert client.get(f"/plans/{slug}").json()["comments"] == []
    with db.read() as conn:
        stored = conn.execute(select(plan_comments)).one()
        actions = [r.action for r in conn.execute(select(audit_log.c.action)).all()]
    # what is kept of the author: the pseudonym and the text, no address or account
    assert stored.pseudonym == "Buurvrouw" and stored.moderated_by == ADMIN
    assert actions.count("plan.moderate") == 2 and "plan.publish" in actions


def test_bad_comments_are_refused_with_the_reason(
    client: TestClient, platform: dict[str, str], db: Database
) -> None:
    slug, _ = _plan(client, platform)
    for body, words in (
        ({"body": ""}, "body"),
        ({"body": "x" * 2001}, "body"),
        ({"body": "ok", "object_id": "no-such-building"}, "no-such-building"),
        ({"body": "ok", "position": [200, 10]}, "longitude"),
        ({"body": "nul\x00"}, "NUL"),
        ({"body": "ok", "pseudonym": "p" * 41}, "pseudonym"),
    ):
        r = client.post(f"/plans/{slug}/comments", json=body)
        assert r.status_code == 400, (body, r.text)
        assert words in r.json()["detail"], r.json()["detail"]
    with db.read() as conn:
        assert conn.execute(select(plan_comments)).all() == []  # nothing half-written


def test_a_withdrawn_plan_is_gone_and_takes_no_comments(
    client: TestClient, platform: dict[str, str]
) -> None:
    slug, _ = _plan(client, platform)
    assert client.delete(f"/plans/{slug}").status_code == 401
    me = as_(platform, ADMIN)
    assert client.delete(f"/plans/{slug}", headers=me).status_code == 204
    assert client.get(f"/plans/{slug}").status_code == 404
    assert client.get(f"/plans/{slug}/3dtiles/tileset.json").status_code == 404
    assert client.post(f"/plans/{slug}/comments", json={"body": "te laat"}).status_code == 404
    mine = client.get("/plans", headers=me).json()["plans"]
    assert [(p["slug"], p["withdrawn"]) for p in mine] == [(slug, True)]


def test_only_the_owning_organisation_publishes(
    client: TestClient, platform: dict[str, str]
) -> None:
    me = as_(platform, ADMIN)
    client.post("/twins/delft/scenarios", json={"name": "idea"}, headers=me)
    plan = {"title": "Idee", "summary": "Iets"}
    other = as_(platform, "admin@rotterdam.nl")
    assert (
        client.post("/twins/delft/scenarios/idea/plan", json=plan, headers=other).status_code == 404
    )
    viewer = as_(platform, "viewer@delft.nl")
    assert (
        client.post("/twins/delft/scenarios/idea/plan", json=plan, headers=viewer).status_code
        == 403
    )
    same = client.post(
        "/twins/delft/scenarios/current/plan",
        json={**plan, "base_scenario": "current"},
        headers=me,
    )
    assert same.status_code == 400 and "current" in same.json()["detail"]
    missing = client.post("/twins/delft/scenarios/nope/plan", json=plan, headers=me)
    assert missing.status_code == 404
