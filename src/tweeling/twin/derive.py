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
    footprint_rings,
    instance_vertices,
    merge_bbox,
    vertices_bbox,
)
from tweeling.twin.model import CityObject, GeometryTemplate, Vertices

_SORTED = orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY


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


@dataclass(slots=True)
class Spatial:
    """Native bbox (with z) and the 2D shape of each object, native and in CRS84."""

    bbox: list[BBox | None]
    footprint: list[bytes | None]
    footprint_crs84: list[bytes | None]
    bbox_crs84: list[tuple[float, float, float, float] | None]


# A polygon of one object: (index of the object whose vertices it uses, rings of indices).
_Polygon = tuple[int, list[list[int]]]


def as_array(vertices: Vertices) -> npt.NDArray[np.float64]:
    if isinstance(vertices, np.ndarray):
        return vertices
    return np.asarray(vertices, dtype=np.float64).reshape(-1, 3)


def spatial(
    objects: Sequence[CityObject], crs: str, templates: dict[str, GeometryTemplate]
) -> Spatial:
    """Boxes and footprints for a batch, vectorised over all of its vertices at once.

    A parent without geometry of its own (a building made of parts) takes its children's.
    """
    n = len(objects)
    arrays = [as_array(o.vertices) for o in objects]
    offsets = np.zeros(n + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(a) for a in arrays])
    allv = np.concatenate(arrays) if offsets[-1] else np.zeros((0, 3))
    boxes = _boxes(allv, offsets)
    polygons: list[list[_Polygon]] = []
    points: list[npt.NDArray[np.float64] | None] = []
    for i, obj in enumerate(objects):
        array = arrays[i]
        placed: list[list[float]] = []
        for geom in obj.geometry:
            if geom.get("type") == "GeometryInstance":
                placed.extend(instance_vertices(geom, array, templates))
        if placed:
            boxes[i] = merge_bbox(boxes[i], vertices_bbox(placed))
        rings = footprint_rings(obj.geometry, array.tolist) if len(array) else []
        polygons.append([(i, r) for r in rings])
        points.append(None if rings or not len(array) else array[:, :2])
    _inherit_from_children(objects, boxes, polygons)
    native = _dissolved(_to_shapely(allv, offsets, polygons, points))
    wkb_native: list[bytes | None] = [None] * n
    wkb_crs84: list[bytes | None] = [None] * n
    bbox84: list[tuple[float, float, float, float] | None] = [None] * n
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


def _boxes(allv: npt.NDArray[np.float64], offsets: npt.NDArray[np.int64]) -> list[BBox | None]:
    n = len(offsets) - 1
    boxes: list[BBox | None] = [None] * n
    counts = np.diff(offsets)
    having = np.flatnonzero(counts > 0)
    if len(having):
        starts = offsets[:-1][having]
        mins = np.minimum.reduceat(allv, starts).tolist()
        maxs = np.maximum.reduceat(allv, starts).tolist()
        for j, lo, hi in zip(having.tolist(), mins, maxs, strict=True):
            boxes[j] = (lo[0], lo[1], lo[2], hi[0], hi[1], hi[2])
    return boxes


def _xy_to_crs84(crs: str, xy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    lon, lat = transform_xy(crs, CRS84, xy[:, 0], xy[:, 1])
    return np.column_stack([lon, lat])


def _inherit_from_children(
    objects: Sequence[CityObject], boxes: list[BBox | None], polygons: list[list[_Polygon]]
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


def _dissolved(shapes: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
    """Footprints made of several faces (a ground surface in triangles, a building's parts)
    as their outline: one polygon where the faces meet, a multipolygon where they do not."""
    parts = shapely.get_num_geometries(shapes)
    for i in np.flatnonzero(parts > 1).tolist():
        try:
            merged = shapely.union_all(shapely.get_parts(shapes[i]))
        except shapely.errors.GEOSException:
            continue  # faces that cross themselves: keep them as they are, undissolved
        if isinstance(merged, shapely.Polygon):
            merged = shapely.MultiPolygon([merged])
        if isinstance(merged, shapely.MultiPolygon) and not merged.is_empty:
            shapes[i] = merged
    return shapes


def _to_shapely(
    allv: npt.NDArray[np.float64],
    offsets: npt.NDArray[np.int64],
    polygons: Sequence[list[_Polygon]],
    points: Sequence[npt.NDArray[np.float64] | None],
) -> npt.NDArray[np.object_]:
    """Multipolygons (multipoints for point-like objects), each kind built in one call."""
    out = np.full(len(polygons), None, dtype=object)
    flat: list[int] = []  # vertex indices of all rings, each ring closed
    ring_base: list[int] = []  # per ring: offset of its object's vertices in ``allv``
    ring_lengths: list[int] = []
    ring_offsets = [0]
    poly_offsets = [0]
    multi_offsets = [0]
    poly_rows: list[int] = []
    for row, polys in enumerate(polygons):
        n_polys = 0
        for owner, rings in polys:
            if not rings or len(rings[0]) < 3:
                continue  # a face of fewer than 3 vertices has no area (and GEOS no shell)
            base = int(offsets[owner])
            for ring in rings:
                if len(ring) >= 3:
                    flat.extend(ring)
                    flat.append(ring[0])
                    ring_base.append(base)
                    ring_lengths.append(len(ring) + 1)
                    ring_offsets.append(len(flat))
            poly_offsets.append(len(ring_offsets) - 1)
            n_polys += 1
        if n_polys:
            multi_offsets.append(len(poly_offsets) - 1)
            poly_rows.append(row)
    if poly_rows:
        index = np.asarray(flat, dtype=np.int64) + np.repeat(
            np.asarray(ring_base, dtype=np.int64), ring_lengths
        )
        out[poly_rows] = shapely.from_ragged_array(
            shapely.GeometryType.MULTIPOLYGON,
            allv[index, :2],
            (
                np.asarray(ring_offsets, dtype=np.int64),
                np.asarray(poly_offsets, dtype=np.int64),
                np.asarray(multi_offsets, dtype=np.int64),
            ),
        )
    pt_rows = [i for i, p in enumerate(points) if p is not None and len(p)]
    if pt_rows:
        chunks = [points[i] for i in pt_rows]
        pt_offsets = np.zeros(len(chunks) + 1, dtype=np.int64)
        pt_offsets[1:] = np.cumsum([len(c) for c in chunks if c is not None])
        out[pt_rows] = shapely.from_ragged_array(
            shapely.GeometryType.MULTIPOINT,
            np.concatenate([c for c in chunks if c is not None]),
            (pt_offsets,),
        )
    return out
