"""3D Tiles over HTTP: relative content links, the policy point, caching validators, errors."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from tests.api.conftest import as_
from tweeling.services import usage as usage_service
from tweeling.storage.db import Database
from tweeling.storage.schema import twins, usage_log
from tweeling.twin.model import CityObject
from tweeling.twin.scenarios import Changes, create_scenario, edit


def _contents(tile: dict[str, Any]) -> list[str]:
    uris = [tile["content"]["uri"]] if "content" in tile else []
    for child in tile.get("children", []):
        uris += _contents(child)
    return uris


def test_tileset_and_every_tile_through_their_links(
    client: TestClient, platform: dict[str, str], db: Database
) -> None:
    me = as_(platform, "viewer@delft.nl")
    base = "/ogc/delft/3dtiles/current/"
    r = client.get(base + "tileset.json", headers=me)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    tileset = r.json()
    assert tileset["asset"]["version"] == "1.1"
    uris = _contents(tileset["root"])
    assert len(uris) == tileset["asset"]["extras"]["tiles"] >= 2
    for uri in uris:
        tile = client.get(base + uri, headers=me)
        assert tile.status_code == 200, uri
        assert tile.headers["content-type"] == "model/gltf-binary"
        assert tile.content[:4] == b"glTF"
    # every request is a recorded use of the twin's data
    usage_service.flush(db)  # reads are logged in batches, at most a second later
    with db.read() as conn:
        actions = [a for (a,) in conn.execute(select(usage_log.c.action))]
    assert actions.count("3dtiles:tileset") == 1
    assert actions.count("3dtiles:tile") == len(uris)
    # the landing page links the tileset
    landing = client.get("/ogc/delft", headers=me).json()
    assert any(link["href"].endswith("/3dtiles/current/tileset.json") for link in landing["links"])


def test_entity_tags_follow_the_data(
    client: TestClient, platform: dict[str, str], db: Database
) -> None:
    me = as_(platform, "viewer@delft.nl")
    create_scenario(db, "delft", "plan")
    url = "/ogc/delft/3dtiles/plan/tileset.json"
    first = client.get(url, headers=me)
    tag = first.headers["etag"]
    again = client.get(url, headers={**me, "If-None-Match": tag})
    assert again.status_code == 304 and not again.content
    tile_url = "/ogc/delft/3dtiles/plan/" + _contents(first.json()["root"])[0]
    tile_tag = client.get(tile_url, headers=me).headers["etag"]
    assert client.get(tile_url, headers={**me, "If-None-Match": tile_tag}).status_code == 304
    # an edit in the twin changes the tags, so viewers fetch the new state
    edit(
        db,
        "delft",
        "plan",
        Changes(
            modify=[
                CityObject(
                    id="b11271601-00ba-11e6-b420-2bdcc4ab5d7f",
                    type="Building",
                    attributes={"measuredHeight": 30.0},
                )
            ]
        ),
        reason="taller",
        author="test",
    )
    after = client.get(url, headers={**me, "If-None-Match": tag})
    assert after.status_code == 200 and after.headers["etag"] != tag


def test_policy_and_errors(client: TestClient, platform: dict[str, str], db: Database) -> None:
    url = "/ogc/delft/3dtiles/current/tileset.json"
    # anonymous and another organisation: the twin does not exist for them
    for headers in ({}, as_(platform, "admin@rotterdam.nl")):
        r = client.get(url, headers=headers)
        assert r.status_code == 404 and r.json()["code"] == "not-found"
    with db.begin() as conn:
        conn.execute(update(twins).where(twins.c.name == "delft").values(public=True))
    assert client.get(url).status_code == 200  # public: anyone may stream it
    me = as_(platform, "viewer@delft.nl")
    assert client.get("/ogc/delft/3dtiles/nope/tileset.json", headers=me).status_code == 404
    missing = client.get("/ogc/delft/3dtiles/current/tiles/9/9/9.glb", headers=me)
    assert missing.status_code == 404 and "no tile 9/9/9" in missing.json()["message"]
    bad = client.get("/ogc/delft/3dtiles/current/tiles/-1/0/0.glb", headers=me)
    assert bad.status_code == 400 and "level" in bad.json()["message"]
