"""Geometry helpers on CityJSON boundaries: localising vertices, bounding boxes, footprints.

These run once per imported object, so they are written as plain loops over lists: for the
few dozen vertices of a building that beats numpy's per-call overhead.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from tweeling.twin.model import GeometryTemplate, JSONDict

# How deeply the boundaries of each geometry type nest before reaching vertex indices.
BOUNDARY_DEPTH: dict[str, int] = {
    "MultiPoint": 1,
    "MultiLineString": 2,
    "MultiSurface": 3,
    "CompositeSurface": 3,
    "Solid": 4,
    "MultiSolid": 5,
    "CompositeSolid": 5,
    "GeometryInstance": 1,
}
SURFACE_TYPES = frozenset(
    {"MultiSurface", "CompositeSurface", "Solid", "MultiSolid", "CompositeSolid"}
)

Vertex = list[float]
BBox = tuple[float, float, float, float, float, float]  # minx, miny, minz, maxx, maxy, maxz


class BoundaryError(ValueError):
    """Boundaries are malformed or reference a vertex that does not exist."""


def remap_boundaries(boundaries: Any, depth: int, index_of: Callable[[int], int]) -> Any:
    """A copy of ``boundaries`` with every vertex index passed through ``index_of``."""
    if depth == 1:
        return [index_of(i) for i in boundaries]
    return [remap_boundaries(b, depth - 1, index_of) for b in boundaries]


def localise(geometries: Sequence[JSONDict], vertex_count: int) -> tuple[list[JSONDict], list[int]]:
    """Copy ``geometries`` so they index a vertex list of their own, in first-use order.

    Returns the copies and, for each new index, the index it had in the shared list. First-use
    order makes the stored form canonical: the same object read from files that order their
    vertices differently is stored, and hashed, identically.
    """
    mapping: dict[int, int] = {}
    used: list[int] = []

    def index_of(i: int) -> int:
        j = mapping.get(i)
        if j is None:
            if type(i) is not int or i < 0 or i >= vertex_count:
                raise BoundaryError(f"vertex index {i!r} out of range (0..{vertex_count - 1})")
            j = len(used)
            mapping[i] = j
            used.append(i)
        return j

    out: list[JSONDict] = []
    for geom in geometries:
        gtype = geom.get("type")
        depth = BOUNDARY_DEPTH.get(gtype) if isinstance(gtype, str) else None
        if depth is None:
            raise BoundaryError(f"unknown geometry type {gtype!r}")
        if "boundaries" not in geom:
            raise BoundaryError(f"{gtype} geometry has no boundaries")
        copy = dict(geom)
        try:
            copy["boundaries"] = remap_boundaries(geom["boundaries"], depth, index_of)
        except TypeError as exc:
            raise BoundaryError(f"malformed boundaries for {gtype}: {exc}") from None
        out.append(copy)
    return out, used


RealConverter = Callable[[npt.NDArray[Any]], npt.NDArray[np.float64]]


def make_to_real(transform: JSONDict | None) -> RealConverter:
    """CityJSON's integer vertices (n×3) to real coordinates; real input passes through.

    Rounded to the transform's precision with numpy, the same way on every path, so equal
    coordinates always serialise to equal bytes.
    """
    if not transform:

        def passthrough(v: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
            return np.asarray(v, dtype=np.float64).reshape(-1, 3)

        return passthrough
    scale = np.asarray(transform["scale"], dtype=np.float64)
    translate = np.asarray(transform["translate"], dtype=np.float64)
    decimals = max(_decimals(float(x)) for x in scale)

    def apply(v: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
        ints = np.asarray(v, dtype=np.float64).reshape(-1, 3)
        return np.round(ints * scale + translate, decimals)

    return apply


def _decimals(scale: float) -> int:
    return max(0, min(9, -math.floor(math.log10(scale)))) if scale > 0 else 9


def vertices_bbox(vertices: Sequence[Sequence[float]]) -> BBox | None:
    if not vertices:
        return None
    xs, ys, zs = zip(*vertices, strict=True)
    return (min(xs), min(ys), min(zs), max(xs), max(ys), max(zs))


def merge_bbox(a: BBox | None, b: BBox | None) -> BBox | None:
    if a is None:
        return b
    if b is None:
        return a
    return (
        min(a[0], b[0]),
        min(a[1], b[1]),
        min(a[2], b[2]),
        max(a[3], b[3]),
        max(a[4], b[4]),
        max(a[5], b[5]),
    )


def instance_vertices(
    geom: JSONDict,
    vertices: Sequence[Vertex] | npt.NDArray[np.float64],
    templates: dict[str, GeometryTemplate],
) -> list[Vertex]:
    """Real-world vertices of a GeometryInstance: template vertices × matrix + reference point."""
    template = templates.get(str(geom.get("template")))
    if template is None or not geom.get("boundaries"):
        return []
    ref = [float(c) for c in vertices[geom["boundaries"][0]]]
    m = geom.get("transformationMatrix") or [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]
    out = []
    for x, y, z in template.vertices:
        out.append(
            [
                m[0] * x + m[1] * y + m[2] * z + m[3] + ref[0],
                m[4] * x + m[5] * y + m[6] * z + m[7] + ref[1],
                m[8] * x + m[9] * y + m[10] * z + m[11] + ref[2],
            ]
        )
    return out


def surfaces_with_semantics(geom: JSONDict) -> list[tuple[list[list[int]], str | None]]:
    """Every surface (outer ring + holes) of a surface geometry with its semantic type."""
    gtype = geom["type"]
    semantics = geom.get("semantics") or {}
    kinds = [s.get("type") for s in semantics.get("surfaces", [])]
    values = semantics.get("values")

    def kind(*path: int) -> str | None:
        # CityJSON lets "values" be null at any level (a whole shell or solid without
        # semantics), so walk down and stop at the first null
        value: Any = values
        for i in path:
            if not isinstance(value, list) or i >= len(value):
                return None
            value = value[i]
        return kinds[value] if isinstance(value, int) and 0 <= value < len(kinds) else None

    out: list[tuple[list[list[int]], str | None]] = []
    b = geom["boundaries"]
    if gtype in ("MultiSurface", "CompositeSurface"):
        for i, surface in enumerate(b):
            out.append((surface, kind(i)))
    elif gtype == "Solid":
        for s, shell in enumerate(b):
            for i, surface in enumerate(shell):
                out.append((surface, kind(s, i)))
    else:  # MultiSolid, CompositeSolid
        for k, solid in enumerate(b):
            for s, shell in enumerate(solid):
                for i, surface in enumerate(shell):
                    out.append((surface, kind(k, s, i)))
    return out


def _ring_area(ring: Sequence[int], v: Sequence[Sequence[float]]) -> float:
    area = 0.0
    n = len(ring)
    for k in range(n):
        x1, y1 = v[ring[k]][0], v[ring[k]][1]
        x2, y2 = v[ring[(k + 1) % n]][0], v[ring[(k + 1) % n]][1]
        area += x1 * y2 - x2 * y1
    return area / 2.0


def _facing_down(ring: Sequence[int], v: Sequence[Sequence[float]]) -> bool:
    """Whether a face's Newell normal points mostly downwards."""
    nx = ny = nz = 0.0
    n = len(ring)
    for k in range(n):
        x1, y1, z1 = v[ring[k]]
        x2, y2, z2 = v[ring[(k + 1) % n]]
        nx += (y1 - y2) * (z1 + z2)
        ny += (z1 - z2) * (x1 + x2)
        nz += (x1 - x2) * (y1 + y2)
    return nz < 0 and nz * nz > 0.25 * (nx * nx + ny * ny + nz * nz)


