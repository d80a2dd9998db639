"""GeoJSON (CRS84) and GeoPackage out and back in; GDAL's ogrinfo reads our GeoPackage."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pyogrio
import pytest
import shapely

from tweeling.errors import InputFileError
from tweeling.storage.db import Database
from tweeling.twin.export import export
from tweeling.twin.ingest import ingest
from tweeling.twin.twins import get_scenario, get_twin
from tweeling.twin.views import iter_objects, view_of


def test_geojson_export_is_crs84_and_reimports(db: Database, samples: Path, tmp_path: Path) -> None:
    ingest(db, samples / "delft.city.json", "delft")
    out = tmp_path / "delft.geojson"
    assert export(db, "delft", "geojson", out) == 570
    doc = json.loads(out.read_text())
    assert doc["type"] == "FeatureCollection"
    assert len(doc["features"]) == 570
    for feature in doc["features"]:
        lon, lat = shapely.geometry.shape(feature["geometry"]).representative_point().coords[0]
        assert 4.34 < lon < 4.37 and 51.99 < lat < 52.02  # the centre of Delft
    buildings = [f for f in doc["features"] if f["properties"]["cityjson_type"] == "Building"]
    assert len(buildings) == 160
    assert all(f["geometry"]["type"] == "MultiPolygon" for f in buildings)

    report = ingest(db, out, "again", twin_crs="EPSG:7415")
    assert report.crs == "OGC:CRS84"
    assert report.objects == 570
    assert report.counts["Building"] == 160
    # back in RD New the footprints sit where they were, within a millimetre or so
    with db.read() as conn:
        first = {o.object_id: o for o in iter_objects(conn, _view(conn, "delft"))}
        second = {o.object_id: o for o in iter_objects(conn, _view(conn, "again"))}
    assert set(first) == set(second)
    oid = next(i for i, o in first.items() if o.object_type == "Building")
    a = shapely.MultiPoint([v[:2] for v in first[oid].to_city_object().vertices]).envelope
    b = shapely.MultiPoint([v[:2] for v in second[oid].to_city_object().vertices]).envelope
    assert shapely.hausdorff_distance(a, b) < 0.01
    # a building with a height gets an LoD1 block
    lods = [g["lod"] for g in second[oid].to_city_object().geometry]
    assert lods[0] == "0"


def _view(conn, twin: str):  # type: ignore[no-untyped-def]
    return view_of(conn, get_scenario(conn, get_twin(conn, twin), "current"))


def test_geojson_into_new_twin_needs_projected_crs(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "trees.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "id": "t1",
                        "properties": {"type": "SolitaryVegetationObject"},
                        "geometry": {"type": "Point", "coordinates": [4.36, 52.01]},
                    }
                ],
            }
        )
    )
    with pytest.raises(InputFileError, match="--twin-crs"):
        ingest(db, path, "trees")
    report = ingest(db, path, "trees", twin_crs="EPSG:28992")
    assert report.counts == {"SolitaryVegetationObject": 1}


def test_gpkg_export_reimport(db: Database, samples: Path, tmp_path: Path) -> None:
    ingest(db, samples / "delft.city.json", "delft")
    out = tmp_path / "delft.gpkg"
    assert export(db, "delft", "gpkg", out) == 570
    layers = {str(name) for name, _ in pyogrio.list_layers(out)}
    assert {"buildings", "roads", "vegetation", "landuse", "water", "bridges", "other"} <= layers
    report = ingest(db, out, "from-gpkg")
    assert report.crs == "EPSG:28992"
    assert report.objects == 570
    assert report.counts["Building"] == 160
    assert report.counts["Road"] == 143


def test_ogrinfo_reads_gpkg(db: Database, samples: Path, tmp_path: Path) -> None:
    ogrinfo = shutil.which("ogrinfo")
    if ogrinfo is None:
        pytest.skip(
            "GDAL's ogrinfo is not installed (Debian package gdal-bin; `make test` installs it as root)"
        )
    ingest(db, samples / "delft.city.json", "delft")
    out = tmp_path / "delft.gpkg"
    export(db, "delft", "gpkg", out)
    result = subprocess.run(
        [ogrinfo, "-so", "-al", str(out)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "Layer name: buildings" in result.stdout
    assert "Feature Count: 160" in result.stdout
    assert "Amersfoort / RD New" in result.stdout
    assert "identificatiebagpnd" in result.stdout


def test_bad_geojson(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "bad.geojson"
    path.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "id": "x", '
        '"properties": {}, "geometry": {"type": "Polygon", "coordinates": [[[0, 0]]]}}]}'
    )
    with pytest.raises(InputFileError, match="object 'x': bad geometry"):
        ingest(db, path, "t", twin_crs="EPSG:28992")
