"""OGC API – Features Part 1 read by OWSLib (a client no one here wrote) on a live server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from owslib.ogcapi.features import Features
from sqlalchemy import update

from tests.api.live import live_server
from tweeling.access import identity
from tweeling.api.app import create_app
from tweeling.storage.db import Database
from tweeling.storage.schema import twins
from tweeling.twin.ingest import ingest


@pytest.fixture
def server(db: Database, samples: Path) -> Iterator[str]:
    with db.begin() as conn:
        identity.create_organisation(conn, "Gemeente Delft", "municipality", actor="t")
        org = identity.get_organisation(conn, "Gemeente Delft").id
    ingest(db, samples / "delft.city.json", "delft", owner_org_id=org)
    ingest(db, samples / "3dbag_multi_lod.city.json", "private", owner_org_id=org, crs="EPSG:7415")
    with db.begin() as conn:
        conn.execute(update(twins).where(twins.c.name == "delft").values(public=True))
    with live_server(create_app(db)) as base:
        yield base


def test_owslib_reads_every_layer(server: str) -> None:
    api = Features(f"{server}/ogc/delft")
    conformance = api.conformance()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conformance
    layers = {c["id"]: c for c in api.collections()["collections"]}
    assert {"buildings", "roads", "vegetation", "landuse", "water", "bridges", "other"} == set(
        layers
    )
    total = 0
    for layer in layers:
        seen: list[str] = []
        offset = 0
        while True:
            page = api.collection_items(layer, limit=50, offset=offset)
            seen.extend(f["id"] for f in page["features"])
            if not any(link["rel"] == "next" for link in page["links"]):
                break
            offset += 50
        assert len(seen) == len(set(seen))
        total += len(seen)
        if layer == "buildings":
            assert len(seen) == 160
    assert total == 570


def test_bbox_single_item_and_errors(server: str) -> None:
    api = Features(f"{server}/ogc/delft")
    x1, y1, x2, y2 = api.collection("buildings")["extent"]["spatial"]["bbox"][0]
    box = [x1 + (x2 - x1) / 4, y1 + (y2 - y1) / 4, x1 + (x2 - x1) / 2, y1 + (y2 - y1) / 2]
    page = api.collection_items("buildings", bbox=box, limit=1000)
    assert 0 < page["numberReturned"] < 160
    for feature in page["features"]:
        assert feature["geometry"]["type"] == "MultiPolygon"
        lons = [c[0] for poly in feature["geometry"]["coordinates"] for ring in poly for c in ring]
        assert max(lons) >= box[0] and min(lons) <= box[2]
    one = page["features"][0]
    item = api.collection_item("buildings", one["id"])
    assert item["id"] == one["id"]
    assert item["properties"]["cityjson_type"] == "Building"
    r = httpx2.get(f"{server}/ogc/delft/collections/buildings/items", params={"bbox": "1,2,3"})
    assert r.status_code == 400 and "bbox" in r.json()["message"]
    r = httpx2.get(f"{server}/ogc/delft/collections/buildings/items/nope")
    assert r.status_code == 404
    # private twin: invisible to anonymous callers, with the wording of a missing twin
    assert httpx2.get(f"{server}/ogc/private").status_code == 404
    assert httpx2.get(f"{server}/ogc/private/collections/buildings/items").status_code == 404
