"""Layers of a twin as feature collections, for OGC API – Features, through the policy point."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import orjson
import shapely
from pyproj import Transformer
from sqlalchemy import select

from tweeling.access.identity import Principal
from tweeling.access.policy import Action, Kind
from tweeling.errors import InvalidInput, NotFound
from tweeling.services.twins import authorised_twin
from tweeling.services.usage import recorder
from tweeling.storage import attribute_index, filters
from tweeling.storage.db import Database
from tweeling.storage.schema import datasets
from tweeling.twin.crs import horizontal
from tweeling.twin.export import document_for
from tweeling.twin.twins import get_scenario
from tweeling.twin.views import FeatureRow, feature_rows, layer_extents, resolve, view_of

MAX_LIMIT = 10_000


@dataclass(frozen=True)
class Page:
    features: list[bytes]  # each a GeoJSON feature, serialised
    more: bool
    crs: str  # the CRS of the geometries (a code)


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


CRS84_URI = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
# Output CRSs besides CRS84 (OGC API – Features Part 2); a twin's own CRS is added per twin.
EXTRA_CRS = ("EPSG:4326", "EPSG:28992", "EPSG:7415")


def crs_uri(code: str) -> str:
    if code == "OGC:CRS84":
        return CRS84_URI
    return f"http://www.opengis.net/def/crs/EPSG/0/{code.split(':', 1)[1]}"


def supported_crs(twin_crs: str) -> list[str]:
    return [CRS84_URI, *dict.fromkeys(crs_uri(c) for c in (*EXTRA_CRS, twin_crs))]


def parse_crs_uri(uri: str, twin_crs: str) -> str:
    """The code for a CRS URI this service offers (400 for any other)."""
    if uri in (CRS84_URI, "OGC:CRS84"):
        return "OGC:CRS84"
    for code in (*EXTRA_CRS, twin_crs):
        if uri in (crs_uri(code), code):
            return code
    raise InvalidInput(
        f"CRS {uri!r} is not offered; use one of {', '.join(supported_crs(twin_crs))}"
    )


@lru_cache(maxsize=32)
def _from_crs84(code: str) -> Transformer:
    # Authority axis order (latitude first for EPSG:4326), as OGC API Part 2 prescribes.
    return Transformer.from_crs("OGC:CRS84", horizontal(code))


@lru_cache(maxsize=32)
def _to_crs84(code: str) -> Transformer:
    return Transformer.from_crs(horizontal(code), "OGC:CRS84", always_xy=True)


def bbox_to_crs84(
    bbox: tuple[float, float, float, float], code: str
) -> tuple[float, float, float, float]:
    """A bbox given in ``code`` (in that CRS's axis order) as a CRS84 box, edges densified."""
    if code == "OGC:CRS84":
        return bbox
    if horizontal(code).is_geographic:  # EPSG:4326: latitude, longitude
        return bbox[1], bbox[0], bbox[3], bbox[2]
    x1, y1, x2, y2 = _to_crs84(code).transform_bounds(*bbox, densify_pts=21)
    return float(x1), float(y1), float(x2), float(y2)


def _reproject(geometry: Any, code: str) -> Any:
    if code == "OGC:CRS84":
        return geometry
    transformer = _from_crs84(code)

    def move(xy: Any) -> Any:
        a, b = transformer.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([a, b])

    return shapely.transform(geometry, move)


_RESERVED = (b'"cityjson_type"', b'"parents"')


def _properties(row: FeatureRow) -> bytes:
    """The stored attributes with the object type (and parents) in front, spliced as bytes."""
    attributes = row.attributes_json.strip()
    if any(key in attributes for key in _RESERVED):  # rare: merge as dicts to avoid repeats
        merged = {**orjson.loads(attributes), "cityjson_type": row.object_type}
        if row.parents:
            merged["parents"] = row.parents
        return orjson.dumps(merged)
    head = b'{"cityjson_type":' + orjson.dumps(row.object_type)
    if row.parents:
        head += b',"parents":' + orjson.dumps(row.parents)
    if attributes in (b"{}", b""):
        return head + b"}"
    return head + b"," + attributes[1:]


def encode_features(rows: list[FeatureRow], crs: str = "OGC:CRS84") -> list[bytes]:
    """GeoJSON features as bytes; geometries converted (and reprojected) in one vectorised
    pass, attributes passed through from storage without a parse–dump round trip."""
    geoms = shapely.from_wkb([r.footprint for r in rows])
    present = ~shapely.is_missing(geoms)
    if crs != "OGC:CRS84" and present.any():
        geoms[present] = _reproject(geoms[present], crs)
    texts = shapely.to_geojson(geoms)
    return [
        b'{"type":"Feature","id":'
        + orjson.dumps(row.object_id)
        + b',"geometry":'
        + (text.encode() if text is not None else b"null")
        + b',"properties":'
        + _properties(row)
        + b"}"
        for row, text in zip(rows, texts, strict=True)
    ]


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
    crs: str | None = None,
    bbox_crs: str | None = None,
    datetime: str | None = None,
) -> Page:
    """A page of features and whether more follow; each request is one use per dataset.

    ``crs`` and ``bbox_crs`` are CRS URIs (or codes) as a client names them; ``bbox`` is
    in ``bbox_crs`` (default CRS84).
    """
    with db.read(snapshot=False) as conn:  # one connection for the request's lookups
        clauses, params = [], {}
        order_sql, source_sql = "o.pk", None
        if cql:
            tree = filters.parse(cql, cql_lang)
            if db.backend.name == "sqlite":  # the functions its filters call
                filters.prepare_sqlite(conn.connection.driver_connection)
            indexed = attribute_index.indexed(conn)
            sql, found = filters.to_sql(tree, db.backend.name, indexed)
            follow = filters.index_to_follow(tree, indexed)
            if follow is not None and object_id is None:
                order_sql = attribute_index.value_sql(db.backend.name, *follow) + ", o.pk"
                if bbox is None:
                    source_sql = attribute_index.ordered_source(db.backend.name, *follow)
            clauses.append(sql)
            params.update(found)
        if properties:
            sql, found = filters.equals(properties, db.backend.name)
            clauses.append(sql)
            params.update(found)
        twin = authorised_twin(db, principal, twin_name, Kind.dataset, Action.read, purpose, conn)
        out_crs = parse_crs_uri(crs, twin.crs) if crs else "OGC:CRS84"
        if bbox is not None and bbox_crs:
            bbox = bbox_to_crs84(bbox, parse_crs_uri(bbox_crs, twin.crs))
        if datetime:
            start, end = filters.parse_datetime(datetime)
            attribute = time_attribute(db, twin.id, layer)
            if attribute is None:
                clauses.append("(1 = 0)")  # nothing in this layer is dated
            else:
                sql, found = filters.within_time(attribute, start, end, db.backend.name)
                clauses.append(sql)
                params.update(found)
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
            order_sql=order_sql,
            source_sql=source_sql,
        )
    recorder(db).record(principal, twin.id, purpose, "ogc:features")
    if object_id is not None and not rows:
        raise NotFound(f"layer {layer!r} of twin {twin_name!r} has no feature {object_id!r}")
    return Page(encode_features(rows[:limit], out_crs), len(rows) > limit, out_crs)


