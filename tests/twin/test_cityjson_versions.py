"""CityJSON 1.0 (real coordinates, numeric LoDs) and geometry templates survive a round trip."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema_rs

from tests.cityjson_util import load
from tests.conftest import SCHEMAS
from tweeling.storage.db import Database
from tweeling.twin.export import export
from tweeling.twin.ingest import ingest

TREE_TEMPLATE = {
    "type": "MultiSurface",
    "lod": 2,
    "boundaries": [[[0, 1, 2]], [[0, 2, 3]], [[0, 3, 1]], [[1, 3, 2]]],
}


def _v10_city() -> dict[str, object]:
    """A CityJSON 1.0 file as 1.0 wrote them: no transform, float vertices, numeric LoD."""
    return {
        "type": "CityJSON",
        "version": "1.0",
        "metadata": {"referenceSystem": "urn:ogc:def:crs:EPSG::7415"},
        "CityObjects": {
            "house": {
                "type": "Building",
                "attributes": {"measuredHeight": 6.5, "roofType": "flat"},
                "geometry": [
                    {
                        "type": "Solid",
                        "lod": 1,
                        "boundaries": [
                            [
                                [[0, 3, 2, 1]],
                                [[4, 5, 6, 7]],
                                [[0, 1, 5, 4]],
                                [[1, 2, 6, 5]],
                                [[2, 3, 7, 6]],
                                [[3, 0, 4, 7]],
                            ]
                        ],
                        "semantics": {
                            "surfaces": [
                                {"type": "GroundSurface"},
                                {"type": "RoofSurface"},
                                {"type": "WallSurface"},
                            ],
                            "values": [[0, 1, 2, 2, 2, 2]],
                        },
                    }
                ],
            },
            "tree-1": {
                "type": "SolitaryVegetationObject",
                "attributes": {"species": "Tilia"},
                "geometry": [
                    {
                        "type": "GeometryInstance",
                        "template": 0,
                        "boundaries": [8],
                        "transformationMatrix": [2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1],
                    }
                ],
            },
            "tree-2": {
                "type": "SolitaryVegetationObject",
                "geometry": [
                    {
                        "type": "GeometryInstance",
                        "template": 0,
                        "boundaries": [9],
                        "transformationMatrix": [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1],
                    }
                ],
            },
        },
        "geometry-templates": {
            "templates": [TREE_TEMPLATE],
            "vertices-templates": [
                [0.0, 0.0, 0.0],
                [1.0, 0.0, 0.0],
                [0.0, 1.0, 0.0],
                [0.0, 0.0, 3.0],
            ],
        },
        "vertices": [
            [85000.0, 447000.0, 0.0],
            [85010.0, 447000.0, 0.0],
            [85010.0, 447010.0, 0.0],
            [85000.0, 447010.0, 0.0],
            [85000.0, 447000.0, 6.5],
            [85010.0, 447000.0, 6.5],
            [85010.0, 447010.0, 6.5],
            [85000.0, 447010.0, 6.5],
            [85020.5, 447005.25, 0.0],
            [85030.0, 447005.0, 0.1],
        ],
    }


def test_v10_with_templates_round_trip(db: Database, tmp_path: Path) -> None:
    source = tmp_path / "v10.city.json"
    source.write_text(json.dumps(_v10_city()))
    report = ingest(db, source, "t")
    assert report.version == "1.0"
    assert report.counts == {"Building": 1, "SolitaryVegetationObject": 2}

    out = tmp_path / "out.city.json"
    export(db, "t", "cityjson", out)
    doc = json.loads(out.read_text())
    schema = json.loads((SCHEMAS / "cityjson.min.schema.json").read_text())
    assert list(jsonschema_rs.validator_for(schema).iter_errors(doc)) == []
    assert doc["version"] == "2.0"
    # the template is written once and both trees point at it
    assert len(doc["geometry-templates"]["templates"]) == 1
    assert {
        o["geometry"][0]["template"] for k, o in doc["CityObjects"].items() if k.startswith("tree")
    } == {0}
    assert doc["CityObjects"]["house"]["geometry"][0]["lod"] == "1"
    assert load(out) == load(source)

    seq = tmp_path / "out.city.jsonl"
    export(db, "t", "cityjsonseq", seq)
    header = json.loads(seq.read_text().splitlines()[0])
    assert len(header["geometry-templates"]["templates"]) == 1
    assert ingest(db, seq, "again").content_hash == report.content_hash


def test_template_instance_has_a_placed_box(db: Database, tmp_path: Path) -> None:
    """A tree's box covers its template, scaled and placed, not just its reference point."""
    from tweeling.twin.twins import get_scenario, get_twin
    from tweeling.twin.views import in_bbox, view_of

    source = tmp_path / "v10.city.json"
    source.write_text(json.dumps(_v10_city()))
    ingest(db, source, "t")
    with db.read() as conn:
        view = view_of(conn, get_scenario(conn, get_twin(conn, "t"), "current"))
        everything = in_bbox(conn, view, db.backend.bbox_source("o"), (4.0, 51.0, 5.0, 53.0))
        assert {o.object_id for o in everything} == {"house", "tree-1", "tree-2"}
        row = conn.exec_driver_sql(
            "SELECT minx, maxx, minz, maxz FROM city_objects WHERE object_id = 'tree-1'"
        ).one()
    assert row[0] == 85020.5 and row[1] == 85022.5  # template x 0..1, scaled 2×
    assert row[2] == 0.0 and row[3] == 6.0  # template z 0..3, scaled 2×
