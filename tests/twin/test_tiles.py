"""3D Tiles: checked with Khronos' glTF validator and read back with CesiumGS' 3d-tiles-tools.

The tilesets are written by ``tweeling export --format 3dtiles``'s code path, then read by
tools no one here wrote (tests/js drives them); what they find must equal the database.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
import shapely
from pyproj import Transformer

from tests.conftest import ROOT
from tweeling.errors import InvalidInput
from tweeling.storage.db import Database
from tweeling.twin.export import export
from tweeling.twin.ingest import ingest
from tweeling.twin.model import CityObject
from tweeling.twin.scenarios import Changes, create_scenario, edit
from tweeling.twin.synth import write_cityjsonseq
from tweeling.twin.tiles.mesh import object_triangles, triangulate
from tweeling.twin.tiles.tiling import MAX_OBJECTS
from tweeling.twin.twins import get_scenario, get_twin
from tweeling.twin.vector_io import feature_to_object
from tweeling.twin.views import iter_objects, view_of

JS = ROOT / "tests" / "js"
NODE_MODULES = ROOT / "node_modules"


def node(script: str, *args: str) -> Any:
    """Run one of the tests' Node scripts and parse its JSON output."""
    if shutil.which("node") is None or not (NODE_MODULES / "gltf-validator").is_dir():
        pytest.fail("Node.js and the npm test tools are needed: run `make test` (it runs npm ci)")
    done = subprocess.run(
        ["node", str(JS / script), *args], capture_output=True, text=True, cwd=ROOT, timeout=600
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def city(module_db: Database, samples: Path, tmp_path_factory: pytest.TempPathFactory) -> Database:
    district = tmp_path_factory.mktemp("synth") / "district.city.jsonl"
    write_cityjsonseq(district, 3000, seed=7)
    ingest(module_db, district, "synth")
    ingest(module_db, samples / "delft.city.json", "delft")
    ingest(module_db, samples / "3dbag_multi_lod.city.json", "bag", crs="EPSG:7415")
    ingest(module_db, samples / "denhaag_buildingparts.city.json", "denhaag", crs="EPSG:7415")
    ingest(module_db, samples / "zurich_lod2.city.json", "zurich")
    return module_db


def _objects(db: Database, twin: str, scenario: str = "current") -> dict[str, Any]:
    with db.read() as conn:
        view = view_of(conn, get_scenario(conn, get_twin(conn, twin), scenario))
        return {o.object_id: o for o in iter_objects(conn, view)}


_READ: dict[tuple[str, str, str], Any] = {}


def _export(db: Database, twin: str, out: Path, scenario: str = "current") -> Any:
    """Export and read back a scenario's tileset (once per database, twin and scenario)."""
    key = (db.url, twin, scenario)
    if key not in _READ:
        export(db, twin, "3dtiles", out, scenario=scenario)
        _READ[key] = (out, node("read_tileset.mjs", str(out)))
    return _READ[key][1]


def _exported_dir(db: Database, twin: str, scenario: str = "current") -> Path:
    path: Path = _READ[(db.url, twin, scenario)][0]
    return path


def _features(read: Any) -> dict[str, tuple[dict[str, Any], dict[str, str]]]:
    """Every feature row of every tile by object id (an id twice is an error)."""
    found: dict[str, tuple[dict[str, Any], dict[str, str]]] = {}
    for content in read["contents"].values():
        for table in content["tables"]:
            for row in table["rows"]:
                assert row["id"] not in found, f"{row['id']} is in two tiles"
                found[row["id"]] = (row, table["names"])
    return found


def _same_value(decoded: Any, expected: Any) -> bool:
    if expected is None:
        return decoded is None
    if isinstance(expected, bool):
        return decoded == expected or decoded == json.dumps(expected)
    if isinstance(expected, (int, float)):
        if isinstance(decoded, str):
            return bool(json.loads(decoded) == expected)
        return math.isclose(decoded, expected, rel_tol=0, abs_tol=1e-12)
    if isinstance(expected, str):
        return bool(decoded == expected)
    return bool(json.loads(decoded) == expected)


@pytest.mark.parametrize("twin", ["delft", "bag", "denhaag", "zurich", "synth"])
def test_tileset_holds_every_object_once_with_its_attributes(
    city: Database, twin: str, tmp_path: Path
) -> None:
    read = _export(city, twin, tmp_path / twin)
    stored = _objects(city, twin)
    with_geometry = {
        oid for oid, o in stored.items() if orjson.loads(o.geometry_blob).get("geometry")
    }
    features = _features(read)
    assert set(features) == with_geometry
    for oid, (row, names) in features.items():
        obj = stored[oid]
        assert row["type"] == obj.object_type
        assert row["parent"] == (obj.parents[0] if obj.parents else None)
        for pid, value in row.items():
            if pid in ("id", "type", "parent"):
                continue
            name = names[pid]
            assert _same_value(value, obj.attributes.get(name)), (oid, name, value)
        assert {names[p] for p in row if p not in ("id", "type", "parent")} >= set(obj.attributes)
    for content in read["contents"].values():
        (table,) = content["tables"]
        (ids,) = content["featureIdSets"]
        assert ids["featureCount"] == table["count"] and ids["propertyTable"] == 0
        assert ids["vertices"] == content["vertexCount"] > 0
        assert ids["distinct"][0] >= 0 and ids["distinct"][-1] < table["count"]
        # every object in the tile is drawn: each feature id occurs on some vertex
        assert len(ids["distinct"]) == table["count"]


@pytest.mark.parametrize(("twin", "levels"), [("delft", 3), ("synth", 3), ("zurich", 1)])
def test_tile_tree_refines_and_bounds_its_content(
    city: Database, twin: str, levels: int, tmp_path: Path
) -> None:
    read = _export(city, twin, tmp_path / twin)
    assert read["asset"]["version"] == "1.1"
    tiles = read["tiles"]
    assert tiles[0]["refine"] == "ADD"
    assert max(t["level"] for t in tiles) + 1 == levels
    # a tile is split until its share fits: no leaf holds more than MAX_OBJECTS
    assert all(c["tables"][0]["count"] <= MAX_OBJECTS for c in read["contents"].values())
    assert sum(c["tables"][0]["count"] for c in read["contents"].values()) > MAX_OBJECTS or (
        levels == 1
    )
    for tile in tiles:
        assert tile["geometricError"] <= tile["parentError"]
        if tile["contents"]:
            assert tile["geometricError"] == 0
        else:
            assert tile["geometricError"] > 0
    for tile in tiles:
        for uri in tile["contents"]:
            (node_,) = read["contents"][uri]["nodes"]
            # glTF is y-up: content (x, y, z) is tileset (x, −z, y)
            t = np.array(node_["translation"])
            lo = np.array(node_["min"]) + t
            hi = np.array(node_["max"]) + t
            zlo = np.array([lo[0], -hi[2], lo[1]])
            zhi = np.array([hi[0], -lo[2], hi[1]])
            box = np.array(tile["box"])
            centre, half = box[:3], np.abs(box[3:].reshape(3, 3)).sum(axis=0)
            assert np.all(zlo >= centre - half - 1e-3) and np.all(zhi <= centre + half + 1e-3)


def test_content_sits_where_the_city_is(city: Database, tmp_path: Path) -> None:
    """Each tile's content, carried to Earth-centred coordinates by the root transform,
    spans exactly its objects' vertices transformed independently with PROJ (RD+NAP→ECEF)."""
    read = _export(city, "delft", tmp_path / "delft")
    tileset = json.loads((_exported_dir(city, "delft") / "tileset.json").read_text())
    m = np.array(tileset["root"]["transform"]).reshape(4, 4).T  # column-major
    to_ecef = Transformer.from_crs("EPSG:7415", "EPSG:4978", always_xy=True)
    stored = _objects(city, "delft")
    for uri, content in read["contents"].items():
        (node_,) = content["nodes"]
        ids = [r["id"] for t in content["tables"] for r in t["rows"]]
        vertices = np.concatenate(
            [np.array(orjson.loads(stored[i].geometry_blob)["vertices"]) for i in ids]
        )
        x, y, z = to_ecef.transform(vertices[:, 0], vertices[:, 1], vertices[:, 2])
        local = (np.linalg.inv(m) @ np.vstack([x, y, z, np.ones_like(x)]))[:3].T
        t = np.array(node_["translation"])
        lo = np.array(node_["min"]) + t
        hi = np.array(node_["max"]) + t
        got_lo = np.array([lo[0], -hi[2], lo[1]])
        got_hi = np.array([hi[0], -lo[2], hi[1]])
        # float32 content near the tile centre: millimetres
        np.testing.assert_allclose(got_lo, local.min(axis=0), atol=0.01, err_msg=uri)
        np.testing.assert_allclose(got_hi, local.max(axis=0), atol=0.01, err_msg=uri)


def test_every_glb_passes_the_khronos_validator(city: Database, tmp_path: Path) -> None:
    files = []
    for twin in ("delft", "bag", "denhaag", "zurich", "synth"):
        _export(city, twin, tmp_path / twin)
        files += sorted(_exported_dir(city, twin).rglob("*.glb"))
    assert len(files) >= 6
    reports = node("validate_gltf.mjs", *map(str, files))
    assert len(reports) == len(files)
    for report in reports:
        assert (report["errors"], report["warnings"]) == (0, 0), report["messages"]


def test_scenario_tiles_show_the_plan(city: Database, tmp_path: Path) -> None:
    stored = _objects(city, "delft")
    buildings = sorted(oid for oid, o in stored.items() if o.object_type == "Building")
    gone, changed = buildings[0], buildings[1]
    create_scenario(city, "delft", "tiles-plan")
    tower = feature_to_object(
        "tower-tiles",
        "Building",
        {"measuredHeight": 70.0},
        shapely.Point(84900, 447600, 0).buffer(10, quad_segs=2),
    )
    edit(
        city,
        "delft",
        "tiles-plan",
        Changes(
            add=[tower],
            modify=[CityObject(id=changed, type="Building", attributes={"measuredHeight": 42.5})],
            delete=[gone],
        ),
        reason="tiles test",
        author="tester",
    )
    plan = _features(_export(city, "delft", tmp_path / "plan", scenario="tiles-plan"))
    current = _features(_export(city, "delft", tmp_path / "current"))
    assert gone in current and gone not in plan
    assert "tower-tiles" in plan and "tower-tiles" not in current
    height = next(p for p, n in plan[changed][1].items() if n == "measuredHeight")
    assert plan[changed][0][height] == 42.5
    assert current[changed][0][height] != 42.5


def test_export_never_overwrites_a_foreign_directory(city: Database, tmp_path: Path) -> None:
    target = tmp_path / "mine"
    target.mkdir()
    (target / "notes.txt").write_text("keep me")
    with pytest.raises(InvalidInput, match=r"holds no tileset\.json"):
        export(city, "delft", "3dtiles", target)
    assert [p.name for p in target.iterdir()] == ["notes.txt"]
    # an earlier tileset is replaced whole, and nothing partial is left beside it
    out = tmp_path / "tiles"
    export(city, "delft", "3dtiles", out)
    export(city, "bag", "3dtiles", out)
    assert json.loads((out / "tileset.json").read_text())["asset"]["extras"]["twin"] == "bag"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "tiles"]


