"""Shared fixtures: a real database on each backend, and the sample city models.

``db`` runs every test that uses it twice: on SQLite (a fresh file) and on PostgreSQL +
PostGIS (a fresh schema on the server named by ``TWEELING_TEST_PG_URL``). Without a server the
PostgreSQL runs are skipped with the reason shown; with ``TWEELING_REQUIRE_PG=1`` (as in CI)
an unreachable server is an error, never a silent skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from tweeling import samples as sample_data
from tweeling.storage.db import Database, open_database

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = sample_data.CITIES
SCHEMAS = sample_data.SCHEMAS

# (file, CRS to pass because the file declares none)
SAMPLE_FILES = [
    ("delft.city.json", None),
    ("3dbag_multi_lod.city.json", "EPSG:7415"),
    ("rotterdam_lod2.city.json", "EPSG:7415"),
    ("denhaag_buildingparts.city.json", "EPSG:7415"),
    ("zurich_lod2.city.json", None),
]


def _pg_url() -> str | None:
    url = os.environ.get("TWEELING_TEST_PG_URL")
    if not url:
        return None
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def _pg_problem(url: str | None) -> str | None:
    if url is None:
        return "PostgreSQL tests need TWEELING_TEST_PG_URL (scripts/pg-test-server.sh starts one)"
    try:
        engine = create_engine(url)
        with engine.connect() as conn:
            conn.execute(text("SELECT PostGIS_Version()"))
        engine.dispose()
    except OperationalError as exc:
        return f"PostgreSQL at {url} is not reachable: {exc.orig}"
    except Exception as exc:
        return f"PostgreSQL at {url} has no PostGIS: {exc}"
    return None


_PG_URL = _pg_url()
_PG_PROBLEM = _pg_problem(_PG_URL)


@pytest.fixture(scope="session", autouse=True)
def shared_app_environments(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One folder of app library environments for the whole session (TWEELING_APP_ENVS):
    they are content-addressed, and building the reference apps' sets anew for every test's
    home would take minutes each. A test that wants a fresh one passes ``envs=``."""
    folder = tmp_path_factory.mktemp("app-envs")
    before = os.environ.get("TWEELING_APP_ENVS")
    os.environ["TWEELING_APP_ENVS"] = str(folder)
    yield folder
    if before is None:
        os.environ.pop("TWEELING_APP_ENVS", None)
    else:
        os.environ["TWEELING_APP_ENVS"] = before


@pytest.fixture(scope="session")
def samples() -> Path:
    if not (SAMPLES / "delft.city.json").is_file():
        pytest.skip(f"sample data not found at {SAMPLES}")
    return SAMPLES


@contextmanager
def _database(kind: str, folder: Path) -> Iterator[Database]:
    """A migrated, empty database: a fresh SQLite file, or a fresh schema on PostgreSQL."""
    if kind == "sqlite":
        database = open_database(f"sqlite:///{folder / 'tweeling.db'}")
        database.migrate()
        try:
            yield database
        finally:
            database.dispose()
        return
    if _PG_PROBLEM:
        if os.environ.get("TWEELING_REQUIRE_PG"):
            pytest.fail(_PG_PROBLEM)
        pytest.skip(_PG_PROBLEM)
    assert _PG_URL is not None
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(_PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in _PG_URL else "?"
    database = open_database(f"{_PG_URL}{sep}options=-csearch_path%3D{schema},public")
    database.migrate()
    try:
        yield database
    finally:
        database.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with _database(request.param, tmp_path) as database:
        yield database


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """One database for a whole test module (for expensive shared set-ups)."""
    with _database(request.param, tmp_path_factory.mktemp("db")) as database:
        yield database


@pytest.fixture
def db_url(db: Database) -> str:
    """The URL of ``db`` for subprocesses (CLI tests), password included."""
    return db.engine.url.render_as_string(hide_password=False)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """What was skipped and why, grouped by reason, largest group first: on a fresh clone
    only a missing system tool (or a PostgreSQL server) may skip a test, and this says which."""
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        return
    by_reason: dict[str, list[str]] = {}
    for report in skipped:
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reason = reason.removeprefix("Skipped: ")
        by_reason.setdefault(reason, []).append(report.nodeid)
    terminalreporter.write_sep("=", f"skipped: {len(skipped)} tests, by reason")
    for reason, nodeids in sorted(by_reason.items(), key=lambda item: -len(item[1])):
        terminalreporter.write_line(f"{len(nodeids):5d}  {reason}")
        for nodeid in nodeids[:3]:
            terminalreporter.write_line(f"         {nodeid}")
        if len(nodeids) > 3:
            terminalreporter.write_line(f"         … and {len(nodeids) - 3} more")
