"""Writing a scenario out: CityJSON 2.0, CityJSONSeq, GeoJSON (CRS84), GeoPackage, 3D Tiles.

Every writer writes to a temporary file beside the target and renames it at the end, so a
failed export never leaves a half-written file behind.
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import orjson
from sqlalchemy import Connection, text

from tweeling.errors import InvalidInput
from tweeling.storage.db import Database
from tweeling.storage.schema import Json
from tweeling.twin.crs import crs_url, horizontal
from tweeling.twin.ingest import load_templates
from tweeling.twin.model import GeometryTemplate, JSONDict
from tweeling.twin.tiles.writer import write_tileset
from tweeling.twin.twins import Twin, get_scenario, get_twin
from tweeling.twin.views import StoredObject, View, iter_objects, resolve, view_of

FORMATS = ("cityjson", "cityjsonseq", "geojson", "gpkg", "3dtiles")
SCALE = 0.001
Progress = Callable[[int], None]


@contextmanager
def _atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` that replaces it only if the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.partial{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def _atomic(path: Path) -> Iterator[BinaryIO]:
    with _atomic_path(path) as tmp, tmp.open("wb") as handle:
        yield handle


class _Quantiser:
    """Real coordinates to CityJSON integer vertices with a shared transform."""

    def __init__(self, translate: tuple[float, float, float]) -> None:
        self.translate = translate

    def __call__(self, v: list[float]) -> tuple[int, int, int]:
        tx, ty, tz = self.translate
        return (
            round((v[0] - tx) / SCALE),
            round((v[1] - ty) / SCALE),
            round((v[2] - tz) / SCALE),
        )

    def transform(self) -> JSONDict:
        return {"scale": [SCALE, SCALE, SCALE], "translate": list(self.translate)}


class _VertexPool:
    """A vertex list being built, each distinct vertex stored once."""

    def __init__(self, quantise: _Quantiser) -> None:
        self.quantise = quantise
        self.index: dict[tuple[int, int, int], int] = {}
        self.vertices: list[tuple[int, int, int]] = []

    def add(self, v: list[float]) -> int:
        q = self.quantise(v)
        i = self.index.get(q)
        if i is None:
            i = len(self.vertices)
            self.index[q] = i
            self.vertices.append(q)
        return i


def _remap(boundaries: Any, table: list[int]) -> Any:
    if boundaries and isinstance(boundaries[0], int):
        return [table[i] for i in boundaries]
    return [_remap(b, table) for b in boundaries]


def _city_object(obj: StoredObject, pool: _VertexPool, template_index: dict[str, int]) -> JSONDict:
    city = obj.to_city_object()
    table = [pool.add(v) for v in city.vertices]
    out: JSONDict = {"type": city.type}
    if city.attributes:
        out["attributes"] = city.attributes
    geometry = []
    for geom in city.geometry:
        g = dict(geom)
        g["boundaries"] = _remap(geom["boundaries"], table)
        if g.get("type") == "GeometryInstance":
            g["template"] = template_index[str(geom["template"])]
        geometry.append(g)
    if geometry:
        out["geometry"] = geometry
    if city.parents:
        out["parents"] = city.parents
    if city.children:
        out["children"] = city.children
    out.update(city.extra)
    return out


def _templates_block(
    templates: dict[str, GeometryTemplate], used: list[str]
) -> tuple[JSONDict | None, dict[str, int]]:
    if not used:
        return None, {}
    index = {key: n for n, key in enumerate(used)}
    verts: list[list[float]] = []
    out = []
    for key in used:
        tpl = templates[key]
        offset = len(verts)
        verts.extend(tpl.vertices)
        g = dict(tpl.geometry)
        g["boundaries"] = _remap(g["boundaries"], list(range(offset, offset + len(tpl.vertices))))
        out.append(g)
    return {"templates": out, "vertices-templates": verts}, index


def _extent(conn: Connection, view: View) -> tuple[float, float, float, float, float, float]:
    condition, params = view.visible("o")
    row = conn.execute(
        text(
            "SELECT min(o.minx), min(o.miny), min(o.minz), max(o.maxx), max(o.maxy), max(o.maxz) "
            f"FROM city_objects o WHERE {condition} AND NOT o.deleted"
        ),
        params,
    ).one()
    if row[0] is None:
        return (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    return tuple(float(v) for v in row)  # type: ignore[return-value]


def _header(twin: Twin, view: View, extent: tuple[float, ...], extensions: JSONDict) -> JSONDict:
    header: JSONDict = {
        "type": "CityJSON",
        "version": "2.0",
        "metadata": {
            "referenceSystem": crs_url(twin.crs),
            "geographicalExtent": list(extent),
            "title": f"{twin.title or twin.name} — scenario {view.scenario.name}",
        },
    }
    if extensions:
        header["extensions"] = extensions
    return header


def _extensions(conn: Connection, twin: Twin) -> JSONDict:
    merged: JSONDict = {}
    for (meta,) in conn.execute(
        text("SELECT meta FROM datasets WHERE twin_id = :t ORDER BY id").columns(meta=Json),
        {"t": twin.id},
    ):
        merged.update(meta.get("extensions") or {})
    return merged


def export(
    db: Database,
    twin_name: str,
    fmt: str,
    out: Path,
    *,
    scenario: str = "current",
    progress: Progress | None = None,
) -> int:
    """Write the scenario to ``out`` in ``fmt``; returns the number of city objects written."""
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown export format {fmt!r}: choose one of {', '.join(FORMATS)}")
    with db.read() as conn:
        twin = get_twin(conn, twin_name)
        view = view_of(conn, get_scenario(conn, twin, scenario))
        writer = {
            "cityjson": _write_cityjson,
            "cityjsonseq": _write_cityjsonseq,
            "geojson": _write_geojson,
            "gpkg": _write_gpkg,
            "3dtiles": _write_3dtiles,
        }[fmt]
        return writer(conn, db, twin, view, out, progress)


def _write_3dtiles(
    conn: Connection, db: Database, twin: Twin, view: View, out: Path, progress: Progress | None
) -> int:
    return write_tileset(conn, twin, view, out, progress)


def _write_cityjson(
    conn: Connection, db: Database, twin: Twin, view: View, out: Path, progress: Progress | None
) -> int:
    extent = _extent(conn, view)
    quantise = _Quantiser((extent[0], extent[1], extent[2]))
    pool = _VertexPool(quantise)
    templates = load_templates(conn, twin)
    block, template_index = _templates_block(templates, list(templates))
    doc = _header(twin, view, extent, _extensions(conn, twin))
    doc["transform"] = quantise.transform()
    objects: JSONDict = {}
    for n, obj in enumerate(iter_objects(conn, view), start=1):
        objects[obj.object_id] = _city_object(obj, pool, template_index)
        if progress and n % 1000 == 0:
            progress(1000)
    doc["CityObjects"] = objects
    doc["vertices"] = pool.vertices
    if block:
        doc["geometry-templates"] = block
    with _atomic(out) as handle:
        handle.write(orjson.dumps(doc))
    return len(objects)


def _write_cityjsonseq(
    conn: Connection, db: Database, twin: Twin, view: View, out: Path, progress: Progress | None
) -> int:
    extent = _extent(conn, view)
    quantise = _Quantiser((extent[0], extent[1], extent[2]))
    templates = load_templates(conn, twin)
    block, template_index = _templates_block(templates, list(templates))
    header = _header(twin, view, extent, _extensions(conn, twin))
    header.update({"transform": quantise.transform(), "CityObjects": {}, "vertices": []})
    if block:
        header["geometry-templates"] = block
    written = 0
    with _atomic(out) as handle:
        handle.write(orjson.dumps(header) + b"\n")
        for top in iter_objects(conn, view, top_level_only=True):
            members = [top, *_descendants(conn, view, top)]
            pool = _VertexPool(quantise)
            feature = {
                "type": "CityJSONFeature",
                "id": top.object_id,
                "CityObjects": {
                    m.object_id: _city_object(m, pool, template_index) for m in members
                },
                "vertices": pool.vertices,
            }
            handle.write(orjson.dumps(feature) + b"\n")
            written += len(members)
            if progress and written % 1000 < len(members):
                progress(1000)
    return written


def _descendants(conn: Connection, view: View, obj: StoredObject) -> list[StoredObject]:
    out: list[StoredObject] = []
    pending = list(obj.children)
    seen = {obj.object_id}
    while pending:
        found = resolve(conn, view, [p for p in pending if p not in seen])
        pending = []
        for child in found.values():
            seen.add(child.object_id)
            out.append(child)
            pending.extend(child.children)
    return out


def _footprint_rows(
    conn: Connection, db: Database, view: View
) -> Iterator[tuple[str, str, str, dict[str, Any], list[str], bytes | None, bytes | None]]:
    condition, params = view.visible("o")
    crs84 = (
        "ST_AsBinary(o.footprint_crs84)" if db.backend.name == "postgresql" else "o.footprint_crs84"
    )
    sql = (
        f"SELECT o.object_id, o.object_type, o.layer, o.attributes, o.parents, o.footprint, "
        f"{crs84} FROM city_objects o WHERE {condition} AND NOT o.deleted ORDER BY o.pk"
    )
    result = conn.execute(
        text(sql).columns(attributes=Json, parents=Json),
        params,
        execution_options={"stream_results": True, "yield_per": 2000},
    )
    for oid, otype, layer, attributes, parents, fp, fp84 in result:
        parent_ids = parents or []
        yield (
            oid,
            otype,
            layer,
            attributes,
            parent_ids,
            bytes(fp) if fp is not None else None,
            bytes(fp84) if fp84 is not None else None,
        )


def _write_geojson(
    conn: Connection, db: Database, twin: Twin, view: View, out: Path, progress: Progress | None
) -> int:
    import shapely

    written = 0
    with _atomic(out) as handle:
        handle.write(b'{"type":"FeatureCollection","features":[\n')
        for oid, otype, layer, attributes, parents, _fp, fp84 in _footprint_rows(conn, db, view):
            geometry = orjson.loads(shapely.to_geojson(shapely.from_wkb(fp84))) if fp84 else None
            properties = {"cityjson_type": otype, "layer": layer, **attributes}
            if parents:
                properties["parents"] = parents
            feature = {"type": "Feature", "id": oid, "geometry": geometry, "properties": properties}
            handle.write((b",\n" if written else b"") + orjson.dumps(feature))
            written += 1
            if progress and written % 1000 == 0:
                progress(1000)
        handle.write(b"\n]}\n")
    return written


def _column(values: list[Any]) -> np.ndarray[Any, Any]:
    """A typed column for GDAL: integers, reals when every value is a number, text otherwise.

    Booleans become 0/1; a number column with gaps becomes real with NaN for the gaps.
    """
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, (bool, int, float)) for v in present):
        if len(present) == len(values) and all(isinstance(v, (bool, int)) for v in present):
            return np.array([int(v) for v in values], dtype=np.int64)
        return np.array([math.nan if v is None else float(v) for v in values])
    return np.array(
        [
            None if v is None else v if isinstance(v, str) else orjson.dumps(v).decode()
            for v in values
        ],
        dtype=object,
    )


def _write_gpkg(
    conn: Connection, db: Database, twin: Twin, view: View, out: Path, progress: Progress | None
) -> int:
    import pyogrio
    import shapely

    layers: dict[str, list[tuple[str, str, dict[str, Any], bytes | None]]] = {}
    for oid, otype, layer, attributes, _parents, fp, _fp84 in _footprint_rows(conn, db, view):
        layers.setdefault(layer, []).append((oid, otype, attributes, fp))
    epsg = horizontal(twin.crs).to_epsg()
    written = 0
    with _atomic_path(out) as tmp:
        for layer, rows in layers.items():
            keys = list(dict.fromkeys(k for _, _, attrs, _ in rows for k in attrs))
            fields = [
                "object_id",
                "cityjson_type",
                *[k for k in keys if k not in ("object_id", "cityjson_type")],
            ]
            data = [
                np.array([r[0] for r in rows], dtype=object),
                np.array([r[1] for r in rows], dtype=object),
            ]
            data.extend(_column([r[2].get(k) for r in rows]) for k in fields[2:])
            geoms = shapely.from_wkb([r[3] for r in rows])
            kinds = set(shapely.get_type_id(geoms[~shapely.is_missing(geoms)]).tolist())
            geometry_type = (
                {6: "MultiPolygon", 4: "MultiPoint"}.get(kinds.pop(), "Unknown")
                if len(kinds) == 1
                else "Unknown"
            )
            pyogrio.raw.write(
                tmp,
                geometry=shapely.to_wkb(geoms),
                field_data=data,
                fields=fields,
                layer=layer,
                driver="GPKG",
                geometry_type=geometry_type,
                crs=f"EPSG:{epsg}",
                append=tmp.exists(),
            )
            written += len(rows)
            if progress:
                progress(len(rows))
    return written


def document_for(
    conn: Connection, twin: Twin, view: View, objects: list[StoredObject]
) -> dict[str, Any]:
    """A CityJSON 2.0 document holding ``objects`` and their descendants (for API responses)."""
    members: dict[str, StoredObject] = {}
    for obj in objects:
        members.setdefault(obj.object_id, obj)
        for child in _descendants(conn, view, obj):
            members.setdefault(child.object_id, child)
    boxes = [(o.to_city_object().vertices) for o in members.values()]
    flat = [v for verts in boxes for v in verts]
    lows = [min(c[i] for c in flat) for i in range(3)] if flat else [0.0, 0.0, 0.0]
    highs = [max(c[i] for c in flat) for i in range(3)] if flat else [0.0, 0.0, 0.0]
    quantise = _Quantiser((lows[0], lows[1], lows[2]))
    pool = _VertexPool(quantise)
    templates = load_templates(conn, twin)
    used = list(
        dict.fromkeys(
            str(g["template"])
            for o in members.values()
            for g in o.to_city_object().geometry
            if g.get("type") == "GeometryInstance"
        )
    )
    block, template_index = _templates_block(templates, used)
    doc = _header(twin, view, (*lows, *highs), _extensions(conn, twin))
    doc["transform"] = quantise.transform()
    doc["CityObjects"] = {
        oid: _city_object(obj, pool, template_index) for oid, obj in members.items()
    }
    doc["vertices"] = pool.vertices
    if block:
        doc["geometry-templates"] = block
    return doc
