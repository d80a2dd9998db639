"""The scenario pages as served (TestClient): the list and its form, the editor and the
comparison, read through the services for whoever may see the twin; the indicator chart's
bars."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import as_, client, platform
from tweeling.access.identity import local_operator
from tweeling.api.app import create_app
from tweeling.apps import packages
from tweeling.apps.executors import LocalExecutor
from tweeling.apps.runs import Runtime
from tweeling.apps.scaffold import scaffold
from tweeling.services import apps as apps_service
from tweeling.storage.db import Database
from tweeling.web.studio.scenarios import CHART_HALF, Bar, chart_bars

__all__ = ["client", "platform"]  # the API tests' fixtures: a seeded platform, a client

BUILDING = "b1105d28c-00ba-11e6-b420-2bdcc4ab5d7f"
SQUARE = [[4.3590, 52.0150], [4.35929, 52.0150], [4.35929, 52.01518], [4.3590, 52.01518]]


@pytest.fixture
def planner(client: TestClient, platform: dict[str, str]) -> dict[str, str]:
    headers = {**as_(platform, "analyst@delft.nl"), "Accept": "text/html"}
    r = client.post(
        "/twins/delft/scenarios", json={"name": "plan", "label": "Tower plan"}, headers=headers
    )
    assert r.status_code == 201, r.text
    return headers


def test_the_list_shows_scenarios_and_the_form_to_make_one(
    client: TestClient, planner: dict[str, str]
) -> None:
    page = client.get("/studio/twins/delft/scenarios", headers=planner)
    assert page.status_code == 200
    html = page.text
    assert "Tower plan" in html and 'href="/studio/twins/delft/scenarios/plan/edit"' in html
    assert 'data-api="POST /twins/delft/scenarios"' in html
    assert '<option value="proposed">' in html and '<option value="current">' in html  # from
    assert re.search(r"<label for=\"scenario-name\">", html)


def test_the_editor_lists_the_buildings_and_posts_to_the_edit_api(
    client: TestClient, planner: dict[str, str]
) -> None:
    page = client.get("/studio/twins/delft/scenarios/plan/edit", headers=planner)
    assert page.status_code == 200
    html = page.text
    assert 'data-edits="/twins/delft/scenarios/plan/edits"' in html
    assert 'data-tileset="/ogc/delft/3dtiles/plan/tileset.json"' in html
    assert html.count("<option value=") >= 100  # the Delft sample's buildings, by id
    assert f'<option value="{BUILDING}">' in html
    for control in ("building-id", "building-height", "draw-outline", "draw-height"):
        assert f'<label for="{control}">' in html
    assert "<script>" not in html  # the CSP allows no inline script
    missing = client.get("/studio/twins/delft/scenarios/nope/edit", headers=planner)
    assert missing.status_code == 404


def test_the_comparison_lists_what_the_edits_changed(
    client: TestClient, planner: dict[str, str]
) -> None:
    body = {
        "reason": "plan",
        "heights": {BUILDING: 20},
        "footprints": [{"id": "new-block", "outline": SQUARE, "height": 12}],
    }
    r = client.post("/twins/delft/scenarios/plan/edits", json=body, headers=planner)
    assert r.status_code == 201, r.text
    page = client.get("/studio/twins/delft/compare?a=current&b=plan", headers=planner)
    assert page.status_code == 200
    html = page.text
    assert 'data-changed-count="2"' in html
    assert "<code>new-block</code>" in html and f"<code>{BUILDING}</code>" in html
    assert "measuredHeight: 6 → 20" in html
    assert html.count('class="viewer compare-viewer"') == 1  # one view, a divider between
    assert 'data-tileset="/ogc/delft/3dtiles/current/tileset.json"' in html
    assert 'data-tileset-b="/ogc/delft/3dtiles/plan/tileset.json"' in html
    assert (
        client.get("/studio/twins/delft/compare?a=current&b=nope", headers=planner).status_code
        == 404
    )


def test_another_organisation_sees_no_scenario_pages(
    client: TestClient, platform: dict[str, str], planner: dict[str, str]
) -> None:
    stranger = {**as_(platform, "admin@rotterdam.nl"), "Accept": "text/html"}
    for path in (
        "/studio/twins/delft/scenarios",
        "/studio/twins/delft/scenarios/plan/edit",
        "/studio/twins/delft/compare?b=plan",
    ):
        assert client.get(path, headers=stranger).status_code == 404, path


def test_chart_bars_reach_an_edge_for_the_largest_change_and_keep_their_sign() -> None:
    bars = chart_bars(
        [
            Bar("sun", "hours", "h", 4.0, 2.0, -2.0),
            Bar("sun", "area", "m2", 10.0, 11.0, 1.0),
            Bar("sun", "same", None, 3.0, 3.0, 0.0),
            Bar("sun", "text", None, "a", "b", None),  # type: ignore[arg-type]
        ]
    )
    hours, area, same, text = bars
    assert (hours.x, hours.width) == (0.0, CHART_HALF)  # leftwards from the middle
    assert (area.x, area.width) == (CHART_HALF, CHART_HALF / 2)
    assert same.width == text.width == 0.0


def test_the_comparison_shows_an_apps_indicator_deltas_as_table_and_chart(
    platform: dict[str, str], db: Database, tmp_path: Path
) -> None:
    """A real app (the scaffold's footprints app) run in the sandbox on both scenarios."""
    app = scaffold("footprints", tmp_path / "app")
    apps_service.install(
        db, local_operator("tester"), "delft", packages.from_path(app), {"large_m2": 150}
    )
    executor = LocalExecutor(slots=1)
    runtime = Runtime(db, executor, tmp_path / "home")
    headers = {**as_(platform, "analyst@delft.nl"), "Accept": "text/html"}
    try:
        with TestClient(create_app(db, runtime=runtime, run_jobs=False)) as client:
            assert client.post("/twins/delft/scenarios", json={"name": "plan"}, headers=headers)
            block = {"id": "new-block", "outline": SQUARE, "height": 12}
            r = client.post(
                "/twins/delft/scenarios/plan/edits",
                json={"reason": "a block", "footprints": [block]},
                headers=headers,
            )
            assert r.status_code == 201, r.text
            for scenario in ("current", "plan"):
                r = client.post(
                    "/ogc/delft/processes/footprints/execution",
                    json={"inputs": {"purpose": "research", "scenario": scenario}},
                    headers={**headers, "Accept": "application/json"},
                )
                assert r.status_code == 200, r.text
            page = client.get("/studio/twins/delft/compare?a=current&b=plan", headers=headers)
    finally:
        executor.close()
    assert page.status_code == 200
    html = page.text
    table = html[
        html.index('<table class="deltas">') : html.index("</table>", html.index("deltas"))
    ]
    assert '<td>footprints</td><th scope="row">large_count</th>' in table
    assert "+1" in table  # the new 400 m² block is one more large building
    chart = html[html.index("<svg") : html.index("</svg>")]
    assert "<title" in chart and ">large_count</text>" in chart and "+1</text>" in chart
