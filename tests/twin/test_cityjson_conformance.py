"""Import takes every valid CityJSON form and refuses every invalid one, saying why and where.

The fixtures in ``fixtures/cityjson/`` are our own small files, one per class of the
conformance cases of cjval (the validator of the CityJSON authors) and of the rules of the
CityJSON 2.0 specification. The independent oracle is the official 2.0.2 schema run *whole*
by jsonschema-rs (the importer runs it in parts): every valid 2.0 fixture passes it, and
every invalid fixture is marked with whether the schema alone catches it — the ones it
cannot catch are the specification's rules the importer adds (index ranges, scale > 0,
min ≤ max, parents and children, material colours in 0..1, …).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema_rs
import orjson
import pytest
from sqlalchemy import func, select

from tests.conftest import SCHEMAS
from tweeling.errors import InputFileError
from tweeling.storage.db import Database
from tweeling.storage.schema import city_objects, datasets, twins
from tweeling.twin.ingest import ingest

FIXTURES = Path(__file__).parent / "fixtures" / "cityjson"
VALID = FIXTURES / "valid"
INVALID = FIXTURES / "invalid"
CRS = "EPSG:7415"

# file → (format recorded, version recorded, objects imported)
VALID_CASES: dict[str, tuple[str, str, int]] = {
    "minimal.city.json": ("cityjson", "2.0", 1),
    "empty.city.json": ("cityjson", "2.0", 0),
    "metadata.city.json": ("cityjson", "2.0", 1),
    "hierarchy.city.json": ("cityjson", "2.0", 4),
    "semantics.city.json": ("cityjson", "2.0", 4),
    "appearance.city.json": ("cityjson", "2.0", 1),
    "templates.city.json": ("cityjson", "2.0", 2),
    "extension.city.json": ("cityjson", "2.0", 2),
    "lone.city.json": ("cityjsonfeature", "2.0", 2),
    "sequence.city.jsonl": ("cityjsonseq", "2.0", 4),
    "headerless.city.jsonl": ("cityjsonseq", "2.0", 3),
    "v11.city.json": ("cityjson", "1.1", 1),
    "v10.city.json": ("cityjson", "1.0", 1),
}
NOT_2_0 = {"v11.city.json", "v10.city.json"}  # the 2.0 schema is no oracle for these

# file → (what the message says, object named or None, caught by the official schema alone;
#         None: not JSON at all, so no schema can look at it)
INVALID_CASES: dict[str, tuple[str, str | None, bool | None]] = {
    "scale_zero.city.json": ("transform.scale must be greater than 0", None, False),
    "scale_negative.city.json": ("transform.scale must be greater than 0", None, False),
    "transform_missing.city.json": ('"transform" is a required property', None, True),
    "vertex_index_out_of_range.city.json": ("vertex index 8 out of range (0..7)", "house", False),
    "vertex_index_negative.city.json": ("vertex index -1 out of range", "house", False),
    "vertex_index_fraction.city.json": ("5.5 is not of type", "house", True),
    "lod_unknown.city.json": ('geometry[0].lod: "1.5" is not one of', "house", True),
    "lod_number.city.json": ("geometry[0].lod: 2 is not one of", "house", True),
    "semantics_value_out_of_range.city.json": (
        "semantics.values[0][5] is 3: must be null or 0..2",
        "house",
        False,
    ),
    "semantics_values_shape.city.json": (
        "semantics.values[0] has 5 entries where the boundaries have 6",
        "house",
        False,
    ),
    "semantics_parent_out_of_range.city.json": (
        "semantics.surfaces[2].parent 7 is not a surface",
        "house",
        False,
    ),
    "material_index_out_of_range.city.json": (
        "material['paint'][0][0] is 2: must be null or 0..1",
        "house",
        False,
    ),
    "material_value_out_of_range.city.json": (
        "material['plain'].value 5 is not a material",
        "house",
        False,
    ),
    "material_colour_above_one.city.json": (
        "appearance.materials[0].diffuseColor must be numbers between 0.0 and 1.0",
        None,
        False,
    ),
    "texture_index_out_of_range.city.json": ("texture 2 does not exist", "house", False),
    "texture_uv_out_of_range.city.json": ("UV index 4 does not exist", "house", False),
    "texture_ring_length.city.json": ("3 UV indices for a ring of 4 vertices", "house", False),
    "texture_without_uv.city.json": ("textures but no 'vertices-texture'", None, False),
    "texture_without_image.city.json": ("must have an 'image'", None, False),
    "extent_min_above_max.city.json": (
        "metadata.geographicalExtent: minx 85010.0 is greater than maxx 85000.0",
        None,
        False,
    ),
    "object_extent_min_above_max.city.json": (
        "geographicalExtent: minz 5 is greater than maxz 4",
        "house",
        False,
    ),
    "object_extent_five_numbers.city.json": (
        "geographicalExtent: [0,0,0,1,1] has less than 6 items",
        "house",
        True,
    ),
    "type_unknown.city.json": ("unknown city object type 'Skyscraper'", "house", True),
    "type_extension_lowercase.city.json": ("nor an extension type", "house", True),
    "child_missing.city.json": ("child 'annex' is not in the file", "house", False),
    "child_without_parent_link.city.json": (
        "child 'house-porch' does not name it among its 'parents'",
        "house",
        False,
    ),
    "parent_missing.city.json": ("parent 'villa' is not in the file", "house-part", False),
    "children_roles_length.city.json": ("one role per child", "street", False),
    "reference_system_not_url.city.json": ("is not a CRS URL", None, True),
    "reference_date_invalid.city.json": ("metadata.referenceDate must be a date", None, True),
    "reference_date_with_time.city.json": ("metadata.referenceDate must be a date", None, True),
    "version_unknown.city.json": ("unsupported CityJSON version '2.1'", None, True),
    "template_missing.city.json": ("geometry template 2 does not exist", "lamp-1", False),
    "instance_two_points.city.json": ("boundaries: [0,1] has more than 1 item", "lamp-1", True),
    "instance_matrix_short.city.json": (
        "transformationMatrix: [2,0,0,0] has less than 16 items",
        "tree-1",
        True,
    ),
    "feature_with_transform.city.json": ("a CityJSONFeature may not have 'transform'", None, True),
    "feature_id_not_an_object.city.json": ("'id' ('villa') must name one of", None, False),
    "feature_child_elsewhere.city.json": (
        "child 'house-part' is not in the feature",
        "house",
        False,
    ),
    "nan.city.json": ("not a finite number at line 1", None, None),
    "infinity.city.json": ("not a finite number at line 1", None, None),
    "overflow.city.json": ("number out of range at line 1", None, None),
    "sequence_header_with_objects.city.jsonl": ("header has empty 'CityObjects'", None, False),
    "sequence_vertex_out_of_range.city.jsonl": (
        "line 3: vertex index 4 out of range",
        "b-1",
        False,
    ),
    "sequence_lod_unknown.city.jsonl": (
        "line 3: not valid CityJSON 2.0 at geometry[0].lod",
        "a",
        True,
    ),
    "sequence_scale_zero.city.jsonl": (
        "line 1 (the header): transform.scale must be greater than 0",
        None,
        False,
    ),
}


@pytest.fixture(scope="module")
def official() -> tuple[jsonschema_rs.Validator, jsonschema_rs.Validator]:
    """The official schemas, whole: CityJSON documents and CityJSONFeature objects."""
    document = orjson.loads((SCHEMAS / "cityjson.min.schema.json").read_bytes())
    feature = orjson.loads((SCHEMAS / "cityjsonfeature.min.schema.json").read_bytes())
    return jsonschema_rs.validator_for(document), jsonschema_rs.validator_for(feature)


def _schema_accepts(
    path: Path, official: tuple[jsonschema_rs.Validator, jsonschema_rs.Validator]
) -> bool:
    document, feature = official
    if path.name.endswith(".jsonl"):
        items = [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
    else:
        items = [orjson.loads(path.read_bytes())]
    return all(
        (document if item.get("type") == "CityJSON" else feature).is_valid(item) for item in items
    )


def _counts(db: Database) -> dict[str, int]:
    with db.read() as conn:
        return {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (twins, datasets, city_objects)
        }


def test_every_fixture_is_listed() -> None:
    assert {p.name for p in VALID.iterdir()} == set(VALID_CASES)
    assert {p.name for p in INVALID.iterdir()} == set(INVALID_CASES)


@pytest.mark.parametrize("name", sorted(set(VALID_CASES) - NOT_2_0))
def test_valid_fixture_passes_the_official_schema(
    name: str, official: tuple[jsonschema_rs.Validator, jsonschema_rs.Validator]
) -> None:
    assert _schema_accepts(VALID / name, official)


@pytest.mark.parametrize(("name", "expected"), sorted(INVALID_CASES.items()))
def test_the_official_schema_catches_exactly_the_structural_cases(
    name: str,
    expected: tuple[str, str | None, bool | None],
    official: tuple[jsonschema_rs.Validator, jsonschema_rs.Validator],
) -> None:
    """Which invalid cases the schema sees on its own; the others are the added rules."""
    caught = expected[2]
    path = INVALID / name
    if caught is None:
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(path.read_bytes())
        return
    assert _schema_accepts(path, official) is (not caught)


@pytest.mark.parametrize(("name", "expected"), sorted(VALID_CASES.items()))
def test_valid_fixture_imports(db: Database, name: str, expected: tuple[str, str, int]) -> None:
    kind, version, objects = expected
    report = ingest(db, VALID / name, "t", crs=CRS)
    assert (report.format, report.version) == (kind, version)
    with db.read() as conn:
        stored = conn.execute(
            select(func.count())
            .select_from(city_objects)
            .where(city_objects.c.dataset_id == report.dataset_id)
        ).scalar_one()
        fmt = conn.execute(
            select(datasets.c.format).where(datasets.c.id == report.dataset_id)
        ).scalar_one()
    assert stored == objects
    assert fmt == kind


@pytest.mark.parametrize(("name", "expected"), sorted(INVALID_CASES.items()))
def test_invalid_fixture_is_refused_whole(
    db: Database, name: str, expected: tuple[str, str | None, bool | None]
) -> None:
    message, object_id, _ = expected
    path = INVALID / name
    with pytest.raises(InputFileError) as info:
        ingest(db, path, "t", crs=CRS)
    text = str(info.value)
    assert message in text
    assert text.startswith(f"{path}: ")
    assert "\n" not in text and "Traceback" not in text
    if object_id:
        assert f"object {object_id!r}" in text
    assert info.value.exit_code == 2
    assert _counts(db) == {"twins": 0, "datasets": 0, "city_objects": 0}


def test_refused_file_leaves_an_existing_twin_as_it_was(db: Database) -> None:
    """A rejected second import adds no dataset, no object, no edit to a twin with data."""
    ingest(db, VALID / "minimal.city.json", "t", crs=CRS)
    before = _counts(db)
    with pytest.raises(InputFileError):
        ingest(db, INVALID / "semantics_value_out_of_range.city.json", "t", crs=CRS)
    assert _counts(db) == before


def test_lone_feature_vertices_are_coordinates(db: Database) -> None:
    """No transform in a lone CityJSONFeature: its vertices are the coordinates themselves."""
    report = ingest(db, VALID / "lone.city.json", "t", crs=CRS)
    assert any("read as coordinates" in w for w in report.warnings)
    with db.read() as conn:
        box = conn.execute(
            select(
                func.min(city_objects.c.minx),
                func.min(city_objects.c.miny),
                func.max(city_objects.c.maxz),
            ).where(city_objects.c.dataset_id == report.dataset_id)
        ).one()
    assert tuple(box) == (85000.0, 447000.0, 6.0)


def test_lone_feature_needs_a_crs(db: Database) -> None:
    with pytest.raises(InputFileError, match="no CRS declared"):
        ingest(db, VALID / "lone.city.json", "t")
    assert _counts(db)["datasets"] == 0


def test_pretty_printed_lone_feature_named_jsonl(db: Database, tmp_path: Path) -> None:
    """A multi-line feature in a .jsonl file is one document, not a broken sequence."""
    path = tmp_path / "one.city.jsonl"
    path.write_text(json.dumps(json.loads((VALID / "lone.city.json").read_text()), indent=2))
    assert ingest(db, path, "t", crs=CRS).objects == 2


def test_sequence_with_a_long_header_line_named_json(db: Database, tmp_path: Path) -> None:
    """A CityJSONSeq whose first line is longer than the sniffed head is still a sequence."""
    lines = (VALID / "sequence.city.jsonl").read_text().splitlines()
    header = json.loads(lines[0])
    header["metadata"]["title"] = "x" * 10_000
    path = tmp_path / "long.json"
    path.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    report = ingest(db, path, "t")
    assert (report.format, report.objects) == ("cityjsonseq", 4)


def _feature(i: int, semantic_value: int = 0) -> dict[str, Any]:
    return {
        "type": "CityJSONFeature",
        "id": f"b{i}",
        "CityObjects": {
            f"b{i}": {
                "type": "Building",
                "geometry": [
                    {
                        "type": "MultiSurface",
                        "lod": "0",
                        "boundaries": [[[0, 1, 2]]],
                        "semantics": {
                            "surfaces": [{"type": "GroundSurface"}],
                            "values": [semantic_value],
                        },
                    }
                ],
            }
        },
        "vertices": [[i * 2000, 0, 0], [i * 2000 + 1000, 0, 0], [i * 2000, 1000, 0]],
    }


def test_a_rule_broken_deep_in_a_long_sequence(db: Database, tmp_path: Path) -> None:
    """Thousands of single-object features take the vectorised path: it checks them too."""
    header = json.loads((VALID / "sequence.city.jsonl").read_text().splitlines()[0])
    lines = [json.dumps(header)] + [json.dumps(_feature(i)) for i in range(3000)]
    lines.append(json.dumps(_feature(3000, semantic_value=1)))
    path = tmp_path / "long.city.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputFileError) as info:
        ingest(db, path, "t")
    assert f"line {len(lines)}" in str(info.value)
    assert "object 'b3000'" in str(info.value)
    assert "semantics.values[0] is 1: must be null or 0..0" in str(info.value)
    assert _counts(db) == {"twins": 0, "datasets": 0, "city_objects": 0}


TWEELING = str(Path(sys.executable).with_name("tweeling"))


def _cli(args: list[str], home: Path, db_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TWEELING_HOME": str(home), "TWEELING_DATABASE_URL": db_url}
    return subprocess.run(
        [TWEELING, *args], capture_output=True, text=True, env=env, timeout=300, check=False
    )


def test_cli_takes_a_lone_feature_and_refuses_a_bad_file(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    ok = _cli(["ingest", str(VALID / "lone.city.json"), "--twin", "t", "--crs", CRS], home, db_url)
    assert ok.returncode == 0, ok.stderr
    bad = _cli(["ingest", str(INVALID / "scale_zero.city.json"), "--twin", "t"], home, db_url)
    assert bad.returncode == 2
    assert "transform.scale must be greater than 0" in bad.stderr + bad.stdout
    assert "Traceback" not in bad.stderr
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(datasets)).scalar_one() == 1


def _variant(tmp_path: Path, name: str, change: Any) -> Path:
    doc = json.loads((VALID / name).read_text())
    change(doc)
    path = tmp_path / f"variant-{name}"
    path.write_text(json.dumps(doc))
    return path


def test_a_ground_face_of_two_vertices_imports(db: Database, db_url: str, tmp_path: Path) -> None:
    """Schema-valid, but no area: its footprint is left out (it used to kill the process)."""

    def two_vertex_ground(doc: dict[str, Any]) -> None:
        doc["CityObjects"]["house"]["geometry"][0]["boundaries"][0][0] = [[0, 3]]

    path = _variant(tmp_path, "minimal.city.json", two_vertex_ground)
    r = _cli(["ingest", str(path), "--twin", "t"], tmp_path / "home", db_url)  # a crash stays there
    assert r.returncode == 0, r.stderr
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(city_objects)).scalar_one() == 1


def test_crossing_faces_import_without_a_traceback(db: Database, tmp_path: Path) -> None:
    """A face that crosses itself is geometrically invalid, yet readable: kept, not dissolved."""

    def bow_tie(doc: dict[str, Any]) -> None:
        doc["vertices"][2][0] = -1

    report = ingest(db, _variant(tmp_path, "hierarchy.city.json", bow_tie), "t", crs=CRS)
    assert report.objects == 4
