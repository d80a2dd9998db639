"""Every sample goes in and comes out as CityJSON 2.0 and CityJSONSeq with nothing lost,
valid against the official schemas and readable by cjio."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import jsonschema_rs
import pytest

from tests.cityjson_util import load
from tests.conftest import SAMPLE_FILES, SCHEMAS
from tweeling.storage.db import Database
from tweeling.twin.export import export
from tweeling.twin.ingest import ingest


@pytest.fixture(scope="module")
def validators() -> tuple[jsonschema_rs.Validator, jsonschema_rs.Validator]:
    city = json.loads((SCHEMAS / "cityjson.min.schema.json").read_text())
    feature = json.loads((SCHEMAS / "cityjsonfeature.min.schema.json").read_text())
    return jsonschema_rs.validator_for(city), jsonschema_rs.validator_for(feature)


def _schema_errors(validator: jsonschema_rs.Validator, doc: object) -> list[str]:
    return [str(e)[:300] for e in validator.iter_errors(doc)][:5]


@pytest.mark.parametrize(("name", "crs"), SAMPLE_FILES)
def test_sample_round_trip(
    db: Database, samples: Path, tmp_path: Path, name: str, crs: str | None, validators
) -> None:
    source = samples / name
    report = ingest(db, source, "t", crs=crs)
    original = load(source)
    assert report.objects == len(original)
    assert report.counts == dict(sorted(Counter(o["type"] for o in original.values()).items()))

    out = tmp_path / "out.city.json"
    assert export(db, "t", "cityjson", out) == len(original)
    doc = json.loads(out.read_text())
    assert doc["version"] == "2.0"
    assert _schema_errors(validators[0], doc) == []
    assert load(out) == original

    seq = tmp_path / "out.city.jsonl"
    assert export(db, "t", "cityjsonseq", seq) == len(original)
    lines = [json.loads(line) for line in seq.read_text().splitlines()]
    assert _schema_errors(validators[0], lines[0]) == []
    for feature in lines[1:]:
        assert _schema_errors(validators[1], feature) == []
    # every object appears exactly once, children inside their parent's feature
    ids = [oid for f in lines[1:] for oid in f["CityObjects"]]
    assert sorted(ids) == sorted(original)
    for f in lines[1:]:
        top = f["CityObjects"][f["id"]]
        assert not top.get("parents")
        assert set(top.get("children", [])) <= set(f["CityObjects"])
    assert load(seq) == original


@pytest.mark.parametrize(("name", "crs"), SAMPLE_FILES)
def test_same_content_same_hash_across_formats(
    db: Database, samples: Path, tmp_path: Path, name: str, crs: str | None
) -> None:
    first = ingest(db, samples / name, "a", crs=crs)
    seq = tmp_path / "again.city.jsonl"
    export(db, "a", "cityjsonseq", seq)
    again = ingest(db, seq, "b")
    assert again.content_hash == first.content_hash
    plain = tmp_path / "again.city.json"
    export(db, "b", "cityjson", plain)
    assert ingest(db, plain, "c").content_hash == first.content_hash


def test_changed_content_changes_hash(db: Database, samples: Path, tmp_path: Path) -> None:
    doc = json.loads((samples / "3dbag_multi_lod.city.json").read_text())
    first = ingest(db, samples / "3dbag_multi_lod.city.json", "a", crs="EPSG:7415")
    oid = next(iter(doc["CityObjects"]))
    doc["CityObjects"][oid].setdefault("attributes", {})["note"] = "changed"
    changed = tmp_path / "changed.city.json"
    changed.write_text(json.dumps(doc))
    assert ingest(db, changed, "b", crs="EPSG:7415").content_hash != first.content_hash


def test_cjio_reads_export(db: Database, samples: Path, tmp_path: Path) -> None:
    """cjio (TU Delft's CityJSON tool) loads our export and counts what we wrote."""
    ingest(db, samples / "denhaag_buildingparts.city.json", "t", crs="EPSG:7415")
    out = tmp_path / "dh.city.json"
    export(db, "t", "cityjson", out)
    cjio = Path(sys.executable).with_name("cjio")
    result = subprocess.run(
        [str(cjio), str(out), "info"], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "version" in result.stdout.lower()
    assert "BuildingPart" in result.stdout and "Building" in result.stdout