def twin_crs(db: Database, principal: Principal, twin_name: str, purpose: str | None) -> str:
    return authorised_twin(db, principal, twin_name, Kind.dataset, Action.read, purpose).crs


def city_json(
    db: Database,
    principal: Principal,
    twin_name: str,
    layer: str,
    *,
    ids: list[str],
    scenario: str = "current",
    purpose: str | None = None,
) -> dict[str, Any]:
    """The given features of a layer as one CityJSON 2.0 document, with full 3D geometry."""
    twin = authorised_twin(db, principal, twin_name, Kind.dataset, Action.read, purpose)
    with db.read() as conn:
        view = view_of(conn, get_scenario(conn, twin, scenario))
        found = resolve(conn, view, ids)
        objects = [found[i] for i in ids if i in found and found[i].layer == layer]
        return document_for(conn, twin, view, objects)


def time_attribute(db: Database, twin_id: int, layer: str) -> str | None:
    """The attribute that dates objects of this layer, judged from the datasets' profiles."""
    with db.read() as conn:
        profiles = [
            q
            for (q,) in conn.execute(
                select(datasets.c.quality).where(datasets.c.twin_id == twin_id)
            )
        ]
    present: set[str] = set()
    for quality in profiles:
        present.update((quality.get(layer) or {}).get("attributes", {}))
    return next((a for a in filters.TIME_ATTRIBUTES if a in present), None)


