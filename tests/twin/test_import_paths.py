"""The fast, general and parallel import paths store exactly the same thing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tweeling.errors import InputFileError
from tweeling.storage.db import Database
from tweeling.twin.ingest import ingest
from tweeling.twin.synth import write_cityjsonseq


def _shuffled_vertices(src: Path, dst: Path) -> None:
    """The same city with every feature's vertex list reversed (indices rewritten to match):
    equal content, different bytes, and none of it fits the vectorised fast path."""
    out = []
    for n, line in enumerate(src.read_text().splitlines()):
        doc = json.loads(line)
        if n:
            count = len(doc["vertices"])
            doc["vertices"] = doc["vertices"][::-1]

            def flip(b: object, count: int = count) -> object:
                return count - 1 - b if isinstance(b, int) else [flip(x) for x in b]  # type: ignore[union-attr]

            for obj in doc["CityObjects"].values():
                for geom in obj.get("geometry", []):
                    geom["boundaries"] = flip(geom["boundaries"])
        out.append(json.dumps(doc))
    dst.write_text("\n".join(out) + "\n")


def test_fast_general_and_parallel_paths_agree(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    city = tmp_path / "city.city.jsonl"
    write_cityjsonseq(city, 1500, seed=3)
    shuffled = tmp_path / "shuffled.city.jsonl"
    _shuffled_vertices(city, shuffled)

    monkeypatch.setenv("TWEELING_IMPORT_WORKERS", "0")
    serial = ingest(db, city, "serial")
    general = ingest(db, shuffled, "general")
    monkeypatch.setenv("TWEELING_IMPORT_WORKERS", "2")
    parallel = ingest(db, city, "parallel")

    assert serial.counts["Building"] == 1500
    assert serial.counts == general.counts == parallel.counts
    assert serial.content_hash == general.content_hash == parallel.content_hash


def test_error_in_a_worker_is_reported_with_its_line(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    city = tmp_path / "city.city.jsonl"
    write_cityjsonseq(city, 3000, seed=4)
    lines = city.read_text().splitlines()
    bad_line = 2500
    doc = json.loads(lines[bad_line - 1])
    oid = next(iter(doc["CityObjects"]))
    doc["CityObjects"][oid]["geometry"][0]["boundaries"][0][0][0][0] = 10**6
    lines[bad_line - 1] = json.dumps(doc)
    city.write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("TWEELING_IMPORT_WORKERS", "2")
    with pytest.raises(InputFileError) as info:
        ingest(db, city, "t")
    assert f"line {bad_line}" in str(info.value)
    assert f"object {oid!r}" in str(info.value)
    assert "out of range" in str(info.value)


def test_duplicate_id_within_one_file(db: Database, tmp_path: Path) -> None:
    city = tmp_path / "city.city.jsonl"
    write_cityjsonseq(city, 50, seed=5)
    lines = city.read_text().splitlines()
    city.write_text("\n".join([*lines, lines[1]]) + "\n")
    with pytest.raises(InputFileError, match="occurs more than once"):
        ingest(db, city, "t")
