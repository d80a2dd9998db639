"""The ``tweeling`` command as a user runs it: a subprocess, real files, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tweeling.storage.db import Database

TWEELING = str(Path(sys.executable).with_name("tweeling"))


def run(
    args: list[str], home: Path, db_url: str | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TWEELING_HOME": str(home), "COLUMNS": "200"}
    env.pop("TWEELING_DATABASE_URL", None)
    if db_url:
        env["TWEELING_DATABASE_URL"] = db_url
    return subprocess.run(
        [TWEELING, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        input=stdin,
        check=False,
    )


def test_ingest_export_scenario_flow(
    db: Database, db_url: str, samples: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    r = run(["init"], home, db_url)
    assert r.returncode == 0, r.stderr
    assert "up to date" in r.stdout  # the fixture already migrated it

    r = run(
        ["ingest", str(samples / "delft.city.json"), "--twin", "delft", "--licence", "MIT"],
        home,
        db_url,
    )
    assert r.returncode == 0, r.stderr
    assert "imported 570 objects" in r.stdout
    assert "160 Building" in r.stdout

    r = run(["twins", "--json"], home, db_url)
    assert json.loads(r.stdout) == [
        {
            "name": "delft",
            "crs": "EPSG:7415",
            "scenarios": ["current"],
            "datasets": 1,
            "objects": 570,
        }
    ]
    r = run(["datasets", "--twin", "delft", "--json"], home, db_url)
    (dataset,) = json.loads(r.stdout)
    assert dataset["licence"] == "MIT"
    assert dataset["counts"]["Building"] == 160
    assert len(dataset["content_hash"]) == 64
    assert dataset["quality"]["buildings"]["attributes"]["identificatiebagpnd"] == 1.0

    r = run(
        ["scenario", "create", "plan", "--twin", "delft", "--kind", "proposed", "--by", "alice"],
        home,
        db_url,
    )
    assert r.returncode == 0, r.stderr
    change = tmp_path / "tower.geojson"
    change.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "id": "tower",
                        "properties": {"type": "Building", "measuredHeight": 60},
                        "geometry": {
                            "type": "Polygon",
                            "coordinates": [
                                [
                                    [4.357, 52.012],
                                    [4.3572, 52.012],
                                    [4.3572, 52.0121],
                                    [4.357, 52.0121],
                                    [4.357, 52.012],
                                ]
                            ],
                        },
                    }
                ],
            }
        )
    )
    r = run(
        [
            "scenario",
            "edit",
            "plan",
            "--twin",
            "delft",
            "--add",
            str(change),
            "--reason",
            "new tower",
            "--by",
            "alice",
        ],
        home,
        db_url,
    )
    assert r.returncode == 0, r.stderr
    assert "1 added" in r.stdout
    r = run(["scenario", "diff", "current", "plan", "--twin", "delft", "--json"], home, db_url)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["added"] == [{"id": "tower", "type": "Building"}]
    r = run(["scenario", "history", "plan", "--twin", "delft"], home, db_url)
    assert "alice" in r.stdout and "new tower" in r.stdout

    for fmt, name in [
        ("cityjson", "o.city.json"),
        ("cityjsonseq", "o.city.jsonl"),
        ("geojson", "o.geojson"),
        ("gpkg", "o.gpkg"),
    ]:
        r = run(
            [
                "export",
                "--twin",
                "delft",
                "--scenario",
                "plan",
                "--format",
                fmt,
                "-o",
                str(tmp_path / name),
            ],
            home,
            db_url,
        )
        assert r.returncode == 0, r.stderr
        assert "wrote 571 city objects" in r.stdout
    doc = json.loads((tmp_path / "o.city.json").read_text())
    assert doc["CityObjects"]["tower"]["attributes"]["measuredHeight"] == 60


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"type": "CityJSON", "version": "2.0", "CityObj', "truncated file"),
        (
            '{"type": "CityJSON", "version": "0.9", "CityObjects": {}, "vertices": []}',
            "unsupported CityJSON version",
        ),
        (
            '{"type": "CityJSON", "version": "2.0", "transform": {"scale": [0.001, 0.001, 0.001], "translate": [0, 0, 0]}, "CityObjects": {"a": {"type": "Building"}}, "vertices": []}',
            "no CRS declared",
        ),
    ],
)
def test_bad_input_exit_code_2_no_traceback(tmp_path: Path, content: str, message: str) -> None:
    home = tmp_path / "home"
    assert run(["init"], home).returncode == 0
    bad = tmp_path / "bad.city.json"
    bad.write_text(content)
    r = run(["ingest", str(bad), "--twin", "t"], home)
    assert r.returncode == 2
    assert message in r.stderr
    assert str(bad) in r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    assert len(r.stderr.strip().splitlines()) == 1
    assert "no twins yet" in run(["twins"], home).stdout


def test_uninitialised_database_is_explained(tmp_path: Path) -> None:
    r = run(["twins"], tmp_path / "empty")
    assert r.returncode == 5
    assert "tweeling init" in r.stderr
    assert "Traceback" not in r.stderr


def test_usage_errors(tmp_path: Path) -> None:
    home = tmp_path / "home"
    run(["init"], home)
    r = run(
        ["export", "--twin", "nope", "--format", "cityjson", "-o", str(tmp_path / "x.json")], home
    )
    assert r.returncode == 3
    assert "no twin named 'nope'" in r.stderr
    r = run(
        ["export", "--twin", "nope", "--format", "shapefile", "-o", str(tmp_path / "x.shp")], home
    )
    assert r.returncode != 0 and "Traceback" not in r.stderr
    r = run(["ingest"], home)
    assert r.returncode == 2 and "Missing argument" in r.stderr


def test_synth_is_reproducible_and_ingestible(tmp_path: Path) -> None:
    home = tmp_path / "home"
    a, b = tmp_path / "a.city.jsonl", tmp_path / "b.city.jsonl"
    assert run(["synth", "--buildings", "300", "-o", str(a), "--seed", "5"], home).returncode == 0
    assert run(["synth", "--buildings", "300", "-o", str(b), "--seed", "5"], home).returncode == 0
    assert a.read_bytes() == b.read_bytes()
    run(["init"], home)
    r = run(["ingest", str(a), "--twin", "synth"], home)
    assert r.returncode == 0, r.stderr
    assert "300 Building" in r.stdout


def test_demo_without_samples_refuses_and_a_synthetic_city_is_explicit(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "TWEELING_HOME": str(home), "TWEELING_SAMPLES": str(tmp_path / "none")}
    r = subprocess.run(
        [TWEELING, "demo", "--no-serve", "--no-store"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600, check=False,
    )  # fmt: skip
    assert r.returncode == 2, r.stdout + r.stderr
    assert "holds no delft.city.json" in r.stderr and "--synthetic 2000" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (home / "tweeling.db").exists()  # refused before anything was written

    r = subprocess.run(
        [TWEELING, "demo", "--no-serve", "--no-store", "--city", "amsterdam"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600, check=False,
    )  # fmt: skip
    assert r.returncode == 2 and "--city 'amsterdam': one of delft, rotterdam" in r.stderr

    r = subprocess.run(
        [TWEELING, "demo", "--no-serve", "--no-store", "--synthetic", "300"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600, check=False,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert "twin synthetic" in r.stdout and "300 Building" in r.stdout
    assert (home / "exports" / "synthetic-tower.city.json").is_file()


def test_demo_loads_another_sample_city(tmp_path: Path) -> None:
    home = tmp_path / "home"
    r = run(["demo", "--no-serve", "--no-store", "--city", "rotterdam"], home)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "twin rotterdam (EPSG:7415)" in r.stdout
    assert (home / "exports" / "rotterdam-tower.gpkg").is_file()


def test_organisations_users_tokens_and_audit(tmp_path: Path) -> None:
    home = tmp_path / "home"
    r = run(["init"], home)
    assert r.returncode == 0, r.stderr
    assert "Marktmeester" in r.stdout
    first_password = r.stdout.strip().splitlines()[-1]
    assert len(first_password) >= 20
    assert (
        "Marktmeester" in run(["init"], home).stdout or "up to date" in run(["init"], home).stdout
    )
    assert run(["org", "create", "Gemeente Delft", "--kind", "municipality"], home).returncode == 0
    r = run(["org", "create", "X", "--kind", "village"], home)
    assert r.returncode == 2 and "unknown organisation kind" in r.stderr
    r = run(
        ["user", "add", "anna@delft.nl", "--org", "Gemeente Delft", "--role", "analyst"],
        home,
        stdin="a very long password\n",
    )
    assert r.returncode == 0, r.stderr
    r = run(
        [
            "token",
            "create",
            "--user",
            "anna@delft.nl",
            "--org",
            "Gemeente Delft",
            "--scope",
            "twin:read",
            "--expires",
            "2h",
        ],
        home,
    )
    assert r.returncode == 0, r.stderr
    token = r.stdout.strip().splitlines()[-1]
    assert token.startswith("twl_")
    r = run(["token", "revoke", "1"], home)
    assert r.returncode == 0
    r = run(["audit", "verify"], home)
    assert r.returncode == 0 and "intact" in r.stdout
    export = tmp_path / "audit.jsonl"
    assert run(["audit", "export", "-o", str(export)], home).returncode == 0
    actions = [json.loads(line)["action"] for line in export.read_text().splitlines()]
    assert actions[:3] == ["organisation.create", "user.create", "membership.add"]
    assert "token.create" in actions and "token.revoke" in actions
    # secrets never appear in the log
    assert token not in export.read_text() and first_password not in export.read_text()
    assert "a very long password" not in export.read_text()
    # tamper with one entry: verify names it and exits 1
    import sqlite3

    with sqlite3.connect(home / "tweeling.db") as conn:
        conn.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 4")
    r = run(["audit", "verify"], home)
    assert r.returncode == 1
    assert "entry 4" in r.stderr


def test_commands_go_through_the_policy_point(tmp_path: Path, samples: Path) -> None:
    """With TWEELING_TOKEN a command acts as that person, with that person's rights."""
    home = tmp_path / "home"
    assert run(["init"], home).returncode == 0
    for org, kind in (("Gemeente Delft", "municipality"), ("Waterschap Delfland", "water_board")):
        assert run(["org", "create", org, "--kind", kind], home).returncode == 0
    assert (
        run(
            ["user", "add", "wim@delfland.nl", "--org", "Waterschap Delfland", "--role", "viewer"],
            home,
            stdin="a very long password\n",
        ).returncode
        == 0
    )
    r = run(
        [
            "ingest",
            str(samples / "3dbag_multi_lod.city.json"),
            "--twin",
            "bag",
            "--crs",
            "EPSG:7415",
            "--org",
            "Gemeente Delft",
        ],
        home,
    )
    assert r.returncode == 0, r.stderr
    wim = (
        run(["token", "create", "--user", "wim@delfland.nl", "--org", "Waterschap Delfland"], home)
        .stdout.strip()
        .splitlines()[-1]
    )

    def as_wim(args: list[str]) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "TWEELING_HOME": str(home), "TWEELING_TOKEN": wim, "COLUMNS": "200"}
        env.pop("TWEELING_DATABASE_URL", None)
        return subprocess.run(
            [TWEELING, *args], capture_output=True, text=True, env=env, timeout=120, check=False
        )

    assert json.loads(as_wim(["twins", "--json"]).stdout) == []
    r = as_wim(
        ["export", "--twin", "bag", "--format", "geojson", "-o", str(tmp_path / "x.geojson")]
    )
    assert r.returncode == 3 and "no twin named 'bag'" in r.stderr
    assert not (tmp_path / "x.geojson").exists()
    r = run(["share", "bag", "--with", "Waterschap Delfland", "--purpose", "flood risk"], home)
    assert r.returncode == 0, r.stderr
    r = as_wim(
        [
            "export",
            "--twin",
            "bag",
            "--format",
            "geojson",
            "-o",
            str(tmp_path / "x.geojson"),
            "--purpose",
            "flood risk",
        ]
    )
    assert r.returncode == 0, r.stderr
    r = as_wim(
        [
            "export",
            "--twin",
            "bag",
            "--format",
            "geojson",
            "-o",
            str(tmp_path / "y.geojson"),
            "--purpose",
            "permit check",
        ]
    )
    assert r.returncode == 7 and "only for flood risk" in r.stderr
    r = as_wim(["scenario", "create", "plan", "--twin", "bag"])
    assert r.returncode == 7  # shared for reading only
    usage = json.loads(run(["usage", "--twin", "bag", "--json"], home).stdout)
    assert [(u["user"], u["organisation"], u["purpose"], u["action"]) for u in usage] == [
        ("wim@delfland.nl", "Waterschap Delfland", "flood risk", "export:geojson")
    ]
    assert run(["audit", "verify"], home).returncode == 0


