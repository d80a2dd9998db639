"""What a scenario sees: its own rows over its ancestors' rows as they were when it forked.

A scenario's *chain* lists (scenario id, bound): itself with no bound (its live rows), then
each ancestor with the edit number up to which the scenario sees it. A row is visible in a
chain element when it was written at or before the bound and not superseded by then; the
first chain element holding an object wins, and a winning tombstone hides the object.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, TextualSelect, text

from tweeling.storage.schema import Json, json_bytes
from tweeling.twin.model import CityObject
from tweeling.twin.twins import Scenario, scenario_by_id

ChainElement = tuple[int, int | None]

_ROW_COLUMNS = (
    "pk, scenario_id, object_id, object_type, layer, seq, deleted, parents, children, "
    "attributes, geometry, content_hash, dataset_id"
)


@dataclass(frozen=True)
class View:
    scenario: Scenario
    chain: tuple[ChainElement, ...]

    def visible(self, alias: str = "o") -> tuple[str, dict[str, Any]]:
        """SQL condition (and its parameters) selecting the rows of ``alias`` this view sees."""
        params: dict[str, Any] = {}
        clauses = []
        for k, (sid, bound) in enumerate(self.chain):
            own = _element(alias, k, sid, bound, params)
            if k:
                earlier = " OR ".join(
                    _element("w", j, s, b, params) for j, (s, b) in enumerate(self.chain[:k])
                )
                own += (
                    f" AND NOT EXISTS (SELECT 1 FROM city_objects w WHERE "
                    f"w.object_id = {alias}.object_id AND ({earlier}))"
                )
            clauses.append(f"({own})")
        return f"({' OR '.join(clauses)})", params


def _element(alias: str, k: int, sid: int, bound: int | None, params: dict[str, Any]) -> str:
    params[f"s{k}"] = sid
    if bound is None:
        return f"({alias}.scenario_id = :s{k} AND {alias}.valid_to IS NULL)"
    params[f"b{k}"] = bound
    return (
        f"({alias}.scenario_id = :s{k} AND {alias}.seq <= :b{k} "
        f"AND ({alias}.valid_to IS NULL OR {alias}.valid_to > :b{k}))"
    )


def view_of(conn: Connection, scenario: Scenario) -> View:
    chain: list[ChainElement] = [(scenario.id, None)]
    bound: int | None = None
    current = scenario
    while current.parent_id is not None:
        fork = current.fork_seq if current.fork_seq is not None else 0
        bound = fork if bound is None else min(bound, fork)
        current = scenario_by_id(conn, current.parent_id)
        chain.append((current.id, bound))
    return View(scenario, tuple(chain))


def view_as_of(conn: Connection, scenario: Scenario, seq: int) -> View:
    """The scenario as it was just after edit ``seq``: what a past run read, for replay."""
    chain = view_of(conn, scenario).chain
    return View(scenario, tuple((sid, seq if b is None else min(b, seq)) for sid, b in chain))


@dataclass(frozen=True)
class StoredObject:
    pk: int
    scenario_id: int
    object_id: str
    object_type: str
    layer: str
    seq: int
    deleted: bool
    parents: list[str]
    children: list[str]
    attributes: dict[str, Any]
    geometry_blob: bytes
    content_hash: str
    dataset_id: int | None = None  # the dataset the object came from (kept through edits)

    def to_city_object(self) -> CityObject:
        doc = orjson.loads(self.geometry_blob) if self.geometry_blob else {}
        return CityObject(
            id=self.object_id,
            type=self.object_type,
            attributes=dict(self.attributes),
            geometry=doc.get("geometry", []),
            vertices=doc.get("vertices", []),
            parents=list(self.parents),
            children=list(self.children),
            extra=doc.get("extra", {}),
        )


def _typed(sql: str, *json_columns: str) -> TextualSelect:
    """Raw SQL whose JSON result columns arrive as Python values (the Json column type)."""
    return text(sql).columns(**dict.fromkeys(json_columns, Json))


_OBJECT_JSON = ("parents", "children", "attributes")


def _stored(row: Sequence[Any]) -> StoredObject:
    return StoredObject(
        pk=row[0],
        scenario_id=row[1],
        object_id=row[2],
        object_type=row[3],
        layer=row[4],
        seq=row[5],
        deleted=bool(row[6]),
        parents=row[7] or [],
        children=row[8] or [],
        attributes=row[9] or {},
        geometry_blob=bytes(row[10]),
        content_hash=row[11],
        dataset_id=row[12],
    )


def resolve(
    conn: Connection, view: View, object_ids: Iterable[str], *, include_deleted: bool = False
) -> dict[str, StoredObject]:
    """The winning row of each given object in this view (tombstones only when asked)."""
    ids = list(dict.fromkeys(object_ids))
    found: dict[str, StoredObject] = {}
    condition, params = view.visible("o")
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        names = {f"id{n}": v for n, v in enumerate(chunk)}
        sql = (
            f"SELECT {_ROW_COLUMNS} FROM city_objects o WHERE {condition} "
            f"AND o.object_id IN ({', '.join(':' + n for n in names)})"
        )
        for row in conn.execute(_typed(sql, *_OBJECT_JSON), {**params, **names}):
            obj = _stored(row)
            if include_deleted or not obj.deleted:
                found[obj.object_id] = obj
    return found


def by_keys(conn: Connection, pks: Sequence[int]) -> list[StoredObject]:
    """Rows by primary key (already known to be visible), in key order."""
    found: list[StoredObject] = []
    for i in range(0, len(pks), 500):
        chunk = [int(p) for p in pks[i : i + 500]]
        sql = (
            f"SELECT {_ROW_COLUMNS} FROM city_objects o "
            f"WHERE o.pk IN ({', '.join(str(p) for p in chunk)}) ORDER BY o.pk"
        )
        found.extend(_stored(row) for row in conn.execute(_typed(sql, *_OBJECT_JSON)))
    return found


def iter_objects(
    conn: Connection,
    view: View,
    *,
    layer: str | None = None,
    top_level_only: bool = False,
    batch: int = 1000,
) -> Iterator[StoredObject]:
    """Every live object of the view, streamed in primary-key order."""
    condition, params = view.visible("o")
    sql = f"SELECT {_ROW_COLUMNS} FROM city_objects o WHERE {condition} AND NOT o.deleted"
    if layer:
        sql += " AND o.layer = :layer"
        params["layer"] = layer
    if top_level_only:
        sql += " AND o.parents IS NULL"
    sql += " ORDER BY o.pk"
    result = conn.execute(
        _typed(sql, *_OBJECT_JSON),
        params,
        execution_options={"stream_results": True, "yield_per": batch},
    )
    try:
        for row in result:
            yield _stored(row)
    finally:
        result.close()


def in_bbox(
    conn: Connection,
    view: View,
    source: str,
    bbox: tuple[float, float, float, float],
    *,
    layer: str | None = None,
    limit: int = 100,
) -> list[StoredObject]:
    """Objects whose CRS84 box meets ``bbox`` (lon/lat); ``source`` is the backend's
    index-driven FROM clause (``SpatialBackend.bbox_source``)."""
    condition, params = view.visible("o")
    x1, y1, x2, y2 = bbox
    params.update(x1=x1, y1=y1, x2=x2, y2=y2, limit=limit)
    columns = ", ".join(f"o.{c.strip()}" for c in _ROW_COLUMNS.split(","))
    sql = (
        f"SELECT {columns} FROM {source} WHERE "
        "o.lon_min <= :x2 AND o.lon_max >= :x1 AND o.lat_min <= :y2 AND o.lat_max >= :y1 "
        f"AND {condition} AND NOT o.deleted"
    )
    if layer:
        sql += " AND o.layer = :layer"
        params["layer"] = layer
    sql += " ORDER BY o.pk LIMIT :limit"
    return [_stored(row) for row in conn.execute(_typed(sql, *_OBJECT_JSON), params)]


def count_by_type(conn: Connection, view: View) -> dict[str, int]:
    condition, params = view.visible("o")
    sql = (
        f"SELECT o.object_type, count(*) FROM city_objects o WHERE {condition} "
        "AND NOT o.deleted GROUP BY o.object_type ORDER BY o.object_type"
    )
    return {str(t): int(n) for t, n in conn.execute(text(sql), params)}


def is_empty(conn: Connection, view: View) -> bool:
    condition, params = view.visible("o")
    sql = f"SELECT 1 FROM city_objects o WHERE {condition} AND NOT o.deleted LIMIT 1"
    return conn.execute(text(sql), params).first() is None


@dataclass(frozen=True)
class FeatureRow:
    """What a 2D feature needs: id, type, attributes, parents and the CRS84 footprint (WKB)."""

    object_id: str
    object_type: str
    attributes_json: bytes  # the stored JSON object, passed through without parsing
    parents: list[str]
    footprint: bytes | None


def feature_rows(
    conn: Connection,
    view: View,
    *,
    footprint_sql: str,
    bbox_source: str | None,
    layer: str,
    bbox: tuple[float, float, float, float] | None = None,
    limit: int = 10,
    offset: int = 0,
    object_id: str | None = None,
    where_sql: str | None = None,
    where_params: dict[str, Any] | None = None,
    order_sql: str = "o.pk",
    source_sql: str | None = None,
) -> list[FeatureRow]:
    """A page of a layer in this view, optionally within a CRS84 box and narrowed by an extra
    SQL condition (a translated filter), in a stable order: key order, or ``order_sql``
    (ending in the key) read from ``source_sql`` (``city_objects o`` through an index)."""
    condition, params = view.visible("o")
    params.update(layer=layer, limit=limit, offset=offset)
    source = source_sql or "city_objects o"
    where = [condition, "NOT o.deleted", "o.layer = :layer"]
    if bbox is not None and bbox_source is not None:
        source = bbox_source
        params.update(x1=bbox[0], y1=bbox[1], x2=bbox[2], y2=bbox[3])
        where.append(
            "o.lon_min <= :x2 AND o.lon_max >= :x1 AND o.lat_min <= :y2 AND o.lat_max >= :y1"
        )
    if object_id is not None:
        where.append("o.object_id = :oid")
        params["oid"] = object_id
    if where_sql:
        where.append(where_sql)
        params.update(where_params or {})
    columns = f"o.object_id, o.object_type, o.attributes, o.parents, {footprint_sql}"
    page = (
        f"FROM {source} WHERE {' AND '.join(where)} ORDER BY {order_sql} "
        "LIMIT :limit OFFSET :offset"
    )
    if offset:
        # A deferred join: the keys of the page are found first (in the index alone, the
        # skipped entries never touching the table), then only the page's rows are read.
        sql = (
            f"SELECT {columns} FROM city_objects o WHERE o.pk IN (SELECT o.pk {page}) "
            f"ORDER BY {order_sql}"
        )
    else:
        sql = f"SELECT {columns} {page}"
    return [
        FeatureRow(
            object_id=row[0],
            object_type=row[1],
            attributes_json=json_bytes(row[2]),
            parents=row[3] or [],
            footprint=bytes(row[4]) if row[4] is not None else None,
        )
        # attributes stay untyped: the stored text is passed through without parsing
        for row in conn.execute(_typed(sql, "parents"), params)
    ]


def layer_extents(conn: Connection, view: View) -> dict[str, tuple[int, list[float]]]:
    """Per layer: number of objects and CRS84 extent [minlon, minlat, maxlon, maxlat]."""
    condition, params = view.visible("o")
    sql = (
        "SELECT o.layer, count(*), min(o.lon_min), min(o.lat_min), max(o.lon_max), "
        f"max(o.lat_max) FROM city_objects o WHERE {condition} AND NOT o.deleted "
        "GROUP BY o.layer ORDER BY o.layer"
    )
    return {
        str(layer): (int(n), [float(v) for v in box] if box[0] is not None else [])
        for layer, n, *box in conn.execute(text(sql), params)
    }
