"""A job followed as server-sent events (``GET /ogc/{twin}/jobs/{id}/events``): status and
progress until a final state, through the same policy point as ``GET /jobs/{id}``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import as_
from tweeling.access.identity import local_operator
from tweeling.api.app import create_app
from tweeling.apps import packages
from tweeling.apps.executors import LocalExecutor
from tweeling.apps.runs import Runtime
from tweeling.apps.scaffold import scaffold
from tweeling.services import apps as service
from tweeling.storage.db import Database

ANALYST = "analyst@delft.nl"


@pytest.fixture
def runtime(db: Database, tmp_path: Path) -> Iterator[Runtime]:
    executor = LocalExecutor(slots=1)
    yield Runtime(db, executor, tmp_path / "home")
    executor.close()


@pytest.fixture
def installed(platform: dict[str, str], db: Database, tmp_path: Path) -> dict[str, str]:
    app = scaffold("footprints", tmp_path)
    service.install(db, local_operator("tester"), "delft", packages.from_path(app), {})
    return platform


def _events(text: str) -> list[tuple[str, dict[str, Any]]]:
    """The (event, data) pairs of a text/event-stream body."""
    found = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        if "event" not in fields:  # the stream's "retry:" advice
            continue
        found.append((fields["event"], json.loads(fields["data"])))
    return found


def test_a_job_streams_its_progress_until_it_has_finished(
    installed: dict[str, str], db: Database, runtime: Runtime
) -> None:
    with TestClient(create_app(db, runtime=runtime)) as client:
        h = as_(installed, ANALYST)
        r = client.post(
            "/ogc/delft/processes/footprints/execution",
            json={"inputs": {"large_m2": 200}},
            headers={**h, "Prefer": "respond-async"},
        )
        assert r.status_code == 201, r.text
        url = r.headers["Location"] + "/events"
        with client.stream("GET", url, headers=h) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            body = "".join(stream.iter_text())
        events = _events(body)
        assert {name for name, _ in events} == {"status"}
        statuses = [data["status"] for _, data in events]
        assert statuses[-1] == "successful" and events[-1][1]["progress"] == 100
        assert set(statuses[:-1]) <= {"accepted", "running"}
        progress = [data["progress"] for _, data in events]
        assert progress == sorted(progress)
        assert events[-1][1]["jobID"] == r.json()["jobID"]
        # a finished job answers at once with its final state
        again = _events(client.get(url, headers=h).text)
        assert [data["status"] for _, data in again] == ["successful"]


def test_the_events_pass_the_same_policy_point_as_the_job(
    installed: dict[str, str], db: Database, runtime: Runtime
) -> None:
    with TestClient(create_app(db, runtime=runtime, run_jobs=False)) as client:
        h = as_(installed, ANALYST)
        r = client.post(
            "/ogc/delft/processes/footprints/execution",
            json={},
            headers={**h, "Prefer": "respond-async"},
        )
        url = r.headers["Location"] + "/events"
        stranger = client.get(url, headers=as_(installed, "admin@rotterdam.nl"))
        assert stranger.status_code == 404
        assert client.get(url).status_code == 404  # anonymous
        assert client.get("/ogc/delft/jobs/no-such-job/events", headers=h).status_code == 404
        assert client.get(url.replace("/delft/", "/rotterdam/"), headers=h).status_code == 404


def test_following_a_job_nobody_runs_stops_after_a_while(
    installed: dict[str, str], db: Database, runtime: Runtime
) -> None:
    """No job runner: the job stays accepted; the follower gives its server thread back
    after ``for_s`` instead of holding it for as long as the job waits."""
    with TestClient(create_app(db, runtime=runtime, run_jobs=False)) as client:
        r = client.post(
            "/ogc/delft/processes/footprints/execution",
            json={},
            headers={**as_(installed, ANALYST), "Prefer": "respond-async"},
        )
        job = r.json()["jobID"]
    clock = [0.0]

    def wait(seconds: float) -> None:
        clock[0] += seconds

    follower = service.follow_run(
        db, local_operator("test"), job, every_s=1.0, for_s=10.0, wait=wait, now=lambda: clock[0]
    )
    seen = list(follower)
    assert 10.0 <= clock[0] <= 11.0
    assert [str(r.status) for r in seen] == ["accepted"]  # told once, then nothing new
