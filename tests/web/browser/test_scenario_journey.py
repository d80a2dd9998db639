"""The scenario pages in a real browser: the editor opens clean (``make test``), and the
planner's journey (``make test-browser``): make a scenario, raise a building, remove one,
draw a new one with clicks on the 3D view, and see the three changes in the comparison."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.browser.conftest import Studio

RAISED = "b1105d28c-00ba-11e6-b420-2bdcc4ab5d7f"
REMOVED = "b11267a1d-00ba-11e6-b420-2bdcc4ab5d7f"
VIEWER_READY = "() => Boolean(document.getElementById('scenario-viewer').tweeling)"


def test_the_scenario_list_and_its_form_pass_axe(studio: Studio) -> None:
    visitor = studio.visitor("planner@delft.nl")
    visitor.open("/studio/twins/delft/scenarios")
    page = visitor.page
    assert page.get_by_role("heading", name="Nieuw scenario").count() == 1
    assert visitor.axe() == []
    assert visitor.problems == []


def _save(page: Any, button: str) -> None:
    """Submit with ``button`` and wait for the editor to come back with the edit shown."""
    with page.expect_navigation():
        page.get_by_role("button", name=button).click()
    page.wait_for_function(VIEWER_READY, timeout=60_000)
    assert page.locator("#status").get_attribute("data-kind") == "success"


@pytest.mark.journey
def test_planner_edits_a_scenario_and_compares_it(studio: Studio) -> None:
    visitor = studio.visitor("planner@delft.nl")
    visitor.open("/studio/twins/delft/scenarios")
    page = visitor.page
    page.get_by_label("Naam (letters, cijfers, streepjes)").fill("journey")
    with page.expect_navigation(url="**/scenarios/journey/edit"):
        page.get_by_role("button", name="Scenario maken").click()
    page.wait_for_function(VIEWER_READY, timeout=60_000)
    assert visitor.axe() == []

    # raise one building, chosen by its id (the keyboard's way)
    page.locator("#building-id").fill(RAISED)
    page.locator("#building-height").fill("25")
    page.locator("#building-reason").fill("optopping")
    _save(page, "Hoogte wijzigen")

    page.locator("#building-id").fill(REMOVED)
    page.locator("#building-reason").fill("sloop")
    _save(page, "Gebouw verwijderen")

    # draw a footprint: four clicks on the ground around the middle of the 3D view
    page.get_by_role("button", name="Plattegrond tekenen in 3D").click()
    page.locator("#scenario-viewer").scroll_into_view_if_needed()
    box = page.locator("#scenario-viewer canvas").bounding_box()
    assert box is not None
    middle_x, middle_y = box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.6
    for dx, dy in ((-40, -25), (40, -25), (40, 25), (-40, 25)):
        page.mouse.click(middle_x + dx, middle_y + dy)
    corners = page.locator("#draw-outline").input_value().splitlines()
    assert len(corners) == 4
    for corner in corners:
        lon, lat = (float(part) for part in corner.split(","))
        assert 4.3 < lon < 4.4 and 51.9 < lat < 52.1  # Delft
    page.locator("#draw-id").fill("drawn-block")
    page.locator("#draw-height").fill("15")
    page.locator("#draw-reason").fill("nieuwbouw")
    _save(page, "Gebouw toevoegen")

    page.get_by_role("link", name="Dit scenario vergelijken met de huidige stad").click()
    page.wait_for_load_state()
    assert page.locator("[data-changed-count]").get_attribute("data-changed-count") == "3"
    for oid in (RAISED, REMOVED, "drawn-block"):
        assert page.get_by_role("rowheader", name=oid).count() == 1
    page.wait_for_function(
        "() => { const e = document.getElementById('compare');"
        " return Number(e.dataset.tilesLoaded) > 0 && Number(e.dataset.tilesLoadedB) > 0; }",
        timeout=60_000,
    )
    assert visitor.axe() == []
    assert visitor.problems == []