# --- triangulation against analytic cases -------------------------------------------------


def test_polygon_with_hole_triangulates_to_its_area_facing_its_way() -> None:
    vertices = np.array(
        [
            [0, 0, 0],
            [10, 0, 0],
            [10, 10, 0],
            [0, 10, 0],
            [2, 2, 0],
            [2, 8, 0],
            [8, 8, 0],
            [8, 2, 0],
        ],
        dtype=float,
    )
    tri = triangulate([[0, 1, 2, 3], [4, 5, 6, 7]], vertices)
    a, b, c = vertices[tri[:, 0]], vertices[tri[:, 1]], vertices[tri[:, 2]]
    cross = np.cross(b - a, c - a)
    assert math.isclose(np.linalg.norm(cross, axis=1).sum() / 2, 100 - 36)
    assert np.all(cross[:, 2] > 0)  # counter-clockwise outer ring seen from above: up
    # the same ring reversed faces down, and so do all its triangles
    tri = triangulate([[3, 2, 1, 0]], vertices)
    a, b, c = vertices[tri[:, 0]], vertices[tri[:, 1]], vertices[tri[:, 2]]
    assert np.all(np.cross(b - a, c - a)[:, 2] < 0)
    assert len(triangulate([[0, 1]], vertices)) == 0
    assert len(triangulate([[0, 1, 0]], vertices)) == 0  # no area


