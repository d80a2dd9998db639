"""Twins, datasets and scenarios on behalf of a principal."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from pyproj import CRS as ProjCRS
from sqlalchemy import Connection, bindparam, insert, or_, select

from tweeling.access.audit import acted, record
from tweeling.access.identity import Principal, get_organisation
from tweeling.access.policy import Action, Kind, Resource, Share, authorize, decide
from tweeling.errors import InputFileError, InvalidInput, NotFound
from tweeling.services.usage import flush as flush_usage
from tweeling.storage.db import Database, clock_of
from tweeling.storage.schema import datasets, organisations, shares, twins, usage_log
from tweeling.twin import scenarios as core
from tweeling.twin import sketch
from tweeling.twin import twins as core_twins
from tweeling.twin.cityjson_in import CityJSONParser, declared_crs
from tweeling.twin.crs import CRS84, transform_xy
from tweeling.twin.importers import importer_for
from tweeling.twin.model import CityObject, GeometryTemplate
from tweeling.twin.model import ScenarioKind as ScenarioKind
from tweeling.twin.rows import reproject
from tweeling.twin.scenarios import Changes as Changes
from tweeling.twin.sketch import Footprint as Footprint
from tweeling.twin.twins import Scenario, Twin, get_scenario, get_twin, list_scenarios
from tweeling.twin.views import count_by_type, resolve, view_of

_ACTIVE_SHARES = select(shares.c.grantee_org_id, shares.c.purposes).where(
    shares.c.resource_kind == bindparam("kind"),
    shares.c.resource_id == bindparam("id"),
    shares.c.revoked_at.is_(None),
)


def _shares(conn: Connection, kind: Kind, resource_id: int) -> tuple[Share, ...]:
    rows = conn.execute(_ACTIVE_SHARES, {"kind": kind.value, "id": resource_id})
    return tuple(Share(g, frozenset(p or [])) for g, p in rows)


def twin_resource(conn: Connection, twin: Twin, kind: Kind = Kind.twin) -> Resource:
    """A twin (or its datasets and scenarios, which share its owner and shares) for policy."""
    return Resource(
        kind,
        f"twin:{twin.name}",
        owner_org_id=twin.owner_org_id,
        public=twin.public,
        shares=_shares(conn, Kind.twin, twin.id),
    )


def authorised_twin(
    db: Database,
    principal: Principal,
    name: str,
    kind: Kind,
    action: Action,
    purpose: str | None,
    conn: Connection | None = None,
) -> Twin:
    """The twin, if the principal may do ``action`` on it (the policy point); ``conn``
    lets a request's lookups share one connection."""
    if conn is None:
        with db.read(snapshot=False) as own:
            return authorised_twin(db, principal, name, kind, action, purpose, own)
    try:
        twin = get_twin(conn, name)
    except NotFound:
        twin = None
    resource = twin_resource(conn, twin, kind) if twin else None
    if twin is None or resource is None:
        # the same answer as for a twin that exists but is not visible: nothing leaks
        raise NotFound(f"no twin named {name!r}")
    authorize(db, principal, action, resource, purpose)
    return twin


@dataclass(frozen=True)
class TwinInfo:
    name: str
    title: str | None
    crs: str
    public: bool
    owner: str | None
    scenarios: list[str]
    objects: dict[str, int]


def visible_twins(db: Database, principal: Principal) -> list[str]:
    """Names of the twins the principal may see (own, shared with it, public)."""
    with db.read() as conn:
        shared_ids = select(shares.c.resource_id).where(
            shares.c.resource_kind == Kind.twin.value,
            shares.c.revoked_at.is_(None),
            or_(shares.c.grantee_org_id == principal.org.id, shares.c.grantee_org_id.is_(None)),
        )
        query = select(twins.c.name).order_by(twins.c.name)
        if not principal.operator:
            query = query.where(
                or_(
                    twins.c.owner_org_id == principal.org.id,
                    twins.c.public.is_(True),
                    twins.c.id.in_(shared_ids),
                )
            )
        rows = conn.execute(query)
        names = [r[0] for r in rows]
        return [
            n
            for n in names
            if decide(principal, Action.read, twin_resource(conn, get_twin(conn, n))).visible
        ]


