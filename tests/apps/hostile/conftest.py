"""The platform the hostile apps attack, laid out as a real installation: one home folder with
the SQLite database, the platform's private key, a secrets file, the extracted-package cache
and the run folders; canaries (random strings no app is given) in the database, the key
folder, the platform's environment and a planted earlier run's inputs.

Every attack runs on both executors: the local process pool and a Dask cluster of one worker
process (``target`` is parametrised). An attack's ``plan`` tells the app where everything is,
as an attacker who knows the default layout would know; the tests then look from outside.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import create_engine, text

from tweeling.access import identity, keys
from tweeling.access.identity import local_operator
from tweeling.apps import packages
from tweeling.apps.executors import DaskExecutor, LocalExecutor
from tweeling.apps.packages import Package
from tweeling.apps.runs import RunRecord, Runtime
from tweeling.services import apps as service
from tweeling.storage.db import Database, open_database
from tweeling.twin.ingest import ingest

APPS = Path(__file__).parent / "apps"
OPERATOR = local_operator("red-team")
ENV_SECRET = "TWEELING_HOSTILE_SECRET"
PLANTED_RUN = "00000000-0000-4000-8000-planted0run"


def _canary() -> str:
    return f"tweeling-canary-{secrets.token_hex(8)}"


@dataclass
class Platform:
    db: Database
    home: Path
    key: Path
    secret_file: Path
    # what no app may learn: the random strings, and the private key's body
    canaries: dict[str, str]
    pg_url: str | None = None
    pg_schema: str | None = None
    planted: list[Path] = field(default_factory=list)
    built: dict[str, Package] = field(default_factory=dict)

    def package(self, name: str, scratch: Path) -> Package:
        """The hostile app ``name`` as a package, with the shared tricks copied into it."""
        if name not in self.built:
            folder = scratch / name
            shutil.copytree(APPS / name, folder)
            shutil.copy(APPS / "_shared" / "tricks.py", folder / f"hostile_{name}" / "tricks.py")
            self.built[name] = packages.from_path(folder)
        return self.built[name]


def _pem_body(path: Path) -> str:
    lines = path.read_text().splitlines()
    return "".join(line for line in lines if not line.startswith("-----"))


def _plant_other_runs(home: Path, canary: str) -> list[Path]:
    """Inputs of runs the attacker must not see: one in the platform's run folder, one where
    a Dask worker lays its runs out (its temporary folder)."""
    import tempfile

    here = home / "runs" / PLANTED_RUN / "inputs"
    there = Path(tempfile.gettempdir()) / f"tweeling-run-planted{secrets.token_hex(4)}"
    for inputs in (here, there / "run" / "inputs"):
        inputs.mkdir(parents=True)
        (inputs / "buildings.parquet").write_text(f"another municipality's data {canary}\n")
    return [here.parent, there]


@pytest.fixture(scope="package")
def platform(tmp_path_factory: pytest.TempPathFactory, samples: Path) -> Iterator[Platform]:
    home = tmp_path_factory.mktemp("hostile-home")
    db = open_database(f"sqlite:///{home / 'tweeling.db'}")
    db.migrate()
    ingest(db, samples / "delft.city.json", "delft")
    canaries = {name: _canary() for name in ("db", "env", "file", "other-run")}
    key = home / "keys" / "platform-ed25519.pem"
    with db.begin() as conn:
        identity.bootstrap(conn)
        identity.create_organisation(conn, canaries["db"], "municipality", actor="tests")
        keys.load_or_create(conn, key)
    canaries["key"] = _pem_body(key)
    secret_file = home / "keys" / "secrets.env"
    secret_file.write_text(f"SIGNING_PASSPHRASE={canaries['file']}\n")
    secret_file.chmod(0o600)
    previous_env = os.environ.get(ENV_SECRET)
    os.environ[ENV_SECRET] = canaries["env"]  # before any executor starts: workers inherit it
    found = Platform(db, home, key, secret_file, canaries)
    found.planted = _plant_other_runs(home, canaries["other-run"])
    admin = None
    pg = os.environ.get("TWEELING_TEST_PG_URL")
    if pg:
        found.pg_url = pg.replace("postgresql+psycopg://", "postgresql://", 1)
        found.pg_schema = f"hostile_{secrets.token_hex(4)}"
        admin = create_engine(pg.replace("postgresql://", "postgresql+psycopg://", 1))
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {found.pg_schema}"))
            conn.execute(text(f"CREATE TABLE {found.pg_schema}.canary (x text)"))
    try:
        yield found
    finally:
        if previous_env is None:
            os.environ.pop(ENV_SECRET, None)
        else:
            os.environ[ENV_SECRET] = previous_env
        for folder in found.planted:
            shutil.rmtree(folder, ignore_errors=True)
        if admin is not None:
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {found.pg_schema} CASCADE"))
            admin.dispose()
        db.dispose()


@dataclass
class Attack:
    record: RunRecord
    marker: str
    plan: dict[str, Any]

    def recorded(self) -> str:
        """Everything the platform keeps about the run (row, outputs, log tail, PROV)."""
        return orjson.dumps({**self.record.as_json(), "prov": self.record.prov}).decode()


@dataclass
class Target:
    """One runtime to attack: the platform's database and home with one executor."""

    name: str
    runtime: Runtime
    platform: Platform
    scratch: Path
    platform_pids: list[int]
    scheduler: str | None = None

    def plan(self, marker: str) -> dict[str, Any]:
        p = self.platform
        return {
            "marker": marker,
            "home": str(p.home),
            "db": str(p.home / "tweeling.db"),
            "key": str(p.key),
            "secret_file": str(p.secret_file),
            "pids": self.platform_pids,
            "pg_url": p.pg_url,
            "pg_schema": p.pg_schema,
        }

    def attack(self, app: str, route: str, runtime: Runtime | None = None, **extra: Any) -> Attack:
        marker = extra.pop("marker", None) or uuid.uuid4().hex[:10]
        plan = {**self.plan(marker), **extra}
        record = service.run(
            runtime or self.runtime,
            OPERATOR,
            "delft",
            package=self.platform.package(app, self.scratch),
            overrides={"route": route, "plan": orjson.dumps(plan).decode()},
            purpose="tests",
        )
        return Attack(record, marker, plan)


