"""Run inputs: only what the manifest declares leaves the database, as GeoParquet, CityJSON
features and triangle arrays, byte-for-byte the same each time; the SDK reads them back."""

from __future__ import annotations

from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest
import shapely
from pyproj import CRS

from tweeling.apps.inputs import prepare_inputs
from tweeling.apps.manifest import parse_manifest
from tweeling.sdk import AppError, Inputs
from tweeling.storage.db import Database
from tweeling.twin import scenarios
from tweeling.twin.model import CityObject
from tweeling.twin.twins import get_scenario, get_twin
from tweeling.twin.views import view_as_of, view_of

MANIFEST = parse_manifest(
    {
        "id": "reader",
        "name": "Reader",
        "version": "1.0.0",
        "publisher": "tests",
        "summary": "reads",
        "use_cases": ["energy"],
        "licence": "MIT",
        "entry_point": "reader:run",
        "inputs": {
            "layers": [
                {
                    "layer": "buildings",
                    "object_types": ["Building"],
                    "attributes": ["measuredHeight"],
                },
                {"layer": "water", "attributes": [], "geometry": False},
            ]
        },
        "outputs": [{"kind": "indicator", "name": "n"}],
    }
)


def _prepare(db: Database, folder: Path, seq: int | None = None):  # type: ignore[no-untyped-def]
    with db.read() as conn:
        twin = get_twin(conn, "delft")
        scenario = get_scenario(conn, twin, "current")
        view = view_of(conn, scenario) if seq is None else view_as_of(conn, scenario, seq)
        return prepare_inputs(conn, twin, view, MANIFEST, folder)


def test_only_declared_layers_types_and_attributes(delft_db: Database, tmp_path: Path) -> None:
    prepared = _prepare(delft_db, tmp_path / "in")
    assert prepared.objects == {"buildings": 160, "water": 3}
    table = pq.read_table(tmp_path / "in" / "buildings.parquet")
    assert table.column_names == ["id", "type", "parent", "measuredHeight", "footprint"]
    assert set(table.column("type").to_pylist()) == {"Building"}
    geo = orjson.loads(table.schema.metadata[b"geo"])
    assert geo["primary_column"] == "footprint"
    assert geo["columns"]["footprint"]["encoding"] == "WKB"
    assert CRS.from_json_dict(geo["columns"]["footprint"]["crs"]).to_epsg() == 7415
    shapes = shapely.from_wkb(table.column("footprint").to_pylist())
    assert all(s.area > 0 for s in shapes)
    lines = (tmp_path / "in" / "buildings.city.jsonl").read_bytes().splitlines()
    features = [orjson.loads(line) for line in lines]
    assert len(features) == 160
    for feature in features:
        (obj,) = feature["CityObjects"].values()
        assert set(obj.get("attributes", {})) <= {"measuredHeight"}
    assert not (tmp_path / "in" / "water.city.jsonl").exists()  # geometry = false
    assert {d["name"] for d in prepared.datasets} == {"delft.city.json"}


def test_the_sdk_reads_what_was_prepared(delft_db: Database, tmp_path: Path) -> None:
    _prepare(delft_db, tmp_path / "in")
    inputs = Inputs(tmp_path / "in")
    buildings = inputs.layer("buildings")
    assert len(buildings) == 160 and inputs.layers == ["buildings", "water"]
    heights = buildings.column("measuredHeight")
    assert all(isinstance(h, float) for h in heights)
    mesh = buildings.mesh()
    assert len(mesh) > 160
    assert mesh.objects.max() < 160 and mesh.objects.min() >= 0
    assert (mesh.areas() > 0).mean() > 0.99
    assert set(mesh.surfaces) - {""} <= {"RoofSurface", "WallSurface", "GroundSurface"}
    with pytest.raises(AppError, match="no attribute 'bgt_status'"):
        buildings.column("bgt_status")
    with pytest.raises(AppError, match="no input layer 'roads'"):
        inputs.layer("roads")
    with pytest.raises(AppError, match="without geometry"):
        inputs.layer("water").mesh()


def test_preparation_is_deterministic(delft_db: Database, tmp_path: Path) -> None:
    one = _prepare(delft_db, tmp_path / "a")
    two = _prepare(delft_db, tmp_path / "b")
    assert one.files == two.files
    assert one.content_hash == two.content_hash


def test_a_past_state_is_prepared_as_it_was(delft_db: Database, tmp_path: Path) -> None:
    before = _prepare(delft_db, tmp_path / "before")
    with delft_db.read() as conn:
        seq = get_twin(conn, "delft").last_seq
    oid = before.ids["buildings"][0]
    scenarios.edit(
        delft_db,
        "delft",
        "current",
        scenarios.Changes(
            modify=[CityObject(id=oid, type="Building", attributes={"measuredHeight": 99.5})]
        ),
        reason="test",
    )
    now = _prepare(delft_db, tmp_path / "now")
    assert now.content_hash != before.content_hash
    then = _prepare(delft_db, tmp_path / "then", seq)
    assert then.content_hash == before.content_hash
    assert now.edited_objects == 0  # the edited building still counts for its dataset
