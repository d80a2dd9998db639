"""OGC API – Features Part 1 read by OWSLib (a client no one here wrote) on a live server."""

from __future__ import annotations

import json
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


@pytest.mark.parametrize(
    ("cql", "expected"),
    [
        (
            "measuredHeight > 4",
            lambda a: isinstance(a.get("measuredHeight"), (int, float)) and a["measuredHeight"] > 4,
        ),
        (
            "measuredHeight BETWEEN 2.5 AND 3",
            lambda a: (
                isinstance(a.get("measuredHeight"), (int, float))
                and 2.5 <= a["measuredHeight"] <= 3
            ),
        ),
        (
            "bgt_status = 'bestaand' AND NOT measuredHeight < 5",
            lambda a: (
                a.get("bgt_status") == "bestaand"
                and isinstance(a.get("measuredHeight"), (int, float))
                and not a["measuredHeight"] < 5
            ),
        ),
        (
            "identificatiebagpnd LIKE '50310000002%'",
            lambda a: str(a.get("identificatiebagpnd", "")).startswith("50310000002"),
        ),
        (
            "status IN ('x', 'y') OR measuredHeight >= 6",
            lambda a: (
                a.get("status") in ("x", "y")
                or (isinstance(a.get("measuredHeight"), (int, float)) and a["measuredHeight"] >= 6)
            ),
        ),
        ("inonderzoek IS NULL", lambda a: a.get("inonderzoek") is None),
    ],
)
def test_cql2_text_filters_match_python(server: str, samples: Path, cql: str, expected) -> None:  # type: ignore[no-untyped-def]
    """Each filter returns exactly the buildings that the same condition selects in Python
    over the sample file — so the SQL translation (on SQLite and PostgreSQL) is right."""
    doc = json.loads((samples / "delft.city.json").read_text())
    want = {
        oid
        for oid, o in doc["CityObjects"].items()
        if o["type"] == "Building" and expected(o.get("attributes", {}))
    }
    r = httpx2.get(
        f"{server}/ogc/delft/collections/buildings/items", params={"filter": cql, "limit": 1000}
    )
    assert r.status_code == 200, r.text
    got = {f["id"] for f in r.json()["features"]}
    assert got == want
    assert 0 < len(want) < 160 or cql.endswith("IS NULL")


def test_cql2_json_and_simple_property_filters(server: str) -> None:
    as_json = {"op": ">", "args": [{"property": "measuredHeight"}, 4]}
    r = httpx2.get(
        f"{server}/ogc/delft/collections/buildings/items",
        params={"filter": json.dumps(as_json), "filter-lang": "cql2-json", "limit": 1000},
    )
    text_version = httpx2.get(
        f"{server}/ogc/delft/collections/buildings/items",
        params={"filter": "measuredHeight > 4", "limit": 1000},
    )
    assert r.status_code == 200, r.text
    assert {f["id"] for f in r.json()["features"]} == {
        f["id"] for f in text_version.json()["features"]
    }
    some = text_version.json()["features"][0]
    bag = some["properties"]["identificatiebagpnd"]
    r = httpx2.get(
        f"{server}/ogc/delft/collections/buildings/items", params={"identificatiebagpnd": bag}
    )
    assert [f["id"] for f in r.json()["features"]] == [some["id"]]
    for bad in ("measuredHeight >>> 3", "height = ", "S_INTERSECTS(measuredHeight, 3)"):
        r = httpx2.get(f"{server}/ogc/delft/collections/buildings/items", params={"filter": bad})
        assert r.status_code == 400, (bad, r.text)
    r = httpx2.get(
        f"{server}/ogc/delft/collections/buildings/items",
        params={"filter": "x", "filter-lang": "sql"},
    )
    assert r.status_code == 400 and "filter-lang" in r.json()["message"]


def test_spatial_filter(server: str) -> None:
    api = Features(f"{server}/ogc/delft")
    x1, y1, x2, y2 = api.collection("buildings")["extent"]["spatial"]["bbox"][0]
    box = (x1, y1, (x1 + x2) / 2, (y1 + y2) / 2)
    by_bbox = httpx2.get(
        f"{server}/ogc/delft/collections/buildings/items",
        params={"bbox": ",".join(map(str, box)), "limit": 1000},
    ).json()
    by_cql = httpx2.get(
        f"{server}/ogc/delft/collections/buildings/items",
        params={
            "filter": f"S_INTERSECTS(geometry, BBOX({','.join(map(str, box))}))",
            "limit": 1000,
        },
    ).json()
    # the PostGIS filter is exact, the bbox parameter (and SQLite) test boxes: a subset
    assert {f["id"] for f in by_cql["features"]} <= {f["id"] for f in by_bbox["features"]}
    assert len(by_cql["features"]) > 0


