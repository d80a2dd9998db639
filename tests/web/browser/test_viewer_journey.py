"""The twin viewer in a real browser: Delft in 3D, coloured by an attribute and by an app's
output (the legend says what each colour means, in the unit), an object selected from the
table below the view (its attributes and outputs appear), and "why this number" for an
output: the provenance chain down to the run. No script error, no CSP violation, axe clean."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.live import live_server
from tests.web.browser.conftest import Studio, seed
from tweeling.access import identity
from tweeling.access.identity import local_operator
from tweeling.api.app import create_app
from tweeling.apps import packages
from tweeling.apps.executors import LocalExecutor
from tweeling.apps.runs import Runtime
from tweeling.apps.scaffold import scaffold
from tweeling.services import apps as apps_service
from tweeling.storage.db import Database

pytestmark = pytest.mark.journey


@pytest.fixture(scope="module")
def studio_with_outputs(
    browser: Any, module_db: Database, samples: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Studio]:
    """The seeded Studio after one real run of the footprints app (its outputs stored)."""
    seed(module_db, samples)
    folder = tmp_path_factory.mktemp("footprints")
    apps_service.install(
        module_db,
        local_operator("test"),
        "delft",
        packages.from_path(scaffold("footprints", folder)),
        {"large_m2": 150},
    )
    with module_db.begin() as conn:
        token = identity.create_token(
            conn, "planner@delft.nl", "Gemeente Delft", actor="test"
        ).secret
    executor = LocalExecutor(slots=1)
    try:
        runtime = Runtime(module_db, executor, folder / "home")
        with TestClient(create_app(module_db, runtime=runtime)) as client:
            ran = client.post(
                "/ogc/delft/processes/footprints/execution",
                json={"inputs": {"purpose": "research"}},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert ran.status_code == 200, ran.text
    finally:
        executor.close()
    app = create_app(module_db, cookie_secure=False, run_jobs=False)
    with live_server(app) as base:
        yield Studio(base, module_db, browser)


def test_colour_select_and_explain_an_object(studio_with_outputs: Studio) -> None:
    visitor = studio_with_outputs.visitor("planner@delft.nl")
    visitor.open("/studio/twins/delft")
    page = visitor.page
    page.wait_for_function(
        "() => Number(document.getElementById('viewer').dataset.tilesLoaded) > 0"
        " && document.getElementById('viewer').dataset.ready === 'true'",
        timeout=90_000,
    )
    viewer = page.locator("#viewer")
    assert viewer.get_attribute("data-error") is None

    # colour by the data's height: a graduated legend in metres, values as text
    page.get_by_label("Kleuren naar").select_option("measuredHeight")
    legend = page.locator("#legend")
    legend.wait_for(state="visible")
    assert legend.get_attribute("data-legend-for") == "measuredHeight"
    entries = legend.locator("li")
    assert entries.count() >= 2
    assert " m (" in entries.first.inner_text()
    assert viewer.get_attribute("data-coloured-by") == "measuredHeight"

    # colour by the app's output: its unit from the app's manifest
    page.get_by_label("Kleuren naar").select_option("footprints.footprint_m2")
    page.wait_for_function(
        "() => document.getElementById('legend').dataset.legendFor === 'footprints.footprint_m2'"
    )
    assert "m2" in legend.locator("[data-legend-caption]").inner_text()

    # the table below the view: select the first object with the keyboard's way in
    table = page.locator("[data-objects-table]")
    first = table.locator("tbody tr").first
    object_id = first.locator("th").inner_text()
    first.get_by_role("button").click()
    page.wait_for_function(
        "id => document.getElementById('object-panel').dataset.shownObject === id", arg=object_id
    )
    assert viewer.get_attribute("data-selected-object") == object_id
    panel = page.locator("#object-panel")
    assert panel.locator("[data-object-attributes] tbody tr").count() > 3
    output = panel.locator("[data-object-outputs] tbody tr", has_text="footprints.footprint_m2")
    assert output.count() == 1

    # why this number: data (owner, hash) → app version → run, with the run's page linked
    output.get_by_role("button").click()
    why = panel.locator("[data-why]")
    why.wait_for(state="visible")
    chain = why.locator("[data-why-chain]").inner_text()
    assert "delft.city.json" in chain and "footprints 0.1.0" in chain
    assert "planner@delft.nl" in chain and "research" in chain
    run_link = why.locator("a[data-run-link]")
    assert run_link.get_attribute("href", timeout=1000).startswith("/studio/runs/")

    assert visitor.axe() == []
    assert visitor.problems == []


def test_the_2d_map_shows_the_footprints(studio_with_outputs: Studio) -> None:
    visitor = studio_with_outputs.visitor("planner@delft.nl")
    visitor.open("/studio/twins/delft")
    page = visitor.page
    page.wait_for_function(
        "() => document.getElementById('viewer').dataset.ready === 'true'", timeout=90_000
    )
    page.get_by_role("button", name="2D-kaart").click()
    page.wait_for_function(
        "() => Number(document.getElementById('map').dataset.mapFeatures) > 0", timeout=60_000
    )
    assert page.locator("#map").get_attribute("data-error") is None
    assert page.locator("#viewer").is_hidden()
    assert page.get_by_role("button", name="2D-kaart").get_attribute("aria-pressed") == "true"
    assert visitor.axe() == []
    page.get_by_role("button", name="3D-weergave").click()
    assert page.locator("#viewer").is_visible() and page.locator("#map").is_hidden()
    assert visitor.problems == []


def test_sun_and_shade_follow_the_chosen_time(studio_with_outputs: Studio) -> None:
    visitor = studio_with_outputs.visitor("viewer@delft.nl")
    visitor.open("/studio/twins/delft")
    page = visitor.page
    page.wait_for_function(
        "() => document.getElementById('viewer').dataset.ready === 'true'", timeout=90_000
    )
    page.get_by_label("Datum").fill("2026-06-21")
    page.get_by_label("Tijdstip").fill("480")
    page.get_by_label("Schaduwen tonen").check()
    assert page.locator("[data-sun-time-shown]").inner_text() == "08:00"
    sun_time = page.locator("#viewer").get_attribute("data-sun-time")
    assert sun_time is not None and sun_time.startswith("2026-06-21")
    assert visitor.axe() == []
    assert visitor.problems == []
