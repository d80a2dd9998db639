"""Scenarios: copy-on-write variants of a twin, edits with who/when/why, and diffs."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, insert, select, text, update

from tweeling.errors import Conflict, InvalidInput, NotFound
from tweeling.storage.db import Database, clock_of
from tweeling.storage.schema import city_objects, edits, scenarios
from tweeling.twin.ingest import store_templates
from tweeling.twin.model import CityObject, GeometryTemplate, ScenarioKind
from tweeling.twin.rows import object_rows, reproject, tombstone_rows
from tweeling.twin.twins import (
    Scenario,
    Twin,
    check_name,
    default_author,
    get_scenario,
    get_twin,
    list_scenarios,
    next_seq,
)
from tweeling.twin.views import StoredObject, View, resolve, view_of


class EditKind(StrEnum):
    """Who made an edit: a person, or an app run storing its results (``edits.kind``)."""

    edit = "edit"
    app_run = "app-run"


def create_scenario(
    db: Database,
    twin_name: str,
    name: str,
    *,
    source: str = "current",
    kind: str = ScenarioKind.proposed.value,
    label: str | None = None,
    description: str | None = None,
    author: str | None = None,
) -> Scenario:
    """A new scenario that sees ``source`` as it is now; O(1) whatever the twin's size."""
    check_name("scenario", name)
    if kind not in {k.value for k in ScenarioKind} or kind == ScenarioKind.current.value:
        allowed = ", ".join(k.value for k in ScenarioKind if k != ScenarioKind.current)
        raise InvalidInput(f"unknown scenario kind {kind!r}: choose {allowed}")
    with db.begin() as conn:
        twin = get_twin(conn, twin_name)
        parent = get_scenario(conn, twin, source)
        exists = conn.execute(
            select(scenarios.c.id).where(scenarios.c.twin_id == twin.id, scenarios.c.name == name)
        ).first()
        if exists:
            raise Conflict(f"twin {twin.name!r} already has a scenario named {name!r}")
        # Taking a sequence number marks the fork point: later edits to the parent stay out.
        fork = next_seq(conn, twin)
        conn.execute(
            insert(scenarios).values(
                twin_id=twin.id,
                name=name,
                kind=kind,
                label=label,
                description=description,
                parent_id=parent.id,
                fork_seq=fork,
                created_by=author or default_author(),
                created_at=clock_of(conn).now(),
            )
        )
        return get_scenario(conn, twin, name)


@dataclass
class EditResult:
    seq: int
    added: int
    modified: int
    deleted: int


@dataclass
class Changes:
    """One edit: objects to add, objects to modify (partial), ids to delete."""

    add: list[CityObject] = field(default_factory=list)
    modify: list[CityObject] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    crs: str | None = None
    templates: list[GeometryTemplate] = field(default_factory=list)


def _merge(old: CityObject, change: CityObject) -> CityObject:
    """Attributes merge (a null value removes one); geometry and hierarchy replace if given."""
    attributes = dict(old.attributes)
    for key, value in change.attributes.items():
        if value is None:
            attributes.pop(key, None)
        else:
            attributes[key] = value
    merged = CityObject(
        id=old.id,
        type=old.type,
        attributes=attributes,
        geometry=old.geometry,
        vertices=old.vertices,
        parents=change.parents or old.parents,
        children=change.children or old.children,
        extra={**old.extra, **change.extra},
    )
    if change.geometry:
        merged.geometry, merged.vertices = change.geometry, change.vertices
    if change.type != old.type:
        raise InvalidInput(
            f"object {old.id!r}: cannot change type {old.type} to {change.type} by an edit"
        )
    return merged