QUERYABLES_SAMPLE = 2000  # objects read to tell each attribute's JSON type


def _schema_type(value: Any) -> tuple[str, str | None] | None:
    """A JSON value's JSON Schema type, with the format CQL2 compares it as (date, date-time)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean", None
    if isinstance(value, int):
        return "integer", None
    if isinstance(value, float):
        return "number", None
    if isinstance(value, str):
        if filters.utc_timestamp(value) is not None:
            return "string", "date-time"
        is_date = len(value) == 10 and filters.parse_date(value) is not None
        return "string", "date" if is_date else None
    return ("array", None) if isinstance(value, list) else ("object", None)


def queryables(
    db: Database,
    principal: Principal,
    twin_name: str,
    layer: str,
    *,
    scenario: str = "current",
    purpose: str | None = None,
) -> dict[str, dict[str, Any]]:
    """The properties a filter on this layer can name, as JSON Schema: the layer's attributes
    (from the datasets' profiles, typed by the values of up to ``QUERYABLES_SAMPLE``
    objects), the object's id and type, and its geometry."""
    twin = authorised_twin(db, principal, twin_name, Kind.dataset, Action.read, purpose)
    with db.read() as conn:
        view = view_of(conn, get_scenario(conn, twin, scenario))
        if layer not in layer_extents(conn, view):
            raise NotFound(f"twin {twin_name!r} has no layer {layer!r}")
        rows = feature_rows(
            conn,
            view,
            footprint_sql="NULL",
            bbox_source=None,
            layer=layer,
            limit=QUERYABLES_SAMPLE,
        )
        profiles = [
            q
            for (q,) in conn.execute(
                select(datasets.c.quality).where(datasets.c.twin_id == twin.id)
            )
        ]
    seen: dict[str, set[tuple[str, str | None]]] = {}
    for quality in profiles:
        for name in (quality.get(layer) or {}).get("attributes", {}):
            seen.setdefault(name, set())
    for row in rows:
        for name, value in orjson.loads(row.attributes_json or b"{}").items():
            typed = _schema_type(value)
            kinds = seen.setdefault(name, set())
            if typed is not None:
                kinds.add(typed)
    out: dict[str, dict[str, Any]] = {
        "geometry": {
            "title": "footprint (CRS84)",
            "format": "geometry-any",
            "x-ogc-role": "primary-geometry",
        },
        "id": {"title": "object id", "type": "string", "x-ogc-role": "id"},
        "cityjson_type": {"title": "CityJSON object type", "type": "string"},
    }
    for name in sorted(seen):
        if name in out or not attribute_index.NAME.match(name):
            continue
        out[name] = _property_schema(name, seen[name])
    return out


def _property_schema(name: str, kinds: set[tuple[str, str | None]]) -> dict[str, Any]:
    types = {t for t, _ in kinds}
    if {"integer", "number"} <= types:  # a number, some of them whole
        types.discard("integer")
    schema: dict[str, Any] = {"title": name}
    if len(types) == 1:
        schema["type"] = types.pop()
    elif types:
        schema["type"] = sorted(types)
    formats = {f for _, f in kinds}
    if len(formats) == 1 and None not in formats:
        schema["format"] = formats.pop()
    return schema