@pytest.fixture(scope="package", params=["local", "dask"])
def target(
    request: pytest.FixtureRequest, platform: Platform, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    scratch = tmp_path_factory.mktemp(f"hostile-{request.param}")
    if request.param == "local":
        executor = LocalExecutor(slots=2)
        try:
            yield Target(
                "local",
                Runtime(platform.db, executor, platform.home),
                platform,
                scratch,
                [os.getpid()],
            )
        finally:
            executor.close()
        return
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=1, threads_per_worker=2, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        worker_pids = list(client.run(os.getpid).values())
        dask = DaskExecutor(client=client)
        try:
            yield Target(
                "dask",
                Runtime(platform.db, dask, platform.home),
                platform,
                scratch,
                [os.getpid(), *worker_pids],
                scheduler=cluster.scheduler_address,
            )
        finally:
            dask.close()


@pytest.fixture(scope="package")
def victim(platform: Platform, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The honest app's package, extracted into the platform's cache by a run of its own
    (through the local executor, whose runs use the cache); its module's path there."""
    executor = LocalExecutor(slots=1)
    try:
        record = service.run(
            Runtime(platform.db, executor, platform.home),
            OPERATOR,
            "delft",
            package=packages.from_path(APPS / "victim"),
            purpose="tests",
        )
    finally:
        executor.close()
    assert record.status == "successful", record.message
    assert record.outputs["indicators"]["answer"] == 42
    found = sorted(platform.home.rglob("hostile_victim/app.py"))
    assert found, f"the victim's package is not extracted anywhere under {platform.home}"
    return found[0]


@pytest.fixture
def cleanup_marked() -> Iterator[list[Path]]:
    """Paths a test found escaped; removed afterwards whatever the test's outcome."""
    paths: list[Path] = []
    yield paths
    for path in paths:
        with contextlib.suppress(OSError):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
