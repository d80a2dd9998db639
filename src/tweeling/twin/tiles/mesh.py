"""Triangles from CityJSON geometry: what a 3D viewer draws of a city object.

Each object contributes the surfaces of its most detailed LoD (a GeometryInstance, such as a
tree, is expanded from its template). Polygons with holes are triangulated with earcut in
their own plane, and every triangle is wound to face the way its polygon faces, so normals
derived from the triangles agree with the data's orientation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import mapbox_earcut
import numpy as np
import numpy.typing as npt

from tweeling.twin.geometry import SURFACE_TYPES, instance_vertices, surfaces_with_semantics
from tweeling.twin.model import GeometryTemplate, JSONDict, Vertices

Floats = npt.NDArray[np.float64]

# Colours a viewer shows before any styling: by surface semantics, else by object type.
_SEMANTIC_COLOURS: dict[str, tuple[int, int, int]] = {
    "RoofSurface": (178, 90, 72),
    "WallSurface": (232, 226, 211),
    "GroundSurface": (140, 140, 140),
    "ClosureSurface": (200, 200, 200),
    "OuterCeilingSurface": (210, 205, 195),
    "OuterFloorSurface": (170, 165, 160),
    "Window": (120, 160, 190),
    "Door": (120, 90, 60),
    "WaterSurface": (70, 130, 190),
    "WaterGroundSurface": (90, 110, 130),
    "TrafficArea": (90, 90, 95),
    "AuxiliaryTrafficArea": (150, 150, 150),
}
_TYPE_COLOURS: dict[str, tuple[int, int, int]] = {
    "Building": (225, 220, 205),
    "BuildingPart": (225, 220, 205),
    "Road": (95, 95, 100),
    "Railway": (110, 100, 95),
    "TransportSquare": (150, 150, 150),
    "WaterBody": (70, 130, 190),
    "PlantCover": (110, 160, 90),
    "SolitaryVegetationObject": (70, 130, 60),
    "LandUse": (190, 200, 160),
    "Bridge": (160, 160, 165),
    "TINRelief": (170, 160, 130),
}
_DEFAULT_COLOUR = (200, 200, 200)


@dataclass(frozen=True)
class Triangles:
    """Triangles of one object: corners (n, 3, 3) in the twin's CRS, an RGB colour each, and
    each one's semantic surface type ('' where the data gives none)."""

    corners: Floats
    colours: npt.NDArray[np.uint8]
    surfaces: npt.NDArray[np.str_]

    @property
    def count(self) -> int:
        return int(self.corners.shape[0])


EMPTY = Triangles(np.zeros((0, 3, 3)), np.zeros((0, 3), dtype=np.uint8), np.zeros(0, dtype="<U1"))


def _lod(geom: JSONDict) -> float:
    try:
        return float(geom.get("lod", 0))
    except (TypeError, ValueError):
        return 0.0


def _drawable(geom: JSONDict, templates: dict[str, GeometryTemplate]) -> bool:
    if geom.get("type") in SURFACE_TYPES:
        return True
    if geom.get("type") == "GeometryInstance":
        tpl = templates.get(str(geom.get("template")))
        return tpl is not None and tpl.geometry.get("type") in SURFACE_TYPES
    return False


def newell_normal(points: Floats) -> Floats:
    """The (unnormalised) normal of a planar-ish polygon, robust to collinear corners."""
    nxt = np.roll(points, -1, axis=0)
    return np.array(
        [
            np.sum((points[:, 1] - nxt[:, 1]) * (points[:, 2] + nxt[:, 2])),
            np.sum((points[:, 2] - nxt[:, 2]) * (points[:, 0] + nxt[:, 0])),
            np.sum((points[:, 0] - nxt[:, 0]) * (points[:, 1] + nxt[:, 1])),
        ]
    )


_SMALL = 8  # hole-free polygons up to this many corners try the fan first (walls, flat roofs)


