"""A resident comments on a published plan and the organisation moderates it (issue 19's
participation journey), in Chromium: the planner publishes a scenario from the Studio, an
anonymous visitor reads the plan in 3D and comments, the comment waits, the planner approves
it, and the resident sees it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.browser.conftest import PASSWORD, Studio

pytestmark = pytest.mark.journey


def _signed_api(context: Any, base: str, email: str) -> dict[str, str]:
    """The CSRF header of ``email``'s session in ``context`` (the API's sign-in)."""
    answer = context.request.post(f"{base}/auth/login", data={"email": email, "password": PASSWORD})
    assert answer.ok, answer.text()
    return {"X-CSRF-Token": answer.json()["csrf_token"]}


def test_a_resident_comments_on_a_plan_and_the_organisation_moderates(studio: Studio) -> None:
    planner = studio.visitor()
    context, base = planner.page.context, studio.base
    csrf = _signed_api(context, base, "planner@delft.nl")
    made = context.request.post(
        f"{base}/twins/delft/scenarios", data={"name": "park"}, headers=csrf
    )
    assert made.ok, made.text()
    first = context.request.get(f"{base}/ogc/delft/collections/buildings/items?limit=1").json()
    gone = first["features"][0]["id"]
    edit = {"reason": "een park", "delete": [gone]}
    assert context.request.post(
        f"{base}/twins/delft/scenarios/park/edits", data=edit, headers=csrf
    ).ok

    # the planner publishes the scenario from the Studio
    planner.open("/studio/plans")
    page = planner.page
    page.get_by_label("Scenario").select_option("delft/park")
    page.get_by_label("Titel").fill("Park aan de Oude Delft")
    page.get_by_label("Waar het plan over gaat, in gewone woorden").fill(
        "Een gebouw maakt plaats voor een park met bomen."
    )
    page.get_by_role("button", name="Publiceren").click()
    page.wait_for_url("**/studio/plans/park-aan-de-oude-delft-*")
    plan_path = page.url.removeprefix(base)
    assert page.get_by_text(f"Verdwijnt: Building {gone}").count() == 1
    assert planner.axe() == []

    # a resident, not signed in, reads the plan in 3D and comments
    resident = studio.visitor()
    resident.open(plan_path)
    view = resident.page
    view.wait_for_function(
        "() => Number(document.getElementById('viewer').dataset.tilesLoaded) > 0",
        timeout=60_000,
    )
    assert view.locator("#viewer").get_attribute("data-error") is None
    view.get_by_label("Uw reactie").fill("Graag ook een speelplek.")
    view.get_by_label("Over (niet verplicht)").select_option(gone)
    view.get_by_label("Naam om te tonen (niet verplicht, een schuilnaam mag)").fill("Buurvrouw")
    view.get_by_role("button", name="Versturen").click()
    status = view.locator("#status")
    status.filter(has_text="Dank u wel").wait_for()
    assert view.get_by_label("Uw reactie").input_value() == ""  # the form is emptied
    assert view.get_by_text("Graag ook een speelplek.").count() == 0  # waits for moderation
    assert resident.axe() == []
    # the twin itself stays closed to the resident
    assert view.request.get(f"{base}/ogc/delft/3dtiles/current/tileset.json").status == 404

    # the organisation approves it
    planner.open(plan_path + "/moderation")
    row = page.locator("tr", has_text="Graag ook een speelplek.")
    assert row.count() == 1
    assert planner.axe() == []
    row.get_by_role("button", name="Goedkeuren").click()
    page.get_by_role("heading", name="Zichtbaar (1)").wait_for()

    # and the resident sees it
    resident.open(plan_path)
    assert view.get_by_text("Graag ook een speelplek.").count() == 1
    assert view.get_by_text("Buurvrouw").count() == 1
    assert planner.problems == [] and resident.problems == []
