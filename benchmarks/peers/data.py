"""The benchmark's data, built once and cached under benchmarks/out/peers.

Every server gets the same buildings. A synthetic city (``tweeling synth``) and the Delft
sample are loaded into Tweeling, on SQLite and on PostGIS, with its command line. Tweeling's
own GeoJSON export (CRS84) of the buildings layer is loaded with ogr2ogr into PostGIS tables
for pygeoapi, with a primary key on the id, a GiST index on the geometry and an index on the
attribute the CQL2 case filters on.

A load counts as done only when its marker says so (a file for SQLite, the database's comment
for PostgreSQL); anything half-built is wiped and built again.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy.engine import URL, make_url

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "benchmarks" / "out"
CACHE = OUT / "peers"
BIN = Path(sys.executable).parent
FILTER_ATTRIBUTE = "b3_h_dak_max"  # roof height (m): every synthetic building and part has it
LOAD_VERSION = 1  # bump when what is loaded changes, to rebuild the caches


def delft_file() -> Path:
    shipped = ROOT / "src" / "tweeling" / "samples" / "cities"
    for candidate in (os.environ.get("TWEELING_SAMPLES"), shipped):
        if candidate and (Path(candidate) / "delft.city.json").exists():
            return Path(candidate) / "delft.city.json"
    raise SystemExit("delft.city.json not found: set TWEELING_SAMPLES to the folder holding it")


def sh(args: list[str | Path], env: dict[str, str] | None = None) -> str:
    """Run a command; on failure stop with the end of what it said."""
    proc = subprocess.run(
        [str(a) for a in args], env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode:
        said = (proc.stdout + proc.stderr)[-3000:]
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(map(str, args))}\n{said}")
    return proc.stdout


def step(what: str) -> float:
    print(f"  {what} …", flush=True)
    return time.perf_counter()


def done(start: float) -> None:
    print(f"    done in {time.perf_counter() - start:.0f} s", flush=True)


# --- PostgreSQL -------------------------------------------------------------------------


@dataclass(frozen=True)
class Postgres:
    """A PostgreSQL + PostGIS server on which the benchmark makes its own databases."""

    url: URL

    def db_url(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def ogr(self, name: str) -> str:
        u = self.url
        parts = [f"host={u.host}", f"port={u.port or 5432}", f"dbname={name}"]
        parts += [f"user={u.username}"] if u.username else []
        parts += [f"password={u.password}"] if u.password else []
        return "PG:" + " ".join(parts)

    def connect(self, name: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(self.db_url(name), autocommit=True)

    def marker(self, name: str) -> str | None:
        with self.connect() as conn:
            row = conn.execute(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                (name,),
            ).fetchone()
        return row[0] if row else None

    def mark(self, name: str, text: str) -> None:
        with self.connect() as conn:
            conn.execute(f"COMMENT ON DATABASE {name} IS '{text}'")

    def recreate(self, name: str) -> None:
        with self.connect() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name}")
        with self.connect(name) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")


def postgres() -> Postgres:
    """TWEELING_BENCH_PG_URL when set; else the local test server of scripts/pg-test-server.sh."""
    base = os.environ.get("TWEELING_BENCH_PG_URL")
    if not base:
        print("starting PostgreSQL + PostGIS (scripts/pg-test-server.sh) …", flush=True)
        base = sh(["bash", ROOT / "scripts" / "pg-test-server.sh"]).strip().splitlines()[-1]
    return Postgres(make_url(base).set(drivername="postgresql"))


# --- Tweeling -------------------------------------------------------------------------------


def synth(buildings: int) -> Path:
    """The synthetic city (seed 1), shared with benchmarks/run.py's cache."""
    path = OUT / f"city-{buildings}.city.jsonl"
    if not path.exists():
        start = step(f"generating a synthetic city of {buildings:,} buildings")
        tmp = OUT / f"city-{buildings}.partial.city.jsonl"
        sh([BIN / "tweeling", "synth", "--buildings", buildings, "-o", tmp, "--seed", 1])
        tmp.rename(path)
        done(start)
    return path


def tweeling_env(home: Path, database_url: str | None = None) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("TWEELING_DATABASE_URL", "TWEELING_TOKEN")
    }
    env["TWEELING_HOME"] = str(home)
    if database_url:
        env["TWEELING_DATABASE_URL"] = database_url
    return env


def tweeling(args: list[str | Path], env: dict[str, str]) -> str:
    return sh([BIN / "tweeling", *args], env)


def load_twins(env: dict[str, str], city: Path, label: str) -> None:
    """Twins ``city`` and ``delft``, both public so anonymous requests see them."""
    tweeling(["init"], env)
    for twin, path in (("city", city), ("delft", delft_file())):
        start = step(f"ingesting {path.name} into Tweeling on {label} as twin {twin!r}")
        tweeling(["ingest", path, "--twin", twin], env)
        tweeling(["share", twin, "--public"], env)
        done(start)


def tweeling_sqlite(city: Path, buildings: int) -> dict[str, str]:
    """Environment of a Tweeling home whose SQLite database holds the city and Delft."""
    home = CACHE / f"tweeling-sqlite-{buildings}"
    env = tweeling_env(home)
    marker, expected = home / "loaded", f"v{LOAD_VERSION} {city.name}"
    if marker.exists() and marker.read_text() == expected:
        tweeling(["init"], env)  # upgrades the schema if Tweeling has moved on
        return env
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    load_twins(env, city, "SQLite")
    marker.write_text(expected)
    return env


