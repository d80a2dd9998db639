"""The Studio in a real browser, briefly (the journeys are in ``make test-browser``): the home
page and the Delft twin in 3D, with no script error, no CSP violation and no serious
accessibility violation."""

from __future__ import annotations

from tests.web.browser.conftest import Studio


def test_home_page_lists_the_twin_and_passes_axe(studio: Studio) -> None:
    visitor = studio.visitor("planner@delft.nl")
    visitor.open("/")
    page = visitor.page
    assert page.locator("html").get_attribute("lang") == "nl"
    assert page.get_by_role("link", name="delft").count() >= 1
    assert visitor.axe() == []
    assert visitor.problems == []


def test_the_twin_in_3d_shows_its_buildings(studio: Studio) -> None:
    visitor = studio.visitor("planner@delft.nl")
    visitor.open("/studio/twins/delft")
    page = visitor.page
    viewer = page.locator("#viewer")
    page.wait_for_function(
        "() => Number(document.getElementById('viewer').dataset.tilesLoaded) > 0",
        timeout=60_000,
    )
    assert viewer.get_attribute("data-error") is None
    assert page.locator("#viewer canvas").count() == 1
    assert visitor.axe() == []
    assert visitor.problems == []
