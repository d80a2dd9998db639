"""Scenarios: copy-on-write, edits with who/when/why, snapshots, diffs."""

from __future__ import annotations

from pathlib import Path

import pytest
import shapely
from sqlalchemy import func, select

from tweeling.errors import Conflict, InvalidInput, NotFound
from tweeling.storage.db import Database
from tweeling.storage.schema import city_objects
from tweeling.twin.ingest import ingest
from tweeling.twin.model import CityObject
from tweeling.twin.scenarios import Changes, create_scenario, diff, edit, scenario_history
from tweeling.twin.twins import get_scenario, get_twin
from tweeling.twin.vector_io import feature_to_object
from tweeling.twin.views import count_by_type, iter_objects, resolve, view_of


@pytest.fixture
def delft(db: Database, samples: Path) -> Database:
    ingest(db, samples / "delft.city.json", "delft")
    return db


def _ids(db: Database, scenario: str) -> set[str]:
    with db.read() as conn:
        view = view_of(conn, get_scenario(conn, get_twin(conn, "delft"), scenario))
        return {o.object_id for o in iter_objects(conn, view)}


def _get(db: Database, scenario: str, oid: str) -> CityObject | None:
    with db.read() as conn:
        view = view_of(conn, get_scenario(conn, get_twin(conn, "delft"), scenario))
        found = resolve(conn, view, [oid])
    return found[oid].to_city_object() if oid in found else None


def _tower(oid: str = "tower-1") -> CityObject:
    return feature_to_object(
        oid,
        "Building",
        {"measuredHeight": 70.0},
        shapely.Point(84900, 447600, 0).buffer(10, quad_segs=2),
    )


def _a_building(db: Database) -> str:
    return sorted(i for i in _ids(db, "current") if _get(db, "current", i).type == "Building")[0]  # type: ignore[union-attr]


def test_new_scenario_stores_nothing_and_sees_everything(delft: Database) -> None:
    with delft.read() as conn:
        before = conn.execute(select(func.count()).select_from(city_objects)).scalar_one()
    create_scenario(delft, "delft", "plan", kind="proposed", author="alice")
    with delft.read() as conn:
        after = conn.execute(select(func.count()).select_from(city_objects)).scalar_one()
        twin = get_twin(conn, "delft")
        plan = view_of(conn, get_scenario(conn, twin, "plan"))
        current = view_of(conn, get_scenario(conn, twin, "current"))
        assert count_by_type(conn, plan) == count_by_type(conn, current)
    assert after == before
    assert _ids(delft, "plan") == _ids(delft, "current")


def test_edit_add_modify_delete_and_diff(delft: Database) -> None:
    create_scenario(delft, "delft", "plan")
    building = _a_building(delft)
    other = sorted(i for i in _ids(delft, "current") if i != building)[0]
    old_height = _get(delft, "current", building).attributes.get("measuredHeight")  # type: ignore[union-attr]
    result = edit(
        delft,
        "delft",
        "plan",
        Changes(
            add=[_tower()],
            modify=[CityObject(id=building, type="Building", attributes={"measuredHeight": 99.5})],
            delete=[other],
        ),
        reason="tower plan",
        author="alice",
    )
    assert (result.added, result.modified, result.deleted) == (1, 1, 1)
    # the current reality is untouched
    assert "tower-1" not in _ids(delft, "current")
    assert other in _ids(delft, "current")
    assert _get(delft, "current", building).attributes.get("measuredHeight") == old_height  # type: ignore[union-attr]
    # the plan sees its changes; unchanged attributes and geometry are kept
    plan_building = _get(delft, "plan", building)
    assert plan_building is not None
    assert plan_building.attributes["measuredHeight"] == 99.5
    assert plan_building.geometry == _get(delft, "current", building).geometry  # type: ignore[union-attr]
    assert "tower-1" in _ids(delft, "plan") and other not in _ids(delft, "plan")

    d = diff(delft, "delft", "current", "plan")
    assert [c.object_id for c in d.added] == ["tower-1"]
    assert [c.object_id for c in d.removed] == [other]
    assert [c.object_id for c in d.modified] == [building]
    change = d.modified[0]
    assert [(a.name, a.old, a.new) for a in change.attributes] == [
        ("measuredHeight", old_height, 99.5)
    ]
    assert not change.geometry_changed
    reverse = diff(delft, "delft", "plan", "current")
    assert [c.object_id for c in reverse.removed] == ["tower-1"]
    assert [c.object_id for c in reverse.added] == [other]
    assert diff(delft, "delft", "plan", "plan").as_json()["summary"] == {
        "added": 0,
        "modified": 0,
        "removed": 0,
    }

    history = scenario_history(delft, "delft", "plan")
    assert [
        (h["author"], h["reason"], h["added"], h["modified"], h["deleted"]) for h in history
    ] == [("alice", "tower plan", 1, 1, 1)]
    assert history[0]["created_at"]