def test_crs_negotiation(server: str) -> None:
    """Part 2: geometries in RD New and EPSG:4326 (latitude first), bbox in RD New, Content-Crs."""
    from pyproj import Transformer

    base = f"{server}/ogc/delft/collections/buildings"
    meta = httpx2.get(base).json()
    assert "http://www.opengis.net/def/crs/EPSG/0/28992" in meta["crs"]
    assert meta["storageCrs"] == "http://www.opengis.net/def/crs/EPSG/0/7415"
    plain = httpx2.get(f"{base}/items", params={"limit": 5})
    assert plain.headers["Content-Crs"] == "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"
    rd = httpx2.get(
        f"{base}/items", params={"limit": 5, "crs": "http://www.opengis.net/def/crs/EPSG/0/28992"}
    )
    assert rd.headers["Content-Crs"] == "<http://www.opengis.net/def/crs/EPSG/0/28992>"
    to_rd = Transformer.from_crs("OGC:CRS84", "EPSG:28992", always_xy=True)
    for a, b in zip(plain.json()["features"], rd.json()["features"], strict=True):
        lon, lat = a["geometry"]["coordinates"][0][0][0]
        x, y = b["geometry"]["coordinates"][0][0][0]
        ex, ey = to_rd.transform(lon, lat)
        assert abs(ex - x) < 0.01 and abs(ey - y) < 0.01
        assert 84000 < x < 86000 and 447000 < y < 448500  # Delft in RD New
    wgs = httpx2.get(
        f"{base}/items", params={"limit": 1, "crs": "http://www.opengis.net/def/crs/EPSG/0/4326"}
    )
    lat, lon = wgs.json()["features"][0]["geometry"]["coordinates"][0][0][0]
    assert 51 < lat < 53 and 4 < lon < 5  # latitude first
    # the same area asked in RD New and in CRS84 gives the same buildings
    x1, y1, x2, y2 = 84700.0, 447450.0, 84900.0, 447650.0
    to84 = Transformer.from_crs("EPSG:28992", "OGC:CRS84", always_xy=True)
    b84 = to84.transform_bounds(x1, y1, x2, y2, densify_pts=21)
    in_rd = httpx2.get(
        f"{base}/items",
        params={
            "bbox": f"{x1},{y1},{x2},{y2}",
            "bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/28992",
            "limit": 1000,
        },
    ).json()
    in_84 = httpx2.get(
        f"{base}/items", params={"bbox": ",".join(map(str, b84)), "limit": 1000}
    ).json()
    assert {f["id"] for f in in_rd["features"]} == {f["id"] for f in in_84["features"]}
    assert in_rd["numberReturned"] > 0
    bad = httpx2.get(f"{base}/items", params={"crs": "http://www.opengis.net/def/crs/EPSG/0/3857"})
    assert bad.status_code == 400 and "not offered" in bad.json()["message"]


