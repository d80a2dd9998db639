"""The Studio's sketch edits over HTTP: a new height for a building, a drawn footprint
extruded to a LoD1 block, and the 4xx answers to drawings that make no building."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import as_
from tweeling.storage.db import Database
from tweeling.twin.model import CityObject
from tweeling.twin.twins import get_scenario, get_twin
from tweeling.twin.views import resolve, view_of

BUILDING = "b1105d28c-00ba-11e6-b420-2bdcc4ab5d7f"  # 6 m tall in the Delft sample
# a square of about 20 × 20 m in an open spot of the Delft sample, in CRS84
SQUARE = [[4.3590, 52.0150], [4.35929, 52.0150], [4.35929, 52.01518], [4.3590, 52.01518]]


def _object(db: Database, scenario: str, oid: str) -> CityObject:
    with db.read() as conn:
        view = view_of(conn, get_scenario(conn, get_twin(conn, "delft"), scenario))
        return resolve(conn, view, [oid])[oid].to_city_object()


@pytest.fixture
def plan(client: TestClient, platform: dict[str, str]) -> dict[str, str]:
    analyst = as_(platform, "analyst@delft.nl")
    r = client.post("/twins/delft/scenarios", json={"name": "plan"}, headers=analyst)
    assert r.status_code == 201, r.text
    return analyst


def _edit(client: TestClient, who: dict[str, str], body: dict[str, Any]) -> Any:
    return client.post(
        "/twins/delft/scenarios/plan/edits", json={"reason": "sketch", **body}, headers=who
    )


def test_a_new_height_stretches_the_building(
    client: TestClient, plan: dict[str, str], db: Database
) -> None:
    before = _object(db, "current", BUILDING)
    r = _edit(client, plan, {"heights": {BUILDING: 18}})
    assert r.status_code == 201, r.text
    assert r.json()["modified"] == 1
    after = _object(db, "plan", BUILDING)
    low = min(v[2] for v in before.vertices)
    assert min(v[2] for v in after.vertices) == pytest.approx(low)
    assert max(v[2] for v in after.vertices) == pytest.approx(low + 18, abs=0.01)
    assert after.attributes["measuredHeight"] == 18
    assert after.attributes["identificatiebagpnd"] == before.attributes["identificatiebagpnd"]
    assert _object(db, "current", BUILDING).vertices == before.vertices  # the city unchanged
    diff = client.get("/twins/delft/diff", params={"from": "current", "to": "plan"}, headers=plan)
    assert [c["id"] for c in diff.json()["modified"]] == [BUILDING]


def test_a_drawn_footprint_becomes_a_lod1_building_in_the_twins_crs(
    client: TestClient, plan: dict[str, str], db: Database
) -> None:
    drawn = {"id": "new-block", "outline": SQUARE, "height": 12.5, "base": 0.2}
    r = _edit(client, plan, {"footprints": [drawn]})
    assert r.status_code == 201, r.text
    block = _object(db, "plan", "new-block")
    assert block.type == "Building"
    (solid,) = block.geometry
    assert (solid["type"], solid["lod"]) == ("Solid", "1")
    assert len(solid["boundaries"][0]) == 2 + 4  # ground, roof, four walls
    xs = [v[0] for v in block.vertices]
    ys = [v[1] for v in block.vertices]
    assert 84_000 < min(xs) < 86_000 and 446_000 < min(ys) < 448_000  # RD New metres
    assert 15 < max(xs) - min(xs) < 25 and 15 < max(ys) - min(ys) < 25
    assert {v[2] for v in block.vertices} == {0.2, 12.7}
    # the new block is in the twin's 3D tiles like any other building
    tileset = client.get("/ogc/delft/3dtiles/plan/tileset.json", headers=plan)
    assert tileset.status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"heights": {"no-such-building": 10}}, 404, "no-such-building"),
        ({"heights": {BUILDING: -3}}, 400, "height"),
        ({"footprints": [{"id": "x", "outline": SQUARE[:2], "height": 9}]}, 400, "outline"),
        (
            {
                "footprints": [
                    {"id": "x", "outline": [SQUARE[0], SQUARE[1], SQUARE[0]], "height": 9}
                ]
            },
            400,
            "three points",
        ),
        ({"footprints": [{"id": BUILDING, "outline": SQUARE, "height": 9}]}, 409, "exists"),
    ],
)
def test_drawings_that_make_no_building_are_refused_by_name(
    client: TestClient, plan: dict[str, str], body: dict[str, Any], status: int, words: str
) -> None:
    r = _edit(client, plan, body)
    assert r.status_code == status, r.text
    assert words in r.json()["message"]


def test_a_viewer_may_not_sketch(client: TestClient, plan: dict[str, str], platform: Any) -> None:
    r = _edit(client, as_(platform, "viewer@delft.nl"), {"heights": {BUILDING: 10}})
    assert r.status_code == 403


def test_a_footprint_far_from_the_twin_is_refused(client: TestClient, plan: dict[str, str]) -> None:
    far = [[-170.0, -80.0], [-169.0, -80.0], [-169.0, -79.0]]
    r = _edit(client, plan, {"footprints": [{"id": "x", "outline": far, "height": 9}]})
    assert r.status_code == 400, r.text
    r = _edit(client, plan, {"footprints": [{"id": "x", "outline": [[400, 0]] * 3, "height": 9}]})
    assert r.status_code == 400, r.text