def test_unit_cube_gives_twelve_outward_triangles() -> None:
    v = [[x, y, z] for z in (0, 1) for y in (0, 1) for x in (0, 1)]
    faces = [
        [[0, 2, 3, 1]],
        [[4, 5, 7, 6]],
        [[0, 1, 5, 4]],
        [[1, 3, 7, 5]],
        [[3, 2, 6, 7]],
        [[2, 0, 4, 6]],
    ]
    solid = {
        "type": "Solid",
        "lod": "1",
        "boundaries": [faces],
        "semantics": {
            "surfaces": [
                {"type": "GroundSurface"},
                {"type": "RoofSurface"},
                {"type": "WallSurface"},
            ],
            "values": [[0, 1, 2, 2, 2, 2]],
        },
    }
    tri = object_triangles("Building", [solid], v, {})
    assert tri.count == 12
    a, b, c = tri.corners[:, 0], tri.corners[:, 1], tri.corners[:, 2]
    normals = np.cross(b - a, c - a)
    centres = tri.corners.mean(axis=1) - 0.5
    assert np.all((normals * centres).sum(axis=1) > 0)  # every face points away from the centre
    assert math.isclose(np.linalg.norm(normals, axis=1).sum() / 2, 6.0)
    roof = tri.colours[np.argmax(centres[:, 2])]
    assert tuple(roof) != tuple(tri.colours[np.argmin(centres[:, 2])])  # roof ≠ ground colour


def test_most_detailed_lod_is_drawn(city: Database) -> None:
    obj = next(iter(_objects(city, "bag").values()))
    doc = orjson.loads(obj.geometry_blob)
    best = max(doc["geometry"], key=lambda g: float(g["lod"]))
    assert best["lod"] == "2.2"
    used = {i for shell in best["boundaries"] for face in shell for ring in face for i in ring}
    allowed = {tuple(doc["vertices"][i]) for i in used}
    tri = object_triangles(obj.object_type, doc["geometry"], doc["vertices"], {})
    assert tri.count > 0
    assert {tuple(p) for p in tri.corners.reshape(-1, 3).tolist()} <= allowed
