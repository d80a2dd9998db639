"""Layers of a twin as feature collections, for OGC API – Features, through the policy point."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import shapely
from sqlalchemy import insert, select

from tweeling.access.identity import Principal
from tweeling.access.policy import Action, Kind
from tweeling.errors import NotFound
from tweeling.services.twins import authorised_twin
from tweeling.storage import filters
from tweeling.storage.db import Database
from tweeling.storage.schema import datasets, usage_log
from tweeling.twin.twins import get_scenario, now
from tweeling.twin.views import feature_rows, layer_extents, view_of

MAX_LIMIT = 10_000


@dataclass(frozen=True)
class Layer:
    id: str
    objects: int
    extent: list[float]


def layers(
    db: Database, principal: Principal, twin_name: str, scenario: str, purpose: str | None
) -> list[Layer]:
    twin = authorised_twin(db, principal, twin_name, Kind.dataset, Action.read, purpose)
    with db.read() as conn:
        view = view_of(conn, get_scenario(conn, twin, scenario))
        return [Layer(k, n, box) for k, (n, box) in layer_extents(conn, view).items()]


def _feature(row: Any) -> dict[str, Any]:
    geometry = (
        orjson.loads(shapely.to_geojson(shapely.from_wkb(row.footprint)))
        if row.footprint is not None
        else None
    )
    properties = {"cityjson_type": row.object_type, **row.attributes}
    if row.parents:
        properties["parents"] = row.parents
    return {"type": "Feature", "id": row.object_id, "geometry": geometry, "properties": properties}


def items(
    db: Database,
    principal: Principal,
    twin_name: str,
    layer: str,
    *,
    scenario: str = "current",
    bbox: tuple[float, float, float, float] | None = None,
    limit: int = 10,
    offset: int = 0,
    purpose: str | None = None,
    object_id: str | None = None,
    cql: str | None = None,
    cql_lang: str = "cql2-text",
    properties: dict[str, str] | None = None,
) -> tuple[list[dict[str, Any]], bool]:
    """A page of features and whether more follow; each request is one use per dataset."""
    clauses, params = [], {}
    if cql:
        sql, found = filters.to_sql(filters.parse(cql, cql_lang), db.backend.name)
        clauses.append(sql)
        params.update(found)
    if properties:
        sql, found = filters.equals(properties, db.backend.name)
        clauses.append(sql)
        params.update(found)
    twin = authorised_twin(db, principal, twin_name, Kind.dataset, Action.read, purpose)
    with db.begin() as conn:
        view = view_of(conn, get_scenario(conn, twin, scenario))
        rows = feature_rows(
            conn,
            view,
            footprint_sql=db.backend.footprint_wkb("o"),
            bbox_source=db.backend.bbox_source("o") if bbox else None,
            layer=layer,
            bbox=bbox,
            limit=limit + 1,
            offset=offset,
            object_id=object_id,
            where_sql=" AND ".join(clauses) or None,
            where_params=params,
        )
        for (dataset_id,) in conn.execute(
            select(datasets.c.id).where(datasets.c.twin_id == twin.id)
        ):
            conn.execute(
                insert(usage_log).values(
                    at=now(),
                    user_email=principal.email,
                    org_id=principal.org.id or None,
                    dataset_id=dataset_id,
                    purpose=purpose,
                    action="ogc:features",
                )
            )
    if object_id is not None and not rows:
        raise NotFound(f"layer {layer!r} of twin {twin_name!r} has no feature {object_id!r}")
    return [_feature(r) for r in rows[:limit]], len(rows) > limit
