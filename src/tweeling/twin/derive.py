"""From city objects to stored rows: canonical bytes, content hash, boxes and footprints.

Works on a batch at a time so the CRS transform and the WKB encoding run vectorised.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import orjson
import shapely

from tweeling.twin.crs import CRS84, transform_xy
from tweeling.twin.geometry import (
    BBox,
    Polygon2D,
    footprint,
    instance_vertices,
    merge_bbox,
    vertices_bbox,
)
from tweeling.twin.model import CityObject, GeometryTemplate

_SORTED = orjson.OPT_SORT_KEYS


@dataclass(slots=True)
class Encoded:
    """The stored, canonical form of one city object."""

    attributes: bytes
    geometry: bytes
    parents: bytes | None
    children: bytes | None
    content_hash: str


def encode(obj: CityObject) -> Encoded:
    """Canonical bytes (sorted keys) and the SHA-256 over them.

    The hash covers id, type, hierarchy, attributes and geometry, so two objects hash the
    same exactly when a CityJSON export would show them the same.
    """
    attributes = orjson.dumps(obj.attributes, option=_SORTED)
    doc: dict[str, object] = {"geometry": obj.geometry, "vertices": obj.vertices}
    if obj.extra:
        doc["extra"] = obj.extra
    geometry = orjson.dumps(doc, option=_SORTED)
    parents = orjson.dumps(obj.parents) if obj.parents else None
    children = orjson.dumps(obj.children) if obj.children else None
    digest = hashlib.sha256()
    for part in (obj.id.encode(), obj.type.encode(), parents, children, attributes, geometry):
        digest.update(part or b"")
        digest.update(b"\x00")
    return Encoded(attributes, geometry, parents, children, digest.hexdigest())


def decode_geometry(
    blob: bytes,
) -> tuple[list[dict[str, object]], list[list[float]], dict[str, object]]:
    doc = orjson.loads(blob)
    return doc["geometry"], doc["vertices"], doc.get("extra", {})


@dataclass(slots=True)
class Spatial:
    """Native bbox (with z) and the 2D shape of each object, native and in CRS84."""

    bbox: list[BBox | None]
    footprint: list[bytes | None]
    footprint_crs84: list[bytes | None]
    bbox_crs84: list[tuple[float, float, float, float] | None]


def spatial(
    objects: Sequence[CityObject], crs: str, templates: dict[str, GeometryTemplate]
) -> Spatial:
    """Boxes and footprints for a batch; a parent without geometry takes its children's."""
    boxes: list[BBox | None] = []
    polygons: list[list[Polygon2D]] = []
    points: list[list[tuple[float, float]]] = []
    for obj in objects:
        verts = obj.vertices
        box = vertices_bbox(verts)
        placed_points: list[tuple[float, float]] = []
        for geom in obj.geometry:
            if geom.get("type") == "GeometryInstance":
                placed = instance_vertices(geom, verts, templates)
                box = merge_bbox(box, vertices_bbox(placed))
                ref = verts[geom["boundaries"][0]] if geom.get("boundaries") else None
                if ref is not None:
                    placed_points.append((ref[0], ref[1]))
        polys = footprint(obj.geometry, verts) if verts else []
        polygons.append(polys)
        points.append([] if polys else placed_points or [(v[0], v[1]) for v in verts])
        boxes.append(box)
    _inherit_from_children(objects, boxes, polygons)
    native = _to_shapely(polygons, points)
    wkb_native: list[bytes | None] = [None] * len(objects)
    wkb_crs84: list[bytes | None] = [None] * len(objects)
    bbox84: list[tuple[float, float, float, float] | None] = [None] * len(objects)
    idx = np.flatnonzero(~shapely.is_missing(native))
    if len(idx):
        present = native[idx]
        projected = (
            present
            if crs == CRS84
            else shapely.transform(present, lambda xy: _xy_to_crs84(crs, xy))
        )
        for j, w, w84, b in zip(
            idx.tolist(),
            shapely.to_wkb(present),
            shapely.to_wkb(projected),
            shapely.bounds(projected).tolist(),
            strict=True,
        ):
            wkb_native[j] = w
            wkb_crs84[j] = w84
            bbox84[j] = (b[0], b[1], b[2], b[3])
    return Spatial(boxes, wkb_native, wkb_crs84, bbox84)


def _xy_to_crs84(crs: str, xy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    lon, lat = transform_xy(crs, CRS84, xy[:, 0], xy[:, 1])
    return np.column_stack([lon, lat])


def _inherit_from_children(
    objects: Sequence[CityObject], boxes: list[BBox | None], polygons: list[list[Polygon2D]]
) -> None:
    parents = [i for i, obj in enumerate(objects) if obj.children and boxes[i] is None]
    if not parents:
        return
    index = {obj.id: i for i, obj in enumerate(objects)}
    for i in parents:
        for cid in objects[i].children:
            j = index.get(cid)
            if j is not None:
                boxes[i] = merge_bbox(boxes[i], boxes[j])
                polygons[i] = polygons[i] + polygons[j]


def _to_shapely(
    polygons: Sequence[list[Polygon2D]], points: Sequence[list[tuple[float, float]]]
) -> npt.NDArray[np.object_]:
    """Multipolygons (multipoints for point-like objects), each kind built in one call."""
    out = np.full(len(polygons), None, dtype=object)
    coords: list[tuple[float, float]] = []
    ring_offsets = [0]
    poly_offsets = [0]
    multi_offsets = [0]
    poly_rows: list[int] = []
    pt_coords: list[tuple[float, float]] = []
    pt_offsets = [0]
    pt_rows: list[int] = []
    for row, (polys, pts) in enumerate(zip(polygons, points, strict=True)):
        n_polys = 0
        for poly in polys:
            if not poly or len(poly[0]) < 3:
                continue
            for ring in poly:
                if len(ring) >= 3:
                    coords.extend(ring)
                    coords.append(ring[0])
                    ring_offsets.append(len(coords))
            poly_offsets.append(len(ring_offsets) - 1)
            n_polys += 1
        if n_polys:
            multi_offsets.append(len(poly_offsets) - 1)
            poly_rows.append(row)
        elif pts:
            pt_coords.extend(pts)
            pt_offsets.append(len(pt_coords))
            pt_rows.append(row)
    if poly_rows:
        out[poly_rows] = shapely.from_ragged_array(
            shapely.GeometryType.MULTIPOLYGON,
            np.asarray(coords, dtype=np.float64),
            (
                np.asarray(ring_offsets, dtype=np.int64),
                np.asarray(poly_offsets, dtype=np.int64),
                np.asarray(multi_offsets, dtype=np.int64),
            ),
        )
    if pt_rows:
        out[pt_rows] = shapely.from_ragged_array(
            shapely.GeometryType.MULTIPOINT,
            np.asarray(pt_coords, dtype=np.float64),
            (np.asarray(pt_offsets, dtype=np.int64),),
        )
    return out