def test_scenario_is_a_snapshot_of_its_parent(delft: Database) -> None:
    create_scenario(delft, "delft", "plan")
    building = _a_building(delft)
    edit(
        delft,
        "delft",
        "current",
        Changes(
            modify=[CityObject(id=building, type="Building", attributes={"status": "gesloopt"})]
        ),
        reason="demolished after the plan was made",
    )
    assert _get(delft, "current", building).attributes["status"] == "gesloopt"  # type: ignore[union-attr]
    assert "status" not in _get(delft, "plan", building).attributes  # type: ignore[union-attr]
    d = diff(delft, "delft", "plan", "current")
    assert [c.object_id for c in d.modified] == [building]


def test_nested_scenarios_and_repeated_edits(delft: Database) -> None:
    create_scenario(delft, "delft", "a")
    edit(delft, "delft", "a", Changes(add=[_tower("t1")]), reason="one")
    create_scenario(delft, "delft", "b", source="a", kind="permitted")
    edit(delft, "delft", "b", Changes(add=[_tower("t2")]), reason="two")
    edit(delft, "delft", "a", Changes(add=[_tower("t3")]), reason="after b forked")
    for n in range(3):
        edit(
            delft,
            "delft",
            "b",
            Changes(modify=[CityObject(id="t1", type="Building", attributes={"n": n})]),
            reason=f"edit {n}",
        )
    base = _ids(delft, "current")
    assert _ids(delft, "a") == base | {"t1", "t3"}
    assert _ids(delft, "b") == base | {"t1", "t2"}
    assert _get(delft, "b", "t1").attributes["n"] == 2  # type: ignore[union-attr]
    assert "n" not in _get(delft, "a", "t1").attributes  # type: ignore[union-attr]
    d = diff(delft, "delft", "a", "b")
    assert [c.object_id for c in d.added] == ["t2"]
    assert [c.object_id for c in d.removed] == ["t3"]
    assert [c.object_id for c in d.modified] == ["t1"]
    edit(delft, "delft", "b", Changes(delete=["t1"]), reason="gone")
    assert "t1" not in _ids(delft, "b")
    assert "t1" in _ids(delft, "a")


def test_attribute_removal_and_geometry_change(delft: Database) -> None:
    create_scenario(delft, "delft", "plan")
    edit(delft, "delft", "plan", Changes(add=[_tower()]), reason="add")
    moved = _tower()
    moved.attributes = {"measuredHeight": None}
    moved.geometry, moved.vertices = (
        _tower().geometry,
        [[x + 5, y, z] for x, y, z in _tower().vertices],
    )
    edit(delft, "delft", "plan", Changes(modify=[moved]), reason="move")
    obj = _get(delft, "plan", "tower-1")
    assert obj is not None and "measuredHeight" not in obj.attributes
    assert obj.vertices[0][0] == pytest.approx(_tower().vertices[0][0] + 5)


def test_deleting_a_building_deletes_its_parts(db: Database, samples: Path) -> None:
    ingest(db, samples / "denhaag_buildingparts.city.json", "dh", crs="EPSG:7415")
    with db.read() as conn:
        twin = get_twin(conn, "dh")
        view = view_of(conn, get_scenario(conn, twin, "current"))
        parent = [o for o in iter_objects(conn, view) if o.children][0]
    create_scenario(db, "dh", "plan")
    result = edit(db, "dh", "plan", Changes(delete=[parent.object_id]), reason="demolish")
    assert result.deleted == 1 + len(parent.children)
    d = diff(db, "dh", "current", "plan")
    assert sorted(c.object_id for c in d.removed) == sorted([parent.object_id, *parent.children])


def test_edit_errors_write_nothing(delft: Database) -> None:
    create_scenario(delft, "delft", "plan")
    existing = _a_building(delft)
    with pytest.raises(Conflict, match="already exists"):
        edit(delft, "delft", "plan", Changes(add=[_tower(existing)]), reason="x")
    with pytest.raises(NotFound, match="does not exist"):
        edit(delft, "delft", "plan", Changes(add=[_tower()], delete=["no-such-id"]), reason="x")
    with pytest.raises(InvalidInput, match="needs a reason"):
        edit(delft, "delft", "plan", Changes(add=[_tower()]), reason=" ")
    with pytest.raises(InvalidInput, match="more than once"):
        edit(delft, "delft", "plan", Changes(add=[_tower()], delete=["tower-1"]), reason="x")
    assert "tower-1" not in _ids(delft, "plan")
    assert scenario_history(delft, "delft", "plan") == []


def test_scenario_errors(delft: Database) -> None:
    create_scenario(delft, "delft", "plan")
    with pytest.raises(Conflict):
        create_scenario(delft, "delft", "plan")
    with pytest.raises(NotFound, match="no scenario named 'nope'"):
        create_scenario(delft, "delft", "x", source="nope")
    with pytest.raises(InvalidInput, match="unknown scenario kind"):
        create_scenario(delft, "delft", "y", kind="dream")
    with pytest.raises(NotFound, match="no twin named"):
        create_scenario(delft, "rotterdam", "z")