def edit(
    db: Database,
    twin_name: str,
    scenario_name: str,
    changes: Changes,
    *,
    reason: str,
    author: str | None = None,
    kind: str = EditKind.edit,
) -> EditResult:
    """Apply one edit as one transaction; every id is checked before anything is written.

    ``kind`` tells edits by people ("edit") from results stored by app runs ("app-run")."""
    if not reason.strip():
        raise InvalidInput("an edit needs a reason (--reason)")
    if not (changes.add or changes.modify or changes.delete):
        raise InvalidInput("the edit changes nothing: give objects to add, modify or delete")
    with db.begin() as conn:
        twin = get_twin(conn, twin_name)
        scenario = get_scenario(conn, twin, scenario_name)
        view = view_of(conn, scenario)
        ids = [o.id for o in changes.add] + [o.id for o in changes.modify] + changes.delete
        if len(set(ids)) != len(ids):
            dup = next(i for i in ids if ids.count(i) > 1)
            raise InvalidInput(f"object {dup!r} appears more than once in the edit")
        current = resolve(conn, view, ids)
        for obj in changes.add:
            if obj.id in current:
                raise Conflict(
                    f"object {obj.id!r} already exists in scenario {scenario.name!r}; modify it"
                )
        for oid in [o.id for o in changes.modify] + changes.delete:
            if oid not in current:
                raise NotFound(f"object {oid!r} does not exist in scenario {scenario.name!r}")
        deletes = _with_children(conn, view, changes.delete, current)
        seq = next_seq(conn, twin)
        templates = store_templates(conn, twin, changes.templates)
        if changes.crs:
            reproject(changes.add + changes.modify, changes.crs, twin.crs)
        new_objects = list(changes.add) + [
            _merge(current[o.id].to_city_object(), o) for o in changes.modify
        ]
        _supersede(
            conn, scenario, [o.id for o in new_objects] + [d.object_id for d in deletes], seq
        )
        rows = object_rows(
            new_objects,
            scenario_id=scenario.id,
            seq=seq,
            # a modified object still derives from the dataset it came from
            dataset_id=[None] * len(changes.add)
            + [current[o.id].dataset_id for o in changes.modify],
            crs=twin.crs,
            templates=templates,
        )
        rows += tombstone_rows(
            [(d.object_id, d.object_type, d.layer) for d in deletes],
            scenario_id=scenario.id,
            seq=seq,
        )
        db.backend.insert_objects(conn, rows)
        conn.execute(
            insert(edits).values(
                twin_id=twin.id,
                seq=seq,
                scenario_id=scenario.id,
                kind=kind,
                author=author or default_author(),
                reason=reason,
                added=len(changes.add),
                modified=len(changes.modify),
                deleted=len(deletes),
                created_at=clock_of(conn).now(),
            )
        )
    return EditResult(seq, len(changes.add), len(changes.modify), len(deletes))


def _with_children(
    conn: Connection, view: View, ids: list[str], current: dict[str, StoredObject]
) -> list[StoredObject]:
    """Deleting a building deletes its parts too: a part without its building is an orphan."""
    out = [current[i] for i in ids]
    pending = [c for i in ids for c in current[i].children]
    seen = set(ids)
    while pending:
        found = resolve(conn, view, [p for p in pending if p not in seen])
        pending = []
        for child in found.values():
            seen.add(child.object_id)
            out.append(child)
            pending.extend(child.children)
    return out


def _supersede(conn: Connection, scenario: Scenario, object_ids: list[str], seq: int) -> None:
    for i in range(0, len(object_ids), 500):
        conn.execute(
            update(city_objects)
            .where(
                city_objects.c.scenario_id == scenario.id,
                city_objects.c.valid_to.is_(None),
                city_objects.c.object_id.in_(object_ids[i : i + 500]),
            )
            .values(valid_to=seq)
        )


# ---------------------------------------------------------------------------------------------
# Diff


@dataclass
class AttributeChange:
    name: str
    old: Any
    new: Any


@dataclass
class ObjectChange:
    object_id: str
    object_type: str
    attributes: list[AttributeChange] = field(default_factory=list)
    geometry_changed: bool = False


@dataclass
class Diff:
    twin: str
    a: str
    b: str
    added: list[ObjectChange] = field(default_factory=list)
    modified: list[ObjectChange] = field(default_factory=list)
    removed: list[ObjectChange] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        def obj(c: ObjectChange) -> dict[str, Any]:
            out: dict[str, Any] = {"id": c.object_id, "type": c.object_type}
            if c.attributes:
                out["attributes"] = [
                    {"name": a.name, "old": a.old, "new": a.new} for a in c.attributes
                ]
            if c.geometry_changed:
                out["geometry_changed"] = True
            return out

        return {
            "twin": self.twin,
            "from": self.a,
            "to": self.b,
            "summary": {
                "added": len(self.added),
                "modified": len(self.modified),
                "removed": len(self.removed),
            },
            "added": [obj(c) for c in self.added],
            "modified": [obj(c) for c in self.modified],
            "removed": [obj(c) for c in self.removed],
        }


