"""Runs and provenance in a real browser: a planner opens the run list, a run of the footprints
demo app (run for real in the sandbox), its provenance graph (the dataset, the app and the
outputs), replays it and sees the verdict, and downloads PROV-JSON and PROV-N."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.live import live_server
from tests.web.browser.conftest import Studio, seed
from tweeling.access import identity
from tweeling.access.identity import local_operator
from tweeling.api.app import create_app
from tweeling.apps import packages
from tweeling.apps.executors import LocalExecutor
from tweeling.apps.runs import Runtime
from tweeling.apps.scaffold import scaffold
from tweeling.services import apps as service
from tweeling.storage.db import Database

PLANNER = "planner@delft.nl"


@pytest.fixture(scope="module")
def ran(
    browser: Any, module_db: Database, samples: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Studio, str]]:
    """The seeded Studio with the footprints app installed and run once by the planner; the
    server's runtime (which replays) keeps its runs in a folder of the test's own."""
    folder = tmp_path_factory.mktemp("runs-journey")
    seed(module_db, samples)
    service.install(
        module_db,
        local_operator("test"),
        "delft",
        packages.from_path(scaffold("footprints", folder)),
        {},
    )
    with module_db.begin() as conn:
        secret = identity.create_token(conn, PLANNER, "Gemeente Delft", actor="test").secret
        planner = identity.authenticate_token(conn, secret)
    executor = LocalExecutor(slots=1)
    runtime = Runtime(module_db, executor, folder / "home")
    record = service.run(runtime, planner, "delft", app_id="footprints", purpose="research")
    assert record.status == "successful", record.message
    app = create_app(module_db, runtime=runtime, cookie_secure=False, run_jobs=False)
    with live_server(app) as base:
        yield Studio(base, module_db, browser), record.run_id
    executor.close()


def test_the_run_page_shows_its_provenance_graph(ran: tuple[Studio, str]) -> None:
    studio, run_id = ran
    visitor = studio.visitor(PLANNER)
    visitor.open(f"/studio/runs/{run_id}")
    page = visitor.page
    for kind in ("Dataset", "App", "Outputs"):
        assert page.locator(f'#prov-graph g.prov-node[data-kind="{kind}"]').count() == 1
    assert page.get_by_role("heading", name="De herkomst als lijst").count() == 1
    assert visitor.axe() == []
    assert visitor.problems == []


@pytest.mark.journey
def test_list_run_replay_and_downloads(ran: tuple[Studio, str]) -> None:
    studio, run_id = ran
    visitor = studio.visitor(PLANNER)
    page = visitor.page
    visitor.open("/studio/runs")
    assert visitor.axe() == []
    page.locator(f'a[href="/studio/runs/{run_id}"]').click()
    page.wait_for_url(f"**/studio/runs/{run_id}")
    graph = page.locator("#prov-graph")
    assert "delft.city.json" in (graph.locator('g[data-kind="Dataset"]').text_content() or "")
    assert "footprints" in (graph.locator('g[data-kind="App"]').text_content() or "")
    assert graph.locator('g[data-kind="Outputs"]').count() == 1
    assert graph.locator("line.prov-edge").count() >= 3
    assert visitor.axe() == []

    page.get_by_role("button", name="Deze berekening opnieuw uitvoeren").click()
    verdict = page.locator('#replay-verdict[data-verdict="identical"]')
    verdict.wait_for(timeout=60_000)
    output_hash = page.locator("dd code.hash").nth(1).inner_text()
    assert verdict.locator("code.hash").all_inner_texts() == [output_hash, output_hash]
    assert "Gelijk" in verdict.inner_text()
    assert visitor.axe() == []

    for link, media_type in (
        ("#download-prov-json", "application/json"),
        ("#download-prov-n", "text/provenance-notation"),
    ):
        href = page.locator(link).get_attribute("href")
        answer = page.request.get(studio.base + href)
        assert answer.status == 200, href
        assert answer.headers["content-type"].startswith(media_type)
    assert visitor.problems == []
