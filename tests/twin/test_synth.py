"""The synthetic city: reproducible, valid CityJSONSeq with exact, closed, outward solids."""

from __future__ import annotations

import hashlib
import itertools
import os
import pathlib
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import orjson
import pytest
import shapely
from shapely import Polygon, STRtree

from tweeling import samples as sample_data
from tweeling.twin import synth

SCHEMAS = sample_data.SCHEMAS
BUILDINGS = 300
PAND_ID = re.compile(r"NL\.IMBAG\.Pand\.\d{16}")
GEBRUIKSDOELEN = {
    "woonfunctie",
    "bijeenkomstfunctie",
    "celfunctie",
    "gezondheidszorgfunctie",
    "industriefunctie",
    "kantoorfunctie",
    "logiesfunctie",
    "onderwijsfunctie",
    "sportfunctie",
    "winkelfunctie",
    "overige gebruiksfunctie",
}
ROAD_FUNCTIONS = {"rijbaan lokale weg", "fietspad", "voetpad"}

XYZ = tuple[int, int, int]


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """The counts returned for, and every line parsed from, a 300-building city."""
    path = tmp_path_factory.mktemp("synth") / "city.city.jsonl"
    counts = synth.write_cityjsonseq(path, BUILDINGS, seed=1)
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b"", "the file ends with a newline"
    return counts, [orjson.loads(line) for line in lines[:-1]]


