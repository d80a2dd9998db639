"""OGC API – Processes over the real app: the apps installed in a twin as processes, sync and
async execution, jobs that survive a restart, results, provenance and "why this number".
OWSLib's Processes client (a client no one here wrote) reads and executes them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from owslib.ogcapi.processes import Processes
from prov.model import ProvDocument
from sqlalchemy import update

from tests.api.conftest import as_
from tests.api.live import live_server
from tests.apps.conftest import MISBEHAVING
from tweeling.access.identity import local_operator
from tweeling.api.app import create_app
from tweeling.apps import packages
from tweeling.apps.executors import LocalExecutor
from tweeling.apps.runs import Runtime
from tweeling.apps.scaffold import scaffold
from tweeling.services import apps as service
from tweeling.storage.db import Database
from tweeling.storage.schema import app_runs

OPERATOR = local_operator("tester")
ANALYST = "analyst@delft.nl"


@pytest.fixture
def runtime(db: Database, tmp_path: Path) -> Iterator[Runtime]:
    executor = LocalExecutor(slots=2)
    yield Runtime(db, executor, tmp_path / "home")
    executor.close()


@pytest.fixture
def installed(platform: dict[str, str], db: Database, tmp_path: Path) -> dict[str, str]:
    app = scaffold("footprints", tmp_path)
    service.install(db, OPERATOR, "delft", packages.from_path(app), {"large_m2": 150})
    service.install(db, OPERATOR, "delft", packages.from_path(MISBEHAVING), {})
    return platform


def _client(db: Database, runtime: Runtime, run_jobs: bool = True) -> TestClient:
    return TestClient(create_app(db, runtime=runtime, run_jobs=run_jobs))


def _wait(client: TestClient, url: str, headers: dict[str, str]) -> dict:  # type: ignore[type-arg]
    for _ in range(300):
        status = client.get(url, headers=headers).json()
        if status["status"] not in ("accepted", "running"):
            return status  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise AssertionError(f"job at {url} did not finish: {status}")


def test_processes_are_described_from_manifests(
    installed: dict[str, str], db: Database, runtime: Runtime
) -> None:
    with _client(db, runtime) as client:
        h = as_(installed, ANALYST)
        listing = client.get("/ogc/delft/processes", headers=h).json()
        assert {p["id"] for p in listing["processes"]} == {"footprints", "misbehaving"}
        desc = client.get("/ogc/delft/processes/footprints", headers=h).json()
        assert desc["version"] == "0.1.0"
        assert desc["jobControlOptions"] == ["sync-execute", "async-execute"]
        assert desc["inputs"]["large_m2"]["schema"]["default"] == 150  # Delft's calibration
        assert desc["inputs"]["large_m2"]["keywords"] == ["calibrated"]
        assert desc["outputs"]["footprint_m2"]["schema"]["additionalProperties"]["x-unit"] == "m2"
        conformance = client.get("/ogc/delft/conformance").json()["conformsTo"]
        assert "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/core" in conformance
        assert client.get("/ogc/delft/processes/nope", headers=h).status_code == 404


def test_two_jobs_compare(installed: dict[str, str], db: Database, runtime: Runtime) -> None:
    with _client(db, runtime) as client:
        h = as_(installed, ANALYST)
        jobs = []
        for threshold in (150, 600):
            r = client.post(
                "/ogc/delft/processes/footprints/execution",
                json={"inputs": {"purpose": "research", "large_m2": threshold}},
                headers=h,
            )
            assert r.status_code == 200, r.text
            jobs.append(r.headers["Location"].rsplit("/", 1)[-1])
        a, b = jobs
        comparison = client.get(f"/ogc/delft/jobs/{a}/compare/{b}", headers=h).json()
        assert comparison["app"] == "footprints"
        count = {i["name"]: i for i in comparison["indicators"]}["large_count"]
        assert count["change"] == count["b"] - count["a"] < 0  # a higher threshold, fewer
        large = {x["name"]: x for x in comparison["attributes"]}["large"]
        assert large["changed"] == -count["change"]  # each building no longer large
        area = {x["name"]: x for x in comparison["attributes"]}["footprint_m2"]
        assert area["changed"] == 0 and area["objects_in_both"] == 160
        missing = client.get(f"/ogc/delft/jobs/{a}/compare/nope", headers=h)
        assert missing.status_code == 404


def test_sync_execution_returns_results(
    installed: dict[str, str], db: Database, runtime: Runtime
) -> None:
    with _client(db, runtime) as client:
        h = as_(installed, ANALYST)
        r = client.post(
            "/ogc/delft/processes/footprints/execution",
            json={"inputs": {"purpose": "research"}},
            headers=h,
        )
        assert r.status_code == 200, r.text
        results = r.json()
        assert len(results["footprint_m2"]) == 160
        assert results["large_count"] == sum(results["large"].values())
        job = client.get(r.headers["Location"], headers=h).json()
        assert job["status"] == "successful" and job["progress"] == 100
        prov = client.get(r.headers["Location"] + "/provenance", headers=h)
        assert prov.status_code == 200
        document = ProvDocument.deserialize(content=prov.text, format="json")
        assert any(str(a.identifier).endswith("footprints/0.1.0") for a in document.get_records())
        oid = next(iter(results["footprint_m2"]))
        why = client.get(
            f"/ogc/delft/collections/buildings/items/{oid}/why",
            params={"attribute": "footprints.footprint_m2"},
            headers=h,
        ).json()
        assert why["value"] == results["footprint_m2"][oid]
        assert why["run"]["run_id"] == job["jobID"]
        assert why["run"]["parameters"] == {"large_m2": 150}
        # the stored results are served like any other attribute
        item = client.get(f"/ogc/delft/collections/buildings/items/{oid}", headers=h).json()
        assert item["properties"]["footprints.footprint_m2"] == results["footprint_m2"][oid]


def test_async_execution_and_job_list(
    installed: dict[str, str], db: Database, runtime: Runtime
) -> None:
    with _client(db, runtime) as client:
        h = as_(installed, ANALYST)
        r = client.post(
            "/ogc/delft/processes/footprints/execution",
            json={"inputs": {"large_m2": 1000}},
            headers={**h, "Prefer": "respond-async"},
        )
        assert r.status_code == 201, r.text
        assert r.headers["Preference-Applied"] == "respond-async"
        status = _wait(client, r.headers["Location"], h)
        assert status["status"] == "successful"
        results = client.get(r.headers["Location"] + "/results", headers=h).json()
        assert results["large_count"] == 0
        jobs = client.get("/ogc/delft/jobs", headers=h).json()["jobs"]
        assert status["jobID"] in {j["jobID"] for j in jobs}


def test_a_failing_app_gives_a_clear_failed_job(
    installed: dict[str, str], db: Database, runtime: Runtime
) -> None:
    with _client(db, runtime) as client:
        h = as_(installed, ANALYST)
        r = client.post(
            "/ogc/delft/processes/misbehaving/execution",
            json={"inputs": {"behaviour": "socket"}},
            headers=h,
        )
        assert r.status_code == 422
        assert "network" in r.json()["detail"]
        job = client.get(r.headers["Location"], headers=h).json()
        assert job["status"] == "failed"
        bad = client.post(
            "/ogc/delft/processes/misbehaving/execution",
            json={"inputs": {"behaviour": "fly"}},
            headers=h,
        )
        assert bad.status_code == 400
        assert "behaviour" in bad.json()["message"]


def test_policy_applies_to_processes(
    installed: dict[str, str], db: Database, runtime: Runtime
) -> None:
    with _client(db, runtime) as client:
        viewer = client.post(
            "/ogc/delft/processes/footprints/execution",
            json={},
            headers=as_(installed, "viewer@delft.nl"),
        )
        assert viewer.status_code == 403
        other = client.get("/ogc/delft/processes", headers=as_(installed, "admin@rotterdam.nl"))
        assert other.status_code == 404
        anonymous = client.get("/ogc/delft/jobs")
        assert anonymous.status_code == 404


def test_jobs_survive_a_restart(installed: dict[str, str], db: Database, runtime: Runtime) -> None:
    h = as_(installed, ANALYST)
    with _client(db, runtime, run_jobs=False) as client:  # a service that stops before running
        accepted = client.post(
            "/ogc/delft/processes/footprints/execution",
            json={},
            headers={**h, "Prefer": "respond-async"},
        )
        interrupted = client.post(
            "/ogc/delft/processes/footprints/execution",
            json={"inputs": {"large_m2": 10}},
            headers={**h, "Prefer": "respond-async"},
        )
    # the second one was half-way when its process died
    with db.begin() as conn:
        conn.execute(
            update(app_runs)
            .where(app_runs.c.run_id == interrupted.json()["jobID"])
            .values(status="running", claimed_by="localhost-gone:999999999")
        )
    from tweeling.apps import runs

    # a process on another host is only presumed gone after a day; this one is "ours"
    with db.begin() as conn:
        import socket

        conn.execute(
            update(app_runs)
            .where(app_runs.c.run_id == interrupted.json()["jobID"])
            .values(claimed_by=f"{socket.gethostname()}:999999999")
        )
    with _client(db, runtime) as client:  # the restarted service
        for response in (accepted, interrupted):
            status = _wait(client, response.headers["Location"], h)
            assert status["status"] == "successful", status
    with db.read() as conn:
        assert runs.get_run(conn, interrupted.json()["jobID"]).parameters == {"large_m2": 10}


def test_owslib_lists_describes_and_executes(
    installed: dict[str, str], db: Database, runtime: Runtime
) -> None:
    with live_server(create_app(db, runtime=runtime)) as base:
        api = Processes(f"{base}/ogc/delft", headers=as_(installed, ANALYST))
        assert "footprints" in {p["id"] for p in api.processes()}
        assert api.process("footprints")["inputs"]["large_m2"]["schema"]["default"] == 150
        result = api.execute("footprints", inputs={"large_m2": 100})
        assert len(result["footprint_m2"]) == 160
        job = api.execute("footprints", inputs={"large_m2": 200}, async_=True)
        assert job["status"] in ("accepted", "running", "successful")