def test_gdal_reads_every_layer(server: str, tmp_path: Path) -> None:
    """GDAL's OAPIF driver (ogrinfo, ogr2ogr from Debian's gdal-bin) sees every layer and pages
    through all its items; counts and ids equal the twin's."""
    import shutil
    import subprocess

    ogrinfo, ogr2ogr = shutil.which("ogrinfo"), shutil.which("ogr2ogr")
    if not ogrinfo or not ogr2ogr:
        pytest.skip(
            "GDAL is not installed (Debian package gdal-bin; `make test` installs it as root)"
        )
    source = f"OAPIF:{server}/ogc/delft"
    info = subprocess.run(
        [ogrinfo, "-ro", "-so", source], capture_output=True, text=True, timeout=120, check=False
    )
    assert info.returncode == 0, info.stderr
    for layer in ("buildings", "roads", "vegetation", "landuse", "water", "bridges", "other"):
        assert layer in info.stdout
    out = tmp_path / "buildings.geojson"
    copy = subprocess.run(
        [ogr2ogr, "-f", "GeoJSON", str(out), source, "buildings", "-oo", "PAGE_SIZE=37"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert copy.returncode == 0, copy.stderr
    features = json.loads(out.read_text())["features"]
    ids = {f["properties"].get("id") or f.get("id") for f in features}
    assert len(features) == 160
    assert len(ids) == 160
    filtered = subprocess.run(
        [
            ogr2ogr,
            "-f",
            "GeoJSON",
            str(tmp_path / "tall.geojson"),
            source,
            "buildings",
            "-where",
            "measuredHeight > 4",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert filtered.returncode == 0, filtered.stderr
    assert len(json.loads((tmp_path / "tall.geojson").read_text())["features"]) == 24


def test_a_person_can_click_from_the_landing_page_to_a_building(server: str) -> None:
    """HTML pages: follow the links a person would click, landing → layers → buildings → one."""
    import re

    def links(html: str) -> list[str]:
        return re.findall(r'href="([^"]+)"', html)

    with httpx2.Client(base_url=server, headers={"Accept": "text/html"}) as browser:
        landing = browser.get("/ogc/delft")
        assert landing.headers["content-type"].startswith("text/html")
        to_layers = next(h for h in links(landing.text) if "collections" in h)
        layers = browser.get(to_layers)
        assert "buildings" in layers.text
        to_buildings = next(h for h in links(layers.text) if "/collections/buildings/items" in h)
        buildings = browser.get(to_buildings.replace("&amp;", "&"))
        to_one = next(h for h in links(buildings.text) if "/items/" in h)
        one = browser.get(to_one)
        assert one.status_code == 200
        assert "identificatiebagpnd" in one.text and "Building" in one.text
        # the same URL without asking for HTML stays GeoJSON
        from urllib.parse import urljoin

        assert httpx2.get(urljoin(server, to_one.split("?")[0])).json()["type"] == "Feature"
        # attribute values are escaped, not interpreted
        assert "<script" not in one.text


def test_items_as_cityjson_with_full_geometry(server: str) -> None:
    import jsonschema_rs

    from tests.conftest import SCHEMAS

    validator = jsonschema_rs.validator_for(
        json.loads((SCHEMAS / "cityjson.min.schema.json").read_text())
    )
    page = httpx2.get(f"{server}/ogc/delft/collections/buildings/items", params={"limit": 7}).json()
    r = httpx2.get(
        f"{server}/ogc/delft/collections/buildings/items", params={"limit": 7, "f": "cityjson"}
    )
    assert r.headers["content-type"].startswith("application/city+json")
    doc = r.json()
    assert [str(e)[:200] for e in validator.iter_errors(doc)] == []
    assert set(doc["CityObjects"]) == {f["id"] for f in page["features"]}
    assert all(o["geometry"][0]["type"] == "Solid" for o in doc["CityObjects"].values())
    one = page["features"][0]["id"]
    r = httpx2.get(
        f"{server}/ogc/delft/collections/buildings/items/{one}",
        headers={"Accept": "application/city+json"},
    )
    assert list(r.json()["CityObjects"]) == [one]
    assert [str(e)[:200] for e in validator.iter_errors(r.json())] == []
    assert (
        httpx2.get(
            f"{server}/ogc/delft/collections/buildings/items", params={"f": "xml"}
        ).status_code
        == 406
    )


def test_datetime_on_dated_objects(server: str, samples: Path) -> None:
    """``datetime`` selects by the objects' date attribute (BGT's creationdate for Delft)."""
    doc = json.loads((samples / "delft.city.json").read_text())
    dates = {
        oid: o["attributes"]["creationdate"]
        for oid, o in doc["CityObjects"].items()
        if o["type"] == "LandUse"
    }
    some = sorted(set(dates.values()))
    assert len(some) > 1
    cases = {
        some[0]: {i for i, d in dates.items() if d == some[0]},
        f"../{some[0]}": {i for i, d in dates.items() if d <= some[0]},
        f"{some[1]}/..": {i for i, d in dates.items() if d >= some[1]},
        f"{some[0]}T00:00:00Z/{some[-1]}T23:59:59Z": set(dates),
    }
    for value, want in cases.items():
        r = httpx2.get(
            f"{server}/ogc/delft/collections/landuse/items",
            params={"datetime": value, "limit": 1000},
        )
        assert r.status_code == 200, r.text
        assert {f["id"] for f in r.json()["features"]} == want, value
    for bad in ("yesterday", "2020-01-01/2021-01-01/2022-01-01", "/"):
        r = httpx2.get(f"{server}/ogc/delft/collections/buildings/items", params={"datetime": bad})
        assert r.status_code == 400, bad


def test_concurrent_reads_never_fail(server: str) -> None:
    """Many requests at once (each also writes the usage log): all answered, none locked out."""
    from concurrent.futures import ThreadPoolExecutor

    url = f"{server}/ogc/delft/collections/buildings/items"

    def fetch(n: int) -> int:
        return httpx2.get(url, params={"limit": 5, "offset": n % 50}, timeout=60).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(fetch, range(120)))
    assert statuses == [200] * 120