def tweeling_postgis(pg: Postgres, city: Path, buildings: int) -> dict[str, str]:
    """Environment of a Tweeling over its own PostGIS database with the city and Delft."""
    db = f"ogcpeers_tweeling_{buildings}"
    home = CACHE / f"tweeling-postgis-{buildings}"
    env = tweeling_env(home, pg.db_url(db))
    expected = f"v{LOAD_VERSION} {city.name}"
    if pg.marker(db) == expected and home.exists():
        tweeling(["init"], env)
        return env
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    pg.recreate(db)
    load_twins(env, city, "PostGIS")
    pg.mark(db, expected)
    return env


def exported(env: dict[str, str], twin: str, path: Path) -> Path:
    """Tweeling's GeoJSON (CRS84) export of a twin, cached."""
    if not path.exists():
        start = step(f"exporting twin {twin!r} as GeoJSON")
        tmp = path.with_name(f"{path.stem}.partial.geojson")
        tweeling(["export", "--twin", twin, "-f", "geojson", "-o", tmp], env)
        tmp.rename(path)
        done(start)
    return path


# --- pygeoapi's tables ------------------------------------------------------------------------


def load_table(pg: Postgres, db: str, source: Path, table: str, indexed: list[str]) -> None:
    """The buildings layer of a GeoJSON export as ``table``: same ids, same attributes (columns
    of other layers dropped), primary key on id, GiST on geom, B-tree on ``indexed``."""
    start = step(f"loading {source.name} into PostGIS table {table} for pygeoapi (ogr2ogr)")
    options = shlex.split(
        f"-nln {table} -where \"layer = 'buildings'\" -nlt MULTIPOLYGON -a_srs EPSG:4326 "
        "-lco GEOMETRY_NAME=geom -lco LAUNDER=NO -lco SPATIAL_INDEX=NONE -lco FID=ogc_fid "
        "-gt 65536 --config PG_USE_COPY YES"
    )
    sh(["ogr2ogr", "-f", "PostgreSQL", pg.ogr(db), source, *options])
    with pg.connect(db) as conn:
        columns = [
            name
            for (name,) in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                "AND column_name NOT IN ('id', 'geom', 'ogc_fid', 'layer')",
                (table,),
            )
        ]
        counts = conn.execute(
            f"SELECT {', '.join(f'count({q(c)})' for c in columns)} FROM {table}"
        ).fetchone()
        assert counts is not None
        empty = [c for c, n in zip(columns, counts, strict=True) if n == 0]
        drops = ", ".join(f"DROP COLUMN {q(c)}" for c in [*empty, "layer", "ogc_fid"])
        conn.execute(f"ALTER TABLE {table} {drops}")
        conn.execute(f"ALTER TABLE {table} ADD PRIMARY KEY (id)")
        conn.execute(f"CREATE INDEX ON {table} USING gist (geom)")
        for column in indexed:
            conn.execute(f"CREATE INDEX ON {table} ({q(column)})")
        conn.execute(f"VACUUM ANALYZE {table}")
    done(start)


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def pygeoapi_db(pg: Postgres, sqlite_env: dict[str, str], city: Path, buildings: int) -> str:
    """pygeoapi's database: tables ``buildings`` (the city) and ``buildings_delft``."""
    db = f"ogcpeers_pygeoapi_{buildings}"
    expected = f"v{LOAD_VERSION} {city.name}"
    if pg.marker(db) == expected:
        return db
    city_json = exported(sqlite_env, "city", CACHE / f"city-{buildings}.geojson")
    delft_json = exported(sqlite_env, "delft", CACHE / "delft.geojson")
    pg.recreate(db)
    load_table(pg, db, city_json, "buildings", [FILTER_ATTRIBUTE])
    load_table(pg, db, delft_json, "buildings_delft", [])
    pg.mark(db, expected)
    return db


def attribute_index(env: dict[str, str], label: str) -> bool:
    """Tweeling's own index on the filtered attribute, as pygeoapi's table has one; False
    where this Tweeling has no ``tweeling index``."""
    listed = subprocess.run(
        [BIN / "tweeling", "index", "list"], env=env, capture_output=True, text=True, check=False
    )
    if listed.returncode:
        print(f"  Tweeling has no `tweeling index`: {FILTER_ATTRIBUTE} unindexed on {label}")
        return False
    if FILTER_ATTRIBUTE not in listed.stdout:
        start = step(f"indexing {FILTER_ATTRIBUTE} in Tweeling on {label} (tweeling index add)")
        tweeling(["index", "add", FILTER_ATTRIBUTE, "--kind", "number"], env)
        done(start)
    return True


@dataclass(frozen=True)
class Prepared:
    pg: Postgres
    tweeling_envs: dict[str, dict[str, str]]  # per backend
    pygeoapi_db: str
    tweeling_indexed: bool  # has Tweeling an index on FILTER_ATTRIBUTE (on both backends)?


def prepare(buildings: int) -> Prepared:
    """Everything loaded and indexed, for every server."""
    CACHE.mkdir(parents=True, exist_ok=True)
    pg = postgres()
    city = synth(buildings)
    sqlite_env = tweeling_sqlite(city, buildings)
    db = pygeoapi_db(pg, sqlite_env, city, buildings)
    postgis_env = tweeling_postgis(pg, city, buildings)
    indexed = attribute_index(sqlite_env, "SQLite") & attribute_index(postgis_env, "PostGIS")
    return Prepared(pg, {"sqlite": sqlite_env, "postgis": postgis_env}, db, indexed)
