"""The store front in a real browser: a data officer of Delft searches the store, opens an
app, reads its fit report for Delft, installs it with a calibration (the platform's test run
on Delft's data first), runs it on a scenario and watches the progress reach done, with no
script error, no CSP violation and no serious accessibility violation on the way."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.live import live_server
from tests.web.browser.conftest import Studio, seed
from tests.web.store_stock import stock
from tweeling.api.app import create_app
from tweeling.apps.executors import LocalExecutor
from tweeling.apps.runs import Runtime
from tweeling.storage.db import Database


@pytest.fixture(scope="module")
def store_studio(
    browser: Any, module_db: Database, samples: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Studio]:
    """A live server that runs jobs (the shared ``studio`` fixture's does not), with two
    apps in the store."""
    seed(module_db, samples)
    folder = tmp_path_factory.mktemp("store")
    stock(module_db, folder)
    executor = LocalExecutor(slots=1)
    runtime = Runtime(module_db, executor, folder / "home")
    app = create_app(module_db, cookie_secure=False, runtime=runtime)
    try:
        with live_server(app) as base:
            yield Studio(base, module_db, browser)
    finally:
        executor.close()


def test_the_store_search_page_passes_axe(store_studio: Studio) -> None:
    visitor = store_studio.visitor()
    visitor.open("/studio/store?use_case=housing")
    page = visitor.page
    assert page.get_by_role("heading", name="2 apps gevonden").count() == 1
    assert visitor.axe() == []
    assert visitor.problems == []


@pytest.mark.journey
def test_search_fit_install_and_run_with_live_progress(store_studio: Studio) -> None:
    visitor = store_studio.visitor("planner@delft.nl")
    page = visitor.page
    visitor.open("/studio/store")
    page.get_by_label("Zoek apps").fill("footprint")
    page.get_by_role("button", name="Zoeken").click()
    page.get_by_role("link", name="Footprints").click()
    page.wait_for_url(re.compile(r"/studio/store/apps/footprints$"))

    page.locator("#fit-twin").select_option("delft")
    page.get_by_role("button", name="Toon het passingsrapport").click()
    page.wait_for_url(re.compile(r"twin=delft"))
    verdict = page.locator("[data-verdict]")
    assert verdict.get_attribute("data-verdict") == "green"
    assert "voldaan" in verdict.inner_text()  # in words, not only in colour
    assert page.locator("table.fit-report tbody tr").count() >= 2
    assert visitor.axe() == []

    calibration = page.locator("#param-large_m2")
    assert calibration.input_value() == "500"  # the schema's default, filled in
    calibration.fill("200")
    page.get_by_role("button", name="Installeren").click()
    panel = page.locator("#run-panel")
    panel.wait_for(state="visible", timeout=120_000)  # after the platform's test run
    assert "Geïnstalleerd in delft" in page.locator("#status").inner_text()

    page.get_by_role("button", name="Berekening starten").click()
    page.wait_for_function(
        "() => ['successful', 'failed', 'dismissed']"
        ".includes(document.getElementById('run-panel').dataset.status)",
        timeout=120_000,
    )
    assert panel.get_attribute("data-status") == "successful"
    assert page.locator("#run-progress").get_attribute("value") == "100"
    assert page.locator("#run-status").inner_text() == "Klaar."
    result = page.get_by_role("link", name="De resultaten van de run")
    assert re.fullmatch(r"/studio/runs/[\w-]+", result.get_attribute("href") or "")
    viewer = page.get_by_role("link", name="De tweeling gekleurd naar footprint_m2")
    assert viewer.get_attribute("href") == "/studio/twins/delft?colour=footprint_m2"
    assert visitor.axe() == []
    assert visitor.problems == []