def twin_summaries(db: Database, principal: Principal) -> list[core_twins.TwinSummary]:
    """The twins the principal may see, with their scenarios, datasets and object counts."""
    visible = set(visible_twins(db, principal))
    with db.read() as conn:
        return [s for s in core_twins.list_twins(conn) if s.twin.name in visible]


def scenarios(db: Database, principal: Principal, twin_name: str) -> list[Scenario]:
    """A twin's scenarios, for whoever may see the twin."""
    twin_info(db, principal, twin_name)  # the policy point: may the principal see the twin?
    with db.read() as conn:
        return list_scenarios(conn, get_twin(conn, twin_name))


def twin_info(
    db: Database, principal: Principal, name: str, purpose: str | None = None
) -> TwinInfo:
    twin = authorised_twin(db, principal, name, Kind.twin, Action.read, purpose)
    with db.read() as conn:
        scenario_list = list_scenarios(conn, twin)
        current = next(s for s in scenario_list if s.name == "current")
        counts = count_by_type(conn, view_of(conn, current))
        owner = conn.execute(
            select(organisations.c.name).where(organisations.c.id == twin.owner_org_id)
        ).scalar()
    return TwinInfo(
        twin.name, twin.title, twin.crs, twin.public, owner, [s.name for s in scenario_list], counts
    )


def share_twin(
    db: Database,
    principal: Principal,
    name: str,
    *,
    with_org: str | None,
    purposes: list[str],
    public: bool = False,
) -> None:
    """Share a twin (its datasets and scenarios) with an organisation, or make it public."""
    twin = authorised_twin(db, principal, name, Kind.twin, Action.share, None)
    with db.begin() as conn:
        if public:
            conn.execute(twins.update().where(twins.c.id == twin.id).values(public=True))
            target = "everyone"
        else:
            if not with_org:
                raise InvalidInput("name the organisation to share with, or make the twin public")
            if twin.owner_org_id is None:
                raise InvalidInput(f"twin {name!r} has no owning organisation to share from")
            grantee = get_organisation(conn, with_org)
            conn.execute(
                insert(shares).values(
                    resource_kind=Kind.twin.value,
                    resource_id=twin.id,
                    owner_org_id=twin.owner_org_id,
                    grantee_org_id=grantee.id,
                    purposes=sorted(set(purposes)),
                    created_by=principal.email,
                    created_at=clock_of(conn).now(),
                )
            )
            target = grantee.name
        record(
            conn,
            acted(
                principal,
                "twin.share",
                f"twin:{name}",
                {"with": target, "purposes": sorted(set(purposes))},
            ),
        )


def create_scenario(
    db: Database, principal: Principal, twin_name: str, name: str, **options: Any
) -> Scenario:
    authorised_twin(db, principal, twin_name, Kind.scenario, Action.create, None)
    scenario = core.create_scenario(db, twin_name, name, author=principal.email, **options)
    with db.begin() as conn:
        record(
            conn,
            acted(
                principal,
                "scenario.create",
                f"twin:{twin_name}/scenario:{name}",
                {"from": options.get("source", "current")},
            ),
        )
    return scenario


def edit_scenario(
    db: Database,
    principal: Principal,
    twin_name: str,
    scenario: str,
    changes: core.Changes,
    reason: str,
) -> core.EditResult:
    authorised_twin(db, principal, twin_name, Kind.scenario, Action.update, None)
    result = core.edit(db, twin_name, scenario, changes, reason=reason, author=principal.email)
    with db.begin() as conn:
        record(
            conn,
            acted(
                principal,
                "scenario.edit",
                f"twin:{twin_name}/scenario:{scenario}",
                {
                    "edit": result.seq,
                    "added": result.added,
                    "modified": result.modified,
                    "deleted": result.deleted,
                    "reason": reason,
                },
            ),
        )
    return result


def _cityjson_objects(doc: dict[str, Any] | None, what: str) -> tuple[list[CityObject], str | None]:
    """The objects of a CityJSON document sent in a request, and the CRS it declares."""
    if doc is None:
        return [], None
    parser = CityJSONParser(path=Path(f"request body '{what}'"))
    if doc.get("type") != "CityJSON":
        raise InvalidInput(f"'{what}' must be a CityJSON document")
    parser.transform = doc.get("transform")
    try:
        objects = parser.objects(doc.get("CityObjects"), doc.get("vertices") or [])
        crs = declared_crs(parser, doc, None)
    except InputFileError as exc:
        raise InvalidInput(str(exc)) from None
    return objects, crs


