"""The spatial index answers bounding-box queries exactly like a brute-force scan."""

from __future__ import annotations

import random
from pathlib import Path

import shapely
from pyproj import Transformer

from tweeling.storage.db import Database
from tweeling.twin.ingest import ingest
from tweeling.twin.scenarios import Changes, create_scenario, edit
from tweeling.twin.twins import get_scenario, get_twin
from tweeling.twin.views import in_bbox, iter_objects, view_of


def _brute_force(
    objects: dict[str, list[list[float]]], box: tuple[float, float, float, float]
) -> set[str]:
    """Independent check: transform every vertex with pyproj, intersect boxes with shapely."""
    to84 = Transformer.from_crs("EPSG:28992", "OGC:CRS84", always_xy=True)
    query = shapely.box(*box)
    hits = set()
    for oid, verts in objects.items():
        if not verts:
            continue
        xs, ys = to84.transform([v[0] for v in verts], [v[1] for v in verts])
        if shapely.box(min(xs), min(ys), max(xs), max(ys)).intersects(query):
            hits.add(oid)
    return hits


def test_bbox_matches_brute_force(db: Database, samples: Path) -> None:
    ingest(db, samples / "delft.city.json", "delft")
    with db.read() as conn:
        view = view_of(conn, get_scenario(conn, get_twin(conn, "delft"), "current"))
        stored = {o.object_id: o.to_city_object().vertices for o in iter_objects(conn, view)}
        to84 = Transformer.from_crs("EPSG:28992", "OGC:CRS84", always_xy=True)
        (lon0, lon1), (lat0, lat1) = to84.transform([84616, 85140], [447423, 447750])
        rng = random.Random(7)
        checked = 0
        for _ in range(25):
            lon, lat = rng.uniform(lon0, lon1), rng.uniform(lat0, lat1)
            w, h = rng.uniform(0.0002, 0.002), rng.uniform(0.0002, 0.001)
            box = (lon, lat, lon + w, lat + h)
            found = {
                o.object_id
                for o in in_bbox(conn, view, db.backend.bbox_source("o"), box, limit=10_000)
            }
            expected = _brute_force(stored, box)
            # the brute force uses vertex boxes, the index footprint boxes: equal for these
            # surface objects up to rounding at the box edges
            assert found == expected, (box, found ^ expected)
            checked += len(expected)
        assert checked > 100


def test_bbox_respects_scenarios(db: Database, samples: Path) -> None:
    ingest(db, samples / "delft.city.json", "delft")
    create_scenario(db, "delft", "plan")
    with db.read() as conn:
        view = view_of(conn, get_scenario(conn, get_twin(conn, "delft"), "current"))
        everything = (4.0, 51.0, 5.0, 53.0)
        all_ids = [
            o.object_id
            for o in in_bbox(conn, view, db.backend.bbox_source("o"), everything, limit=10_000)
        ]
    assert len(all_ids) == 570
    victim = all_ids[0]
    edit(db, "delft", "plan", Changes(delete=[victim]), reason="test")
    with db.read() as conn:
        twin = get_twin(conn, "delft")
        plan = view_of(conn, get_scenario(conn, twin, "plan"))
        current = view_of(conn, get_scenario(conn, twin, "current"))
        cond = db.backend.bbox_source("o")
        in_plan = {o.object_id for o in in_bbox(conn, plan, cond, everything, limit=10_000)}
        in_current = {o.object_id for o in in_bbox(conn, current, cond, everything, limit=10_000)}
        assert in_current == set(all_ids)
        assert in_plan == set(all_ids) - {victim}
        assert len(in_bbox(conn, plan, cond, everything, limit=100)) == 100
        assert in_bbox(conn, plan, cond, (0.0, 0.0, 1.0, 1.0)) == []
