"""The app's background services: started in list order, stopped in reverse, and a failure
at start or stop leaves none of the others running."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient

from tweeling.api.app import create_app
from tweeling.services.background import AtStart, AtStop, BackgroundService, running
from tweeling.storage.db import Database


@dataclass
class Toy:
    name: str
    events: list[str]
    fail_on: str = ""

    def start(self) -> None:
        if self.fail_on == "start":
            raise RuntimeError(f"{self.name} cannot start")
        self.events.append(f"start {self.name}")

    def stop(self) -> None:
        self.events.append(f"stop {self.name}")
        if self.fail_on == "stop":
            raise RuntimeError(f"{self.name} cannot stop")


@dataclass
class Log:
    events: list[str] = field(default_factory=list)


def test_started_in_order_and_stopped_in_reverse() -> None:
    log = Log()
    services: list[BackgroundService] = [
        AtStart(lambda: log.events.append("clean up")),
        AtStop(lambda: log.events.append("flush")),
        Toy("runner", log.events),
    ]
    services.append(Toy("harvester", log.events))  # adding one is appending it
    with running(services):
        log.events.append("serving")
    assert log.events == [
        "clean up",
        "start runner",
        "start harvester",
        "serving",
        "stop harvester",
        "stop runner",
        "flush",
    ]


def test_a_failed_start_stops_those_already_started() -> None:
    log = Log()
    services = [Toy("runner", log.events), Toy("harvester", log.events, fail_on="start")]
    with pytest.raises(RuntimeError, match="harvester cannot start"), running(services):
        log.events.append("serving")  # never reached
    assert log.events == ["start runner", "stop runner"]


def test_a_failed_stop_still_stops_the_others() -> None:
    log = Log()
    services = [Toy("a", log.events), Toy("b", log.events, fail_on="stop"), Toy("c", log.events)]
    with pytest.raises(RuntimeError, match="b cannot stop"), running(services):
        pass
    assert log.events == ["start a", "start b", "start c", "stop c", "stop b", "stop a"]


def _background_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name in ("tweeling-jobs", "tweeling-harvest")}


def test_the_app_starts_and_stops_its_services(db: Database) -> None:
    before = _background_threads()
    app = create_app(db, cookie_secure=False)
    with TestClient(app) as client:
        assert client.get("/").status_code == 200
        started = _background_threads() - before
        assert {t.name for t in started} == {"tweeling-jobs", "tweeling-harvest"}
    assert not any(t.is_alive() for t in started)