def _ground_of_solid(geom: JSONDict) -> list[list[list[int]]]:
    """The GroundSurface faces of a Solid with semantics — the common case, done directly."""
    semantics = geom.get("semantics")
    if geom["type"] != "Solid" or not semantics:
        return []
    ground = {
        i for i, s in enumerate(semantics.get("surfaces", [])) if s.get("type") == "GroundSurface"
    }
    if not ground:
        return []
    out: list[list[list[int]]] = []
    for shell, values in zip(geom["boundaries"], semantics.get("values") or [], strict=False):
        if values:
            out.extend(face for face, v in zip(shell, values, strict=False) if v in ground)
    return out


def footprint_rings(
    geometries: Sequence[JSONDict], coords: Callable[[], Sequence[Sequence[float]]]
) -> list[list[list[int]]]:
    """The 2D footprint of an object as polygons of vertex indices (outer ring, then holes).

    Taken from the lowest-LoD surface geometry: its GroundSurface faces where semantics say
    so, else the faces of a solid that face down (its underside, flat or following the
    terrain), else every face that is not vertical (roads, land use, water drape the terrain).
    ``coords`` is only called when semantics do not settle it.
    """
    candidates = [g for g in geometries if g.get("type") in SURFACE_TYPES]
    if not candidates:
        return []
    geom = (
        min(candidates, key=lambda g: str(g.get("lod", "")))
        if len(candidates) > 1
        else candidates[0]
    )
    chosen = _ground_of_solid(geom)
    if chosen:
        return chosen
    surfaces = surfaces_with_semantics(geom)
    chosen = [s for s, kind in surfaces if kind == "GroundSurface"]
    if chosen:
        return chosen
    v = coords()
    if geom["type"] not in ("MultiSurface", "CompositeSurface"):
        chosen = [s for s, _ in surfaces if s and len(s[0]) >= 3 and _facing_down(s[0], v)]
        if chosen:
            return chosen
    return [s for s, _ in surfaces if s and len(s[0]) >= 3 and abs(_ring_area(s[0], v)) > 1e-6]