def _file_objects(
    path: Path, crs: str | None
) -> tuple[list[CityObject], list[GeometryTemplate], str | None]:
    source = importer_for(path).open(path, crs)
    objects = [obj for batch in source.batches for obj in batch]
    if source.crs is None and any(o.vertices for o in objects):
        raise InputFileError(path, "no CRS declared in the file; pass --crs EPSG:<code>")
    return objects, source.templates, source.crs


def edit_scenario_files(
    db: Database,
    principal: Principal,
    twin_name: str,
    scenario: str,
    *,
    add: Path | None,
    modify: Path | None,
    delete: list[str],
    crs: str | None,
    reason: str,
) -> core.EditResult:
    """An edit given as files (the CLI's): objects to add, objects to change (attributes
    merge, geometry replaces), ids to delete; ``crs`` for files that declare none. The files
    are read and checked first."""
    changes = core.Changes(delete=delete)
    crss = set()
    for path, target in ((add, changes.add), (modify, changes.modify)):
        if path is None:
            continue
        objects, templates, file_crs = _file_objects(path, crs)
        target.extend(objects)
        changes.templates.extend(templates)
        if file_crs:
            crss.add(file_crs)
    if len(crss) > 1:
        raise InputFileError(
            add or modify or "", f"change files use different CRSs: {sorted(crss)}"
        )
    changes.crs = crss.pop() if crss else None
    return edit_scenario(db, principal, twin_name, scenario, changes, reason)


def edit_scenario_cityjson(
    db: Database,
    principal: Principal,
    twin_name: str,
    scenario: str,
    *,
    add: dict[str, Any] | None,
    modify: dict[str, Any] | None,
    delete: list[str],
    reason: str,
    heights: dict[str, float] | None = None,
    footprints: list[sketch.Footprint] | None = None,
) -> core.EditResult:
    """An edit given as CityJSON documents (the HTTP API's body): objects to add, objects to
    modify (attributes merge) and ids to delete. The documents are checked first.

    The Studio's sketch gestures come in the same edit: ``heights`` (object id → new height
    in metres) and ``footprints`` drawn in CRS84, extruded to LoD1 blocks."""
    added, crs_add = _cityjson_objects(add, "add")
    modified, crs_modify = _cityjson_objects(modify, "modify")
    crs = crs_add or crs_modify
    has_geometry = any(o.vertices is not None and len(o.vertices) for o in modified)
    if (added or has_geometry) and crs is None:
        raise InvalidInput("the CityJSON documents must declare metadata.referenceSystem")
    if heights or footprints:
        # the sketches are made in the twin's CRS, so the documents' objects move there first
        twin = authorised_twin(db, principal, twin_name, Kind.scenario, Action.update, None)
        if crs:
            reproject(added + modified, crs, twin.crs)
            crs = None
        modified += _stretched(db, twin, scenario, heights or {})
        added += [_extruded(twin, drawn) for drawn in footprints or []]
    changes = core.Changes(add=added, modify=modified, delete=delete, crs=crs)
    return edit_scenario(db, principal, twin_name, scenario, changes, reason)


def _stretched(
    db: Database, twin: Twin, scenario: str, heights: dict[str, float]
) -> list[CityObject]:
    if not heights:
        return []
    with db.read() as conn:
        found = resolve(conn, view_of(conn, get_scenario(conn, twin, scenario)), list(heights))
    missing = sorted(set(heights) - set(found))
    if missing:
        raise NotFound(f"object {missing[0]!r} does not exist in scenario {scenario!r}")
    return [sketch.stretched(found[oid].to_city_object(), h) for oid, h in heights.items()]


@lru_cache(maxsize=32)
def _area_of_use(crs: str) -> tuple[float, float, float, float] | None:
    area = ProjCRS.from_user_input(crs).area_of_use
    return None if area is None else (area.west, area.south, area.east, area.north)