def test_attribute_indexes_and_3dtiles_export(tmp_path: Path, samples: Path) -> None:
    home = tmp_path / "home"
    assert run(["init"], home).returncode == 0
    r = run(["ingest", str(samples / "delft.city.json"), "--twin", "delft"], home)
    assert r.returncode == 0, r.stderr
    r = run(["index", "add", "measuredHeight"], home)
    assert r.returncode == 0 and "indexed measuredHeight as number" in r.stdout, r.stderr
    r = run(["index", "add", "measuredHeight"], home)
    assert r.returncode == 4 and "already indexed" in r.stderr
    r = run(["index", "add", "bad name!"], home)
    assert r.returncode == 2 and "not an attribute name" in r.stderr
    assert "measuredHeight" in run(["index", "list"], home).stdout
    r = run(["index", "drop", "nothing"], home)
    assert r.returncode == 3 and "not indexed" in r.stderr
    assert run(["index", "drop", "measuredHeight"], home).returncode == 0
    assert "measuredHeight" not in run(["index", "list"], home).stdout
    # a token holder is not the platform operator
    assert run(["org", "create", "Gemeente Delft", "--kind", "municipality"], home).returncode == 0
    r = run(
        ["user", "add", "anna@delft.nl", "--org", "Gemeente Delft", "--role", "admin"],
        home,
        stdin="a very long password\n",
    )
    token = (
        run(["token", "create", "--user", "anna@delft.nl", "--org", "Gemeente Delft"], home)
        .stdout.strip()
        .splitlines()[-1]
    )
    r = subprocess.run(
        [TWEELING, "index", "add", "measuredHeight"],
        capture_output=True,
        text=True,
        env={**os.environ, "TWEELING_HOME": str(home), "TWEELING_TOKEN": token},
        timeout=120,
        check=False,
    )
    assert r.returncode == 7 and "platform operator" in r.stderr
    # 3D Tiles to a directory; a file in the way is refused with exit 2
    out = tmp_path / "tiles"
    r = run(["export", "--twin", "delft", "-f", "3dtiles", "-o", str(out)], home)
    assert r.returncode == 0 and "wrote 570 city objects" in r.stdout, r.stderr
    assert json.loads((out / "tileset.json").read_text())["asset"]["version"] == "1.1"
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = run(["export", "--twin", "delft", "-f", "3dtiles", "-o", str(blocker)], home)
    assert r.returncode == 2 and "is a file" in r.stderr and "Traceback" not in r.stderr
