"""Bad input: a one-line message naming file, object and problem — and nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tweeling.errors import InputFileError, InvalidInput
from tweeling.storage.db import Database
from tweeling.storage.schema import city_objects, datasets, twins
from tweeling.twin.ingest import ingest


def _minimal(**changes: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "type": "CityJSON",
        "version": "2.0",
        "transform": {"scale": [0.001, 0.001, 0.001], "translate": [85000, 447000, 0]},
        "metadata": {"referenceSystem": "https://www.opengis.net/def/crs/EPSG/0/7415"},
        "CityObjects": {
            "b1": {
                "type": "Building",
                "attributes": {"measuredHeight": 3.0},
                "geometry": [{"type": "MultiSurface", "lod": "0", "boundaries": [[[0, 1, 2, 3]]]}],
            },
            "b2": {"type": "Building", "attributes": {"name": "two"}},
        },
        "vertices": [[0, 0, 0], [10000, 0, 0], [10000, 10000, 0], [0, 10000, 0]],
    }
    doc.update(changes)
    return doc


def _write(tmp_path: Path, doc: object, name: str = "bad.city.json") -> Path:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def _nothing_written(db: Database) -> None:
    with db.read() as conn:
        for table in (twins, datasets, city_objects):
            assert conn.execute(select(func.count()).select_from(table)).scalar_one() == 0


def _objects(doc: dict[str, object]) -> dict[str, dict[str, object]]:
    return doc["CityObjects"]  # type: ignore[return-value]


def test_minimal_file_is_fine(db: Database, tmp_path: Path) -> None:
    report = ingest(db, _write(tmp_path, _minimal()), "t")
    assert report.objects == 2


@pytest.mark.parametrize(
    ("make", "message", "object_id"),
    [
        (lambda d: json.dumps(d)[:-40], "truncated file", None),
        (
            lambda d: "{" + json.dumps(d)[1:].replace('"type": "CityJSON",', '"type": CityJSON,'),
            "invalid JSON",
            None,
        ),
        (lambda d: {**d, "version": "3.0"}, "unsupported CityJSON version '3.0'", None),
        (lambda d: {**d, "type": "FeatureCollectionX"}, "is not CityJSON", None),
        (lambda d: _drop_type(d), "missing 'type'", "b2"),
        (
            lambda d: _set(d, "b2", "type", "Skyscraper"),
            "unknown city object type 'Skyscraper'",
            "b2",
        ),
        (lambda d: {**d, "vertices": d["vertices"][:3]}, "vertex index 3 out of range", "b1"),
        (lambda d: _set_boundary(d, -1), "vertex index -1 out of range", "b1"),
        (lambda d: {**d, "metadata": {}}, "no CRS declared", None),
        (lambda d: {**d, "metadata": {"referenceSystem": "EPSG:999999"}}, "unknown CRS", None),
    ],
    ids=[
        "truncated",
        "invalid-json",
        "version",
        "not-cityjson",
        "missing-type",
        "unknown-type",
        "vertex-out-of-range",
        "negative-vertex",
        "missing-crs",
        "unknown-crs",
    ],
)
def test_bad_cityjson(
    db: Database, tmp_path: Path, make, message: str, object_id: str | None
) -> None:
    path = _write(tmp_path, make(_minimal()))
    with pytest.raises(InputFileError) as info:
        ingest(db, path, "t")
    text = str(info.value)
    assert message in text
    assert str(path) in text
    assert "\n" not in text
    if object_id:
        assert f"object {object_id!r}" in text
    assert info.value.exit_code == 2
    _nothing_written(db)


def _drop_type(doc: dict[str, object]) -> dict[str, object]:
    del _objects(doc)["b2"]["type"]
    return doc


def _set(doc: dict[str, object], oid: str, key: str, value: object) -> dict[str, object]:
    _objects(doc)[oid][key] = value
    return doc


def _set_boundary(doc: dict[str, object], index: int) -> dict[str, object]:
    _objects(doc)["b1"]["geometry"][0]["boundaries"] = [[[0, 1, index]]]  # type: ignore[index]
    return doc


def test_bad_feature_in_sequence_rolls_back_earlier_batches(db: Database, tmp_path: Path) -> None:
    """A bad object after thousands of good ones: the import fails whole."""
    header = {k: v for k, v in _minimal().items() if k != "CityObjects"}
    header.update({"CityObjects": {}, "vertices": []})
    lines = [json.dumps(header)]
    for i in range(4500):
        lines.append(
            json.dumps(
                {
                    "type": "CityJSONFeature",
                    "id": f"b{i}",
                    "CityObjects": {
                        f"b{i}": {
                            "type": "Building",
                            "geometry": [
                                {"type": "MultiSurface", "lod": "0", "boundaries": [[[0, 1, 2]]]}
                            ],
                        }
                    },
                    "vertices": [[0, 0, 0], [1000, 0, 0], [0, 1000, 0]],
                }
            )
        )
    lines.append(
        json.dumps(
            {
                "type": "CityJSONFeature",
                "id": "x",
                "CityObjects": {
                    "x": {
                        "type": "Building",
                        "geometry": [
                            {"type": "MultiSurface", "lod": "0", "boundaries": [[[0, 1, 7]]]}
                        ],
                    }
                },
                "vertices": [[0, 0, 0], [1000, 0, 0], [0, 1000, 0]],
            }
        )
    )
    path = _write(tmp_path, "\n".join(lines) + "\n", "city.city.jsonl")
    with pytest.raises(InputFileError) as info:
        ingest(db, path, "t")
    assert f"line {len(lines)}" in str(info.value)
    assert "object 'x'" in str(info.value)
    _nothing_written(db)


def test_truncated_sequence(db: Database, tmp_path: Path) -> None:
    header = {k: v for k, v in _minimal().items() if k != "CityObjects"}
    header.update({"CityObjects": {}, "vertices": []})
    feature = json.dumps(
        {
            "type": "CityJSONFeature",
            "id": "a",
            "CityObjects": {"a": {"type": "Building"}},
            "vertices": [],
        }
    )
    path = _write(
        tmp_path, json.dumps(header) + "\n" + feature + "\n" + feature[:30], "c.city.jsonl"
    )
    with pytest.raises(InputFileError, match="line 3: truncated file"):
        ingest(db, path, "t")
    _nothing_written(db)


def test_duplicate_id_in_twin(db: Database, tmp_path: Path) -> None:
    path = _write(tmp_path, _minimal())
    ingest(db, path, "t")
    with pytest.raises(InputFileError, match="object id 'b1' already exists in twin 't'"):
        ingest(db, path, "t")
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(datasets)).scalar_one() == 1


def test_file_crs_conflicts_with_option(db: Database, tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="declares EPSG:7415 but --crs says EPSG:2056"):
        ingest(db, _write(tmp_path, _minimal()), "t", crs="EPSG:2056")


def test_missing_and_empty_files(db: Database, tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="file not found"):
        ingest(db, tmp_path / "nope.city.json", "t")
    empty = tmp_path / "empty.city.json"
    empty.write_text("")
    with pytest.raises(InputFileError, match="file is empty"):
        ingest(db, empty, "t")
    _nothing_written(db)


def test_bad_twin_name(db: Database, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="invalid twin name"):
        ingest(db, _write(tmp_path, _minimal()), "no spaces please")
    _nothing_written(db)
