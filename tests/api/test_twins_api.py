"""The HTTP API against the real app and database: who sees what, edits, shares, errors."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.api.conftest import as_
from tweeling.access import identity
from tweeling.services import usage as usage_service
from tweeling.storage.db import Database
from tweeling.storage.schema import audit_log, usage_log


def test_owner_sees_other_organisation_does_not(
    client: TestClient, platform: dict[str, str]
) -> None:
    r = client.get("/twins", headers=as_(platform, "viewer@delft.nl"))
    assert r.status_code == 200
    assert [t["name"] for t in r.json()["twins"]] == ["delft"]
    r = client.get("/twins/delft", headers=as_(platform, "viewer@delft.nl"))
    assert r.json()["objects"]["Building"] == 160
    assert r.json()["owner"] == "Gemeente Delft"
    # another organisation: not in lists, and a 404 that reads like a twin that does not exist
    assert client.get("/twins", headers=as_(platform, "admin@rotterdam.nl")).json()["twins"] == []
    hidden = client.get("/twins/delft", headers=as_(platform, "admin@rotterdam.nl"))
    missing = client.get("/twins/nowhere", headers=as_(platform, "admin@rotterdam.nl"))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["code"] == missing.json()["code"] == "not-found"
    assert hidden.json()["message"].replace("delft", "X") == missing.json()["message"].replace(
        "nowhere", "X"
    )
    # anonymous: only public twins
    assert client.get("/twins").json()["twins"] == []
    assert client.get("/twins/delft").status_code == 404


def test_scenario_edit_and_diff_over_http(client: TestClient, platform: dict[str, str]) -> None:
    analyst = as_(platform, "analyst@delft.nl")
    r = client.post(
        "/twins/delft/scenarios", json={"name": "plan", "kind": "proposed"}, headers=analyst
    )
    assert r.status_code == 201, r.text
    assert r.json()["created_by"] == "analyst@delft.nl"
    tower = {
        "type": "CityJSON",
        "version": "2.0",
        "metadata": {"referenceSystem": "https://www.opengis.net/def/crs/EPSG/0/7415"},
        "transform": {"scale": [0.001, 0.001, 0.001], "translate": [84900, 447600, 0]},
        "CityObjects": {
            "tower": {
                "type": "Building",
                "attributes": {"measuredHeight": 70},
                "geometry": [{"type": "MultiSurface", "lod": "0", "boundaries": [[[0, 1, 2, 3]]]}],
            }
        },
        "vertices": [[0, 0, 0], [20000, 0, 0], [20000, 20000, 0], [0, 20000, 0]],
    }
    r = client.post(
        "/twins/delft/scenarios/plan/edits",
        json={"reason": "tower plan", "add": tower},
        headers=analyst,
    )
    assert r.status_code == 201, r.text
    assert r.json()["added"] == 1
    r = client.get("/twins/delft/diff", params={"from": "current", "to": "plan"}, headers=analyst)
    assert r.json()["added"] == [{"id": "tower", "type": "Building"}]
    # a viewer may read but not edit
    r = client.post(
        "/twins/delft/scenarios/plan/edits",
        json={"reason": "x", "delete": ["tower"]},
        headers=as_(platform, "viewer@delft.nl"),
    )
    assert r.status_code == 403
    assert r.json()["code"] == "forbidden"
    # bad input is a 4xx naming the problem
    bad = {**tower, "vertices": tower["vertices"][:2]}
    r = client.post(
        "/twins/delft/scenarios/plan/edits", json={"reason": "x", "add": bad}, headers=analyst
    )
    assert r.status_code == 400 and "out of range" in r.json()["message"]
    r = client.post("/twins/delft/scenarios", json={"kind": "proposed"}, headers=analyst)
    assert r.status_code == 400 and "name" in r.json()["message"]
    assert client.post("/twins/delft/scenarios", json={"name": "x"}).status_code == 401


def test_share_with_purpose_and_usage_log(
    client: TestClient, platform: dict[str, str], db: Database
) -> None:
    water = as_(platform, "viewer@delfland.nl")
    assert client.get("/twins/delft/datasets", headers=water).status_code == 404
    # only an admin of the owner may share
    r = client.post(
        "/twins/delft/shares",
        json={"organisation": "Waterschap Delfland", "purposes": ["flood risk"]},
        headers=as_(platform, "analyst@delft.nl"),
    )
    assert r.status_code == 403
    r = client.post(
        "/twins/delft/shares",
        json={"organisation": "Waterschap Delfland", "purposes": ["flood risk"]},
        headers=as_(platform, "admin@delft.nl"),
    )
    assert r.status_code == 201, r.text
    assert [t["name"] for t in client.get("/twins", headers=water).json()["twins"]] == ["delft"]
    r = client.get("/twins/delft/datasets", params={"purpose": "flood risk"}, headers=water)
    assert r.status_code == 200
    assert r.json()["datasets"][0]["counts"]["Building"] == 160
    denied = client.get("/twins/delft/datasets", params={"purpose": "permit check"}, headers=water)
    assert denied.status_code == 403
    assert "only for flood risk" in denied.json()["message"]
    # still hidden from Rotterdam
    assert (
        client.get("/twins/delft", headers=as_(platform, "admin@rotterdam.nl")).status_code == 404
    )
    usage_service.flush(db)  # reads are logged in batches, at most a second later
    with db.read() as conn:
        usage = conn.execute(select(usage_log.c.user_email, usage_log.c.purpose)).all()
        denials = conn.execute(
            select(audit_log.c.actor, audit_log.c.action).where(audit_log.c.outcome == "denied")
        ).all()
    assert [tuple(u) for u in usage] == [("viewer@delfland.nl", "flood risk")]
    assert ("viewer@delfland.nl", "dataset.read") in [tuple(d) for d in denials]


def test_tokens_expired_revoked_and_malformed(
    client: TestClient, platform: dict[str, str], db: Database
) -> None:
    assert client.get("/twins", headers={"Authorization": "Bearer nonsense"}).status_code == 401
    assert client.get("/twins", headers={"Authorization": "Basic abc"}).status_code == 401
    with db.begin() as conn:
        token_id = conn.exec_driver_sql(
            "SELECT t.id FROM api_tokens t JOIN users u ON u.id = t.user_id "
            "WHERE u.email = 'viewer@delft.nl'"
        ).scalar_one()
        identity.revoke_token(conn, token_id, actor="test")
    r = client.get("/twins", headers=as_(platform, "viewer@delft.nl"))
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == "Bearer"
    assert platform["viewer@delft.nl"] not in r.text


def test_openapi_and_landing(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert "/twins/{name}/scenarios/{scenario}/edits" in spec["paths"]
    assert client.get("/").json()["links"][0]["href"] == "/twins"
    assert client.get("/no/such/page").json()["code"] == "not-found"