def _extruded(twin: Twin, drawn: sketch.Footprint) -> CityObject:
    lon = np.asarray([p[0] for p in drawn.outline], dtype=np.float64)
    lat = np.asarray([p[1] for p in drawn.outline], dtype=np.float64)
    area = _area_of_use(twin.crs)
    inside = area is None or bool(
        ((lon >= area[0]) & (lon <= area[2]) & (lat >= area[1]) & (lat <= area[3])).all()
    )
    xs, ys = transform_xy(CRS84, twin.crs, lon, lat)
    if not (inside and np.isfinite(xs).all() and np.isfinite(ys).all()):
        raise InvalidInput(
            f"object {drawn.id!r}: the footprint lies outside the area of {twin.crs}"
        )
    outline = [[round(float(x), 3), round(float(y), 3)] for x, y in zip(xs, ys, strict=True)]
    return sketch.extruded(
        drawn.id, outline, base=drawn.base, height=drawn.height, object_type=drawn.type
    )


def diff_scenarios(
    db: Database, principal: Principal, twin_name: str, a: str, b: str, purpose: str | None = None
) -> core.Diff:
    authorised_twin(db, principal, twin_name, Kind.scenario, Action.read, purpose)
    return core.diff(db, twin_name, a, b)


def create_twin(
    db: Database, principal: Principal, name: str, crs: str, title: str | None = None
) -> Twin:
    """A new, empty twin owned by the principal's organisation."""
    authorize(
        db,
        principal,
        Action.create,
        Resource(Kind.twin, f"twin:{name}", owner_org_id=principal.org.id),
    )
    with db.begin() as conn:
        twin = core_twins.create_twin(
            conn, name, crs, title=title, author=principal.email, owner_org_id=principal.org.id
        )
        record(conn, acted(principal, "twin.create", f"twin:{name}", {"crs": twin.crs}))
    return twin


def update_twin(db: Database, principal: Principal, name: str, *, title: str | None) -> None:
    twin = authorised_twin(db, principal, name, Kind.twin, Action.update, None)
    with db.begin() as conn:
        conn.execute(twins.update().where(twins.c.id == twin.id).values(title=title))
        record(conn, acted(principal, "twin.update", f"twin:{name}", {"title": title}))


def delete_twin(db: Database, principal: Principal, name: str) -> None:
    authorised_twin(db, principal, name, Kind.twin, Action.delete, None)
    core.delete_twin(db, name)
    with db.begin() as conn:
        record(conn, acted(principal, "twin.delete", f"twin:{name}"))


def delete_scenario(db: Database, principal: Principal, twin_name: str, name: str) -> None:
    authorised_twin(db, principal, twin_name, Kind.scenario, Action.delete, None)
    core.delete_scenario(db, twin_name, name)
    with db.begin() as conn:
        record(conn, acted(principal, "scenario.delete", f"twin:{twin_name}/scenario:{name}"))


def usage(db: Database, principal: Principal, twin_name: str) -> list[dict[str, Any]]:
    """Who used the twin's datasets, when, for what ("who uses our data") — for its owner."""
    twin = authorised_twin(db, principal, twin_name, Kind.twin, Action.share, None)
    flush_usage(db)  # this process's pending reads belong in the answer
    with db.read() as conn:
        rows = conn.execute(
            select(
                usage_log.c.at,
                usage_log.c.user_email,
                organisations.c.name,
                usage_log.c.dataset_id,
                usage_log.c.purpose,
                usage_log.c.action,
            )
            .select_from(
                usage_log.outerjoin(organisations, organisations.c.id == usage_log.c.org_id)
            )
            .where(
                usage_log.c.dataset_id.in_(
                    select(datasets.c.id).where(datasets.c.twin_id == twin.id)
                )
            )
            .order_by(usage_log.c.at)
        )
        return [
            {
                "at": at.isoformat(),
                "user": user,
                "organisation": org,
                "dataset": ds,
                "purpose": purpose,
                "action": action,
            }
            for at, user, org, ds, purpose, action in rows
        ]


def history(
    db: Database, principal: Principal, twin_name: str, scenario: str
) -> list[dict[str, Any]]:
    authorised_twin(db, principal, twin_name, Kind.scenario, Action.read, None)
    return core.scenario_history(db, twin_name, scenario)