def _features(city: tuple[dict[str, int], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return city[1][1:]


def _objects(feature: dict[str, Any], kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
    return ((i, o) for i, o in feature["CityObjects"].items() if o["type"] == kind)


def _surfaces(geometry: dict[str, Any]) -> list[list[list[int]]]:
    """The surfaces (lists of rings) of a Solid's outer shell or of a MultiSurface."""
    if geometry["type"] == "Solid":
        assert len(geometry["boundaries"]) == 1, "one shell, no cavities"
        shell: list[list[list[int]]] = geometry["boundaries"][0]
        return shell
    assert geometry["type"] == "MultiSurface"
    surfaces: list[list[list[int]]] = geometry["boundaries"]
    return surfaces


def _flatten(boundaries: Any) -> Iterator[int]:
    if isinstance(boundaries, int):
        yield boundaries
    else:
        for item in boundaries:
            yield from _flatten(item)


def _newell(points: list[XYZ]) -> tuple[int, int, int]:
    """Twice the vector area of a polygon: its normal, exact for integer coordinates."""
    nx = ny = nz = 0
    for (x0, y0, z0), (x1, y1, z1) in zip(points, points[1:] + points[:1], strict=True):
        nx += (y0 - y1) * (z0 + z1)
        ny += (z0 - z1) * (x0 + x1)
        nz += (x0 - x1) * (y0 + y1)
    return nx, ny, nz


def _six_volume(faces: list[list[XYZ]]) -> int:
    """Six times the signed volume enclosed by the faces (fan triangulation, exact)."""
    total = 0
    for face in faces:
        a = face[0]
        for b, c in itertools.pairwise(face[1:]):
            total += (
                a[0] * (b[1] * c[2] - b[2] * c[1])
                - a[1] * (b[0] * c[2] - b[2] * c[0])
                + a[2] * (b[0] * c[1] - b[1] * c[0])
            )
    return total


def _assert_closed(faces: list[list[XYZ]]) -> None:
    """Every edge is used exactly twice, once in each direction."""
    edges = Counter(
        (p, q) for face in faces for p, q in zip(face, face[1:] + face[:1], strict=True)
    )
    for (p, q), n in edges.items():
        assert n == 1, f"edge {p}->{q} used {n} times in the same direction"
        assert edges[(q, p)] == 1, f"edge {p}->{q} has no opposite"


def _solid_faces(geometry: dict[str, Any], vertices: list[XYZ]) -> list[list[XYZ]]:
    faces = []
    for surface in _surfaces(geometry):
        assert len(surface) == 1, "no holes in the faces"
        faces.append([vertices[i] for i in surface[0]])
    return faces


def test_same_seed_gives_identical_bytes_other_seed_differs(tmp_path: pathlib.Path) -> None:
    first, second, other = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    synth.write_cityjsonseq(first, 150, seed=5)
    synth.write_cityjsonseq(second, 150, seed=5)
    synth.write_cityjsonseq(other, 150, seed=6)
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes() != other.read_bytes()
    lines = first.read_bytes().splitlines()
    assert lines[0] == orjson.dumps(synth.header(5, 150))
    assert lines[1:] == [orjson.dumps(f) for f in synth.features(150, seed=5)]


def test_same_output_in_a_fresh_process_with_other_string_hashing() -> None:
    """Nothing depends on hash order, caches or the process: a new interpreter agrees."""
    code = (
        "import hashlib, orjson\n"
        "from tweeling.twin import synth\n"
        "digest = hashlib.sha256()\n"
        "for f in synth.features(120, seed=8):\n"
        "    digest.update(orjson.dumps(f))\n"
        "print(digest.hexdigest())\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    digest = hashlib.sha256()
    for feature in synth.features(120, seed=8):
        digest.update(orjson.dumps(feature))
    assert out.stdout.strip() == digest.hexdigest()


def test_counts_match_the_file(city: tuple[dict[str, int], list[dict[str, Any]]]) -> None:
    counts, _ = city
    found = Counter(o["type"] for f in _features(city) for o in f["CityObjects"].values())
    assert counts == {kind: found[kind] for kind in synth.OBJECT_TYPES}
    assert sum(found.values()) == sum(counts.values())
    assert counts["Building"] == BUILDINGS
    assert abs(counts["Road"] - BUILDINGS / 10) <= 3
    assert abs(counts["SolitaryVegetationObject"] - BUILDINGS / 5) <= 6
    assert abs(counts["PlantCover"] - BUILDINGS / 50) <= 2
    assert 0.01 * BUILDINGS <= counts["BuildingPart"] <= 0.1 * BUILDINGS


def test_every_line_validates_against_the_schemas(
    city: tuple[dict[str, int], list[dict[str, Any]]],
) -> None:
    assert SCHEMAS.is_dir(), f"the CityJSON schemas belong at {SCHEMAS}"
    main = jsonschema_rs.validator_for(
        orjson.loads((SCHEMAS / "cityjson.min.schema.json").read_bytes())
    )
    feature = jsonschema_rs.validator_for(
        orjson.loads((SCHEMAS / "cityjsonfeature.min.schema.json").read_bytes())
    )
    head, *features = city[1]
    assert [e.message for e in main.iter_errors(head)] == []
    for doc in features:
        errors = [e.message for e in feature.iter_errors(doc)]
        assert errors == [], f"{doc['id']}: {errors[:3]}"
    assert not feature.is_valid({**features[0], "transform": head["transform"]}), "sanity"


def test_header(city: tuple[dict[str, int], list[dict[str, Any]]]) -> None:
    head = city[1][0]
    assert head == synth.header(1, BUILDINGS)
    assert head["type"] == "CityJSON"
    assert head["version"] == "2.0"
    assert head["transform"]["scale"] == [0.001, 0.001, 0.001]
    x, y, _ = head["transform"]["translate"]
    assert 80_000 <= x <= 90_000
    assert 440_000 <= y <= 450_000
    assert head["metadata"]["referenceSystem"] == "https://www.opengis.net/def/crs/EPSG/0/7415"
    assert head["metadata"]["title"]
    assert head["CityObjects"] == {}
    assert head["vertices"] == []


def test_vertices_unique_in_range_and_in_first_use_order(
    city: tuple[dict[str, int], list[dict[str, Any]]],
) -> None:
    sx, sy, _ = city[1][0]["transform"]["scale"]
    tx, ty, _ = city[1][0]["transform"]["translate"]
    for feature in _features(city):
        vertices = feature["vertices"]
        assert all(type(c) is int for v in vertices for c in v), "integer vertices"
        assert len({tuple(v) for v in vertices}) == len(vertices), "no duplicate vertices"
        used = [
            i
            for o in feature["CityObjects"].values()
            for i in _flatten([g["boundaries"] for g in o.get("geometry", [])])
        ]
        assert all(0 <= i < len(vertices) for i in used)
        assert list(dict.fromkeys(used)) == list(range(len(vertices))), "first-use order"
        for obj in feature["CityObjects"].values():
            for geometry in obj["geometry"]:
                if geometry["type"] == "MultiPoint":
                    continue
                for surface in _surfaces(geometry):
                    for ring in surface:
                        assert len(ring) >= 3
                        assert len(set(ring)) == len(ring), f"repeated vertex in {ring}"
        for x, y, _ in vertices:  # in the Netherlands, in RD New
            assert 10_000 < x * sx + tx < 280_000
            assert 300_000 < y * sy + ty < 620_000


def test_solids_are_closed_planar_and_outward(
    city: tuple[dict[str, int], list[dict[str, Any]]],
) -> None:
    sloped_roofs = 0
    solids = {"1.2": 0, "2.2": 0}
    for feature in _features(city):
        vertices = [tuple(v) for v in feature["vertices"]]
        for obj in feature["CityObjects"].values():
            for geometry in obj["geometry"]:
                if geometry["type"] != "Solid":
                    continue
                solids[geometry["lod"]] += 1
                faces = _solid_faces(geometry, vertices)
                _assert_closed(faces)
                six_volume = _six_volume(faces)
                assert six_volume > 0, "outward normals give a positive volume"
                surfaces = geometry["semantics"]["surfaces"]
                kinds = [surfaces[v]["type"] for v in geometry["semantics"]["values"][0]]
                assert len(kinds) == len(faces)
                for face, kind in zip(faces, kinds, strict=True):
                    normal = _newell(face)
                    assert all(
                        sum((p[k] - face[0][k]) * normal[k] for k in range(3)) == 0 for p in face
                    ), f"face {face} is not planar"
                    drop = max(range(3), key=lambda k: abs(normal[k]))  # project along the normal
                    flat = Polygon([[c for k, c in enumerate(p) if k != drop] for p in face])
                    assert flat.is_valid, f"face {face} intersects itself"
                    if kind == "GroundSurface":
                        assert normal[0] == normal[1] == 0
                        assert normal[2] < 0
                    elif kind == "WallSurface":
                        assert normal[2] == 0
                        assert normal != (0, 0, 0)
                    else:
                        assert kind == "RoofSurface"
                        assert normal[2] > 0
                        sloped_roofs += normal[0] != 0 or normal[1] != 0
                if geometry["lod"] == "1.2":
                    (ground,) = (
                        f for f, k in zip(faces, kinds, strict=True) if k == "GroundSurface"
                    )
                    (roof,) = (f for f, k in zip(faces, kinds, strict=True) if k == "RoofSurface")
                    assert len({p[2] for p in ground}) == 1
                    assert len({p[2] for p in roof}) == 1
                    height = roof[0][2] - ground[0][2]
                    double_area = -_newell(ground)[2]
                    expected = 3 * double_area * height  # 6 * area * height
                    assert abs(six_volume - expected) <= 1e-6 * expected
    assert solids["1.2"] >= BUILDINGS
    assert 0.15 * BUILDINGS <= solids["2.2"] <= 0.45 * BUILDINGS
    assert sloped_roofs >= 2 * solids["2.2"]


def test_buildings_and_their_attributes(city: tuple[dict[str, int], list[dict[str, Any]]]) -> None:
    ids: list[str] = []
    roof_types: Counter[str] = Counter()
    for feature in _features(city):
        ids.extend(feature["CityObjects"])
        buildings = list(_objects(feature, "Building"))
        if not buildings:
            continue
        ((bid, building),) = buildings
        assert feature["id"] == bid
        assert PAND_ID.fullmatch(bid)
        a = building["attributes"]
        assert a["identificatie"] == bid
        assert type(a["oorspronkelijkbouwjaar"]) is int
        assert 1600 <= a["oorspronkelijkbouwjaar"] <= 2024
        assert a["status"].startswith(("Pand in gebruik", "Verbouwing pand"))
        assert a["gebruiksdoel"] in GEBRUIKSDOELEN
        assert type(a["aantal_verblijfsobjecten"]) is int
        assert a["aantal_verblijfsobjecten"] >= 0
        assert type(a["storeysAboveGround"]) is int
        assert a["storeysAboveGround"] >= 1
        assert -3 < a["b3_h_maaiveld"] < 3
        assert a["b3_h_maaiveld"] < a["b3_h_dak_50p"] <= a["b3_h_dak_max"]
        assert a["measuredHeight"] == pytest.approx(a["b3_h_dak_max"] - a["b3_h_maaiveld"])
        assert 3 <= a["measuredHeight"] <= 40
        roof_types[a["roofType"]] += 1
        lods = [g["lod"] for g in building["geometry"]]
        if a["roofType"] == "1000":
            assert lods == ["1.2"]
            assert a["b3_dak_type"] in ("horizontal", "multiple horizontal")
            assert a["b3_h_dak_50p"] == a["b3_h_dak_max"]
        else:
            assert a["roofType"] in ("3100", "3200")
            assert lods == ["1.2", "2.2"]
            assert a["b3_dak_type"] == "slanted"
        # the LoD1.2 block stands on the ground level and reaches b3_h_dak_50p
        zs = [feature["vertices"][i][2] for i in _flatten(building["geometry"][0]["boundaries"])]
        assert min(zs) / 1000 == a["b3_h_maaiveld"]
        assert max(zs) / 1000 == a["b3_h_dak_50p"]
        if len(lods) == 2:
            zs = [
                feature["vertices"][i][2] for i in _flatten(building["geometry"][1]["boundaries"])
            ]
            assert max(zs) / 1000 == a["b3_h_dak_max"]
    assert len(ids) == len(set(ids)), "CityObject ids are unique"
    assert roof_types["1000"] > roof_types["3100"] > 0
    assert roof_types["3200"] > 0


def test_building_parts_link_both_ways(city: tuple[dict[str, int], list[dict[str, Any]]]) -> None:
    parts = 0
    for feature in _features(city):
        objects = feature["CityObjects"]
        for bid, building in _objects(feature, "Building"):
            for child in building.get("children", []):
                assert objects[child]["type"] == "BuildingPart"
                assert objects[child]["parents"] == [bid]
        for pid, part in _objects(feature, "BuildingPart"):
            parts += 1
            (parent,) = part["parents"]
            assert parent == feature["id"]
            assert objects[parent]["type"] == "Building"
            assert pid in objects[parent]["children"]
            assert objects[parent]["attributes"]["b3_dak_type"] == "multiple horizontal"
            assert [g["lod"] for g in part["geometry"]] == ["1.2"]
            assert (
                part["attributes"]["b3_h_dak_max"] < objects[parent]["attributes"]["b3_h_dak_max"]
            )
        assert all("parents" not in o for _, o in _objects(feature, "Building"))
    assert parts > 0


def test_roads_trees_and_green(city: tuple[dict[str, int], list[dict[str, Any]]]) -> None:
    kinds: Counter[str] = Counter()
    for feature in _features(city):
        vertices = [tuple(v) for v in feature["vertices"]]
        obj = feature["CityObjects"][feature["id"]]
        kinds[obj["type"]] += 1
        if obj["type"] == "Building":
            continue
        assert list(feature["CityObjects"]) == [feature["id"]], "one object per feature"
        a = obj.get("attributes", {})
        if obj["type"] == "Road":
            assert a["function"] in ROAD_FUNCTIONS
            assert isinstance(a["surfaceMaterial"], str)
            for key in ("trafficIntensity", "speedLimit", "lanes"):
                assert type(a[key]) is int
                assert a[key] >= 0
            (geometry,) = obj["geometry"]
            assert (geometry["type"], geometry["lod"]) == ("MultiSurface", "1")
            surfaces = geometry["semantics"]["surfaces"]
            assert {s["type"] for s in surfaces} == {"TrafficArea"}
            assert len(geometry["semantics"]["values"]) == len(geometry["boundaries"])
        elif obj["type"] == "SolitaryVegetationObject":
            assert isinstance(a["species"], str)
            assert a["species"]
            assert 0 < a["trunkDiameter"] < 2
            assert 0 < a["crownDiameter"] <= a["height"] <= 40
            (geometry,) = obj["geometry"]
            assert (geometry["type"], geometry["lod"]) == ("MultiSurface", "1")
            box = _solid_faces(geometry, vertices)
            _assert_closed(box)
            assert _six_volume(box) > 0
        elif obj["type"] == "PlantCover":
            assert a["class"] == "groenvoorziening"
            assert 0 < a["averageHeight"] < 10
        else:
            raise AssertionError(f"unexpected {obj['type']}")
        if obj["type"] != "SolitaryVegetationObject":  # flat, facing up
            assert len({v[2] for v in vertices}) == 1
            for face in _solid_faces(obj["geometry"][0], vertices):
                assert _newell(face)[2] > 0
    assert kinds["Road"]
    assert kinds["SolitaryVegetationObject"]
    assert kinds["PlantCover"]


def test_footprints_streets_and_parks_do_not_overlap(
    city: tuple[dict[str, int], list[dict[str, Any]]],
) -> None:
    polygons: list[Polygon] = []
    names: list[str] = []
    trunks: list[tuple[str, shapely.Point]] = []
    for feature in _features(city):
        vertices = [tuple(v) for v in feature["vertices"]]
        for oid, obj in feature["CityObjects"].items():
            if obj["type"] == "SolitaryVegetationObject":  # crowns may hang over roofs, trunks not
                xs, ys, _ = zip(*vertices, strict=True)
                trunks.append(
                    (oid, shapely.Point((min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2))
                )
                continue
            geometry = obj["geometry"][0]
            faces = _solid_faces(geometry, vertices)
            if obj["type"] in ("Building", "BuildingPart"):  # the ground, seen from above
                semantics = geometry["semantics"]
                kinds = [semantics["surfaces"][v]["type"] for v in semantics["values"][0]]
                faces = [faces[kinds.index("GroundSurface")][::-1]]
            for face in faces:
                polygons.append(Polygon([p[:2] for p in face]))
                names.append(f"{obj['type']} {oid}")
    assert all(p.is_valid and p.exterior.is_ccw and p.area > 0 for p in polygons)
    index = STRtree(polygons)
    for i, polygon in enumerate(polygons):
        for j in index.query(polygon, predicate="intersects"):
            if j > i:
                overlap = polygon.intersection(polygons[j]).area
                assert overlap == 0, f"{names[i]} overlaps {names[j]} by {overlap} mm2"
    for tree, trunk in trunks:
        hits = [names[j] for j in index.query(trunk, predicate="intersects")]
        assert all(h.startswith("Road ") for h in hits), f"{tree} stands in {hits}"


def test_shape_of_a_larger_city() -> None:
    heights, lod2, parts, lshapes, buildings = [], 0, 0, 0, 0
    for feature in synth.features(3000, seed=2):
        for obj in feature["CityObjects"].values():
            if obj["type"] == "BuildingPart":
                parts += 1
            if obj["type"] != "Building":
                continue
            buildings += 1
            heights.append(obj["attributes"]["measuredHeight"])
            lod2 += len(obj["geometry"]) == 2
            lshapes += len(obj["geometry"][0]["boundaries"][0]) == 2 + 6
    assert buildings == 3000
    assert min(heights) >= 3
    assert max(heights) <= 40
    assert max(heights) >= 25, "a few towers"
    assert sum(h < 12 for h in heights) > 0.6 * buildings, "mostly low-rise"
    assert 0.2 < lod2 / buildings < 0.4
    assert 0.02 < parts / buildings < 0.08
    assert lshapes > 0


def test_progress_reports_add_up(tmp_path: pathlib.Path) -> None:
    calls: list[int] = []
    counts = synth.write_cityjsonseq(tmp_path / "p.jsonl", 2500, seed=3, on_progress=calls.append)
    assert sum(calls) == counts["Building"] == 2500
    assert calls == [1000, 1000, 500]


def test_empty_city_and_bad_input(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "empty.jsonl"
    assert synth.write_cityjsonseq(path, 0) == dict.fromkeys(synth.OBJECT_TYPES, 0)
    assert path.read_bytes().splitlines() == [orjson.dumps(synth.header(1, 0))]
    with pytest.raises(ValueError, match="buildings"):
        synth.features(-1)


def test_generation_streams() -> None:
    """A billion-building city starts at once: nothing is built ahead of what is asked."""
    first = next(synth.features(1_000_000_000, seed=4))
    assert first["CityObjects"][first["id"]]["type"] == "Building"