def _convex_fan(ring: Sequence[int], points: list[list[float]]) -> npt.NDArray[np.int64] | None:
    """A small convex polygon as a triangle fan, in plain Python (numpy's per-call overhead
    dominates at this size); None when it is not convex, for earcut to handle."""
    n = len(points)
    nx = ny = nz = 0.0
    for k in range(n):
        x1, y1, z1 = points[k]
        x2, y2, z2 = points[(k + 1) % n]
        nx += (y1 - y2) * (z1 + z2)
        ny += (z1 - z2) * (x1 + x2)
        nz += (x1 - x2) * (y1 + y2)
    if nx == ny == nz == 0.0:
        return np.zeros((0, 3), dtype=np.int64)
    scale = abs(nx) + abs(ny) + abs(nz)
    for k in range(n):
        ax, ay, az = points[k]
        bx, by, bz = points[(k + 1) % n]
        cx, cy, cz = points[(k + 2) % n]
        ux, uy, uz = bx - ax, by - ay, bz - az
        vx, vy, vz = cx - bx, cy - by, cz - bz
        turn = (uy * vz - uz * vy) * nx + (uz * vx - ux * vz) * ny + (ux * vy - uy * vx) * nz
        if turn < -1e-12 * scale * scale:
            return None  # a reflex corner
    first = ring[0]
    return np.asarray([(first, ring[k], ring[k + 1]) for k in range(1, n - 1)], dtype=np.int64)


def triangulate(rings: Sequence[Sequence[int]], vertices: Floats) -> npt.NDArray[np.int64]:
    """Vertex-index triangles (t, 3) covering a polygon given as outer ring and holes.

    Degenerate polygons (no area, fewer than three corners) give no triangles.
    """
    outer = rings[0] if rings else []
    if len(outer) < 3:
        return np.zeros((0, 3), dtype=np.int64)
    if len(rings) == 1 and len(outer) <= _SMALL:
        fan = _convex_fan(outer, vertices[list(outer)].tolist())
        if fan is not None:
            return fan
    normal = newell_normal(vertices[np.asarray(outer, dtype=np.int64)])
    if not np.any(normal):
        return np.zeros((0, 3), dtype=np.int64)
    if len(rings) == 1 and len(outer) == 3:
        return np.asarray([outer], dtype=np.int64)
    index = np.fromiter((i for ring in rings for i in ring), dtype=np.int64)
    points = vertices[index]
    drop = int(np.argmax(np.abs(normal)))
    plane = np.delete(points, drop, axis=1)
    ends = np.cumsum([len(r) for r in rings]).astype(np.uint32)
    local = mapbox_earcut.triangulate_float64(plane, ends).astype(np.int64).reshape(-1, 3)
    if not len(local):
        return np.zeros((0, 3), dtype=np.int64)
    a, b, c = points[local[:, 0]], points[local[:, 1]], points[local[:, 2]]
    backwards = np.cross(b - a, c - a) @ normal < 0
    local[backwards] = local[backwards][:, ::-1]
    return index[local]


def object_triangles(
    object_type: str,
    geometries: Sequence[JSONDict],
    vertices: Vertices,
    templates: dict[str, GeometryTemplate],
) -> Triangles:
    """The triangles of an object's most detailed drawable geometry (its highest LoD)."""
    drawable = [g for g in geometries if _drawable(g, templates)]
    if not drawable:
        return EMPTY
    best = max(drawable, key=_lod)
    if best["type"] == "GeometryInstance":
        template = templates[str(best["template"])]
        coords = np.asarray(
            instance_vertices(best, np.asarray(vertices, dtype=np.float64), templates),
            dtype=np.float64,
        )
        geom: JSONDict = template.geometry
    else:
        coords = np.asarray(vertices, dtype=np.float64).reshape(-1, 3)
        geom = best
    fallback = _TYPE_COLOURS.get(object_type, _DEFAULT_COLOUR)
    parts: list[npt.NDArray[np.int64]] = []
    colours: list[tuple[int, int, int]] = []
    kinds: list[str] = []
    counts: list[int] = []
    for rings, kind in surfaces_with_semantics(geom):
        tri = triangulate(rings, coords)
        if len(tri):
            parts.append(tri)
            colours.append(_SEMANTIC_COLOURS.get(kind or "", fallback))
            kinds.append(kind or "")
            counts.append(len(tri))
    if not parts:
        return EMPTY
    index = np.concatenate(parts)
    return Triangles(
        coords[index],
        np.repeat(np.asarray(colours, dtype=np.uint8), counts, axis=0),
        np.repeat(np.asarray(kinds), counts),
    )


def merge(items: Sequence[Triangles]) -> tuple[Floats, npt.NDArray[np.uint8], npt.NDArray[Any]]:
    """All triangles of many objects, with each triangle's object number (its feature id)."""
    if not items:
        return np.zeros((0, 3, 3)), np.zeros((0, 3), dtype=np.uint8), np.zeros(0, dtype=np.int64)
    corners = np.concatenate([t.corners for t in items])
    colours = np.concatenate([t.colours for t in items])
    feature = np.repeat(np.arange(len(items)), [t.count for t in items])
    return corners, colours, feature