def _touched(conn: Connection, a: View, b: View) -> list[str]:
    """Ids of objects whose rows one view sees and the other does not: the only candidates.

    For each scenario in either chain, rows written or superseded between the two views'
    bounds are the difference; everything below the smaller bound is shared. Cost follows the
    number of changes, not the size of the twin.
    """
    live = 2**62  # the bound of a scenario's own, live rows
    absent = -1  # the bound of a scenario outside a chain: it sees none of its rows
    bounds_a = {sid: live if bound is None else bound for sid, bound in a.chain}
    bounds_b = {sid: live if bound is None else bound for sid, bound in b.chain}
    ids: dict[str, None] = {}
    for sid in dict.fromkeys([*bounds_a, *bounds_b]):
        lo, hi = sorted((bounds_a.get(sid, absent), bounds_b.get(sid, absent)))
        if lo == hi:
            continue
        rows = conn.execute(
            text(
                "SELECT DISTINCT object_id FROM city_objects WHERE scenario_id = :s AND ("
                "(seq > :lo AND seq <= :hi) OR (valid_to > :lo AND valid_to <= :hi))"
            ),
            {"s": sid, "lo": lo, "hi": hi},
        )
        ids.update((r[0], None) for r in rows)
    return list(ids)


def diff(db: Database, twin_name: str, a_name: str, b_name: str) -> Diff:
    """What changed from scenario ``a`` to scenario ``b``, down to attribute values."""
    with db.read() as conn:
        twin = get_twin(conn, twin_name)
        a = view_of(conn, get_scenario(conn, twin, a_name))
        b = view_of(conn, get_scenario(conn, twin, b_name))
        result = Diff(twin.name, a_name, b_name)
        ids = _touched(conn, a, b)
        in_a = resolve(conn, a, ids)
        in_b = resolve(conn, b, ids)
    for oid in ids:
        old, new = in_a.get(oid), in_b.get(oid)
        if old is None and new is not None:
            result.added.append(ObjectChange(oid, new.object_type))
        elif new is None and old is not None:
            result.removed.append(ObjectChange(oid, old.object_type))
        elif old is not None and new is not None and old.content_hash != new.content_hash:
            change = ObjectChange(oid, new.object_type)
            for key in sorted(set(old.attributes) | set(new.attributes)):
                if old.attributes.get(key) != new.attributes.get(key):
                    change.attributes.append(
                        AttributeChange(key, old.attributes.get(key), new.attributes.get(key))
                    )
            change.geometry_changed = old.geometry_blob != new.geometry_blob
            result.modified.append(change)
    for group in (result.added, result.modified, result.removed):
        group.sort(key=lambda c: c.object_id)
    return result


def delete_scenario(db: Database, twin_name: str, name: str) -> None:
    """Remove a scenario and its own rows; the current reality and parents of others stay."""
    with db.begin() as conn:
        twin = get_twin(conn, twin_name)
        scenario = get_scenario(conn, twin, name)
        if scenario.kind == ScenarioKind.current.value:
            raise Conflict("the current reality cannot be deleted")
        child = conn.execute(
            select(scenarios.c.name).where(scenarios.c.parent_id == scenario.id)
        ).first()
        if child is not None:
            raise Conflict(f"scenario {child[0]!r} was made from {name!r}; delete it first")
        db.backend.delete_scenario_rows(conn, [scenario.id])
        conn.execute(edits.delete().where(edits.c.scenario_id == scenario.id))
        conn.execute(scenarios.delete().where(scenarios.c.id == scenario.id))


def delete_twin(db: Database, twin_name: str) -> None:
    """Remove a twin with everything in it: scenarios, objects, datasets, templates, shares."""
    from tweeling.storage.schema import datasets, geometry_templates, shares, twins

    with db.begin() as conn:
        twin = get_twin(conn, twin_name)
        ids = [s.id for s in list_scenarios(conn, twin)]
        db.backend.delete_scenario_rows(conn, ids)
        conn.execute(edits.delete().where(edits.c.twin_id == twin.id))
        conn.execute(datasets.delete().where(datasets.c.twin_id == twin.id))
        conn.execute(geometry_templates.delete().where(geometry_templates.c.twin_id == twin.id))
        conn.execute(
            shares.delete().where(shares.c.resource_kind == "twin", shares.c.resource_id == twin.id)
        )
        # children before parents: scenarios reference their parent
        for sid in sorted(ids, reverse=True):
            conn.execute(scenarios.delete().where(scenarios.c.id == sid))
        conn.execute(twins.delete().where(twins.c.id == twin.id))


def scenario_history(db: Database, twin_name: str, scenario_name: str) -> list[dict[str, Any]]:
    """The edits of a scenario: who, when, why and how much."""
    with db.read() as conn:
        twin: Twin = get_twin(conn, twin_name)
        scenario = get_scenario(conn, twin, scenario_name)
        rows = conn.execute(
            select(edits).where(edits.c.scenario_id == scenario.id).order_by(edits.c.seq)
        ).mappings()
        return [
            {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()}
            for r in rows
        ]
