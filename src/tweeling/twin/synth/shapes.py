"""Solids and surfaces of the synthetic city, on a per-feature pool of integer vertices.

Prisms (LoD1.2 blocks, tree crowns), LoD2.2 boxes with a gable or hip roof and flat rectangles,
with the semantic surfaces of buildings. Each shape adds its vertices to ``pool`` and returns its
boundaries as indices into it; the pool becomes the feature's vertex list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

__all__ = ["Frame", "Pool", "flat", "lod12", "lod22", "prism"]

_Point = tuple[int, int, int]
Pool = dict[_Point, int]  # vertex -> local index; insertion order is first-use order
_Faces = list[list[list[int]]]
Frame = tuple[int, int, int, int]  # origin x, y and the unit axis (ax, ay) of local s


def prism(pool: Pool, ring: Sequence[tuple[int, int]], z0: int, z1: int) -> _Faces:
    """Faces of ``ring`` (counter-clockwise seen from above) extruded from ``z0`` to ``z1``.

    Face order: ground, roof, then one wall per edge, so indices come in first-use order.
    """
    n = len(ring)
    if not pool:  # the first solid of a feature: the indices only depend on n
        _add_prism_points(pool, ring, z0, z1)
        return orjson.loads(_PRISMS.get(n) or _prism_template(n))  # type: ignore[no-any-return]
    points = [(x, y, z0) for x, y in (ring[0], *ring[:0:-1])]
    points += [(x, y, z1) for x, y in ring]
    put = pool.setdefault
    return _prism_faces(
        [put(p, len(pool)) for p in points[:n]], [put(p, len(pool)) for p in points[n:]]
    )


def _add_prism_points(pool: Pool, ring: Sequence[tuple[int, int]], z0: int, z1: int) -> None:
    """Add the vertices of a prism to an empty pool, in the order _prism_faces uses them."""
    n = len(ring)
    if n == 4:  # spelled out: the commonest case by far, and twice as fast
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = ring
        pool[x0, y0, z0] = 0
        pool[x3, y3, z0] = 1
        pool[x2, y2, z0] = 2
        pool[x1, y1, z0] = 3
        pool[x0, y0, z1] = 4
        pool[x1, y1, z1] = 5
        pool[x2, y2, z1] = 6
        pool[x3, y3, z1] = 7
        return
    x, y = ring[0]
    pool[x, y, z0] = 0
    for i in range(1, n):
        x, y = ring[n - i]
        pool[x, y, z0] = i
    for i, (x, y) in enumerate(ring, n):
        pool[x, y, z1] = i


def _prism_faces(down: list[int], up: list[int]) -> _Faces:
    """Ground (``down``: ring[0], ring[-1], ..., ring[1]), roof (``up``, in ring order), walls."""
    bottom = [down[0], *down[:0:-1]]  # in ring order
    return [
        [down],
        [up],
        *[
            [[b0, b1, u1, u0]]
            for b0, b1, u0, u1 in zip(
                bottom, bottom[1:] + bottom[:1], up, up[1:] + up[:1], strict=True
            )
        ],
    ]


# Building the same nested lists anew for every building is the slowest part of the
# generator; parsing them from JSON (with orjson, in C) gives fresh lists twice as fast.
_PRISMS: dict[int, bytes] = {}
_LOD12S: dict[int, bytes] = {}


def _prism_template(n: int) -> bytes:
    _PRISMS[n] = orjson.dumps(_prism_faces(list(range(n)), list(range(n, 2 * n))))
    return _PRISMS[n]


def _lod12_template(n: int) -> bytes:
    _LOD12S[n] = orjson.dumps(_lod12_geometry(orjson.loads(_PRISMS.get(n) or _prism_template(n))))
    return _LOD12S[n]


# The corners of a pitched-roof box as (s, t, z): s 0, 1, -1, -2 stand for 0, a, h, a - h;
# t 0, 1, -1 for 0, b, h (h = b // 2); z 0, 1, 2 for ground, eave, ridge (see lod22).
# Then the faces (indices into the corners) and their semantic values.
_CORNERS = ((0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0), (0, 0, 1), (1, 0, 1), (1, 1, 1), (0, 1, 1))
_GABLE_RIDGE = ((0, -1, 2), (1, -1, 2))
_HIP_RIDGE = ((-1, -1, 2), (-2, -1, 2))
_GABLE = (
    ((0, 3, 2, 1), (0, 1, 5, 4), (2, 3, 7, 6), (3, 0, 4, 8, 7), (1, 2, 6, 9, 5), (4, 5, 9, 8),
     (6, 7, 8, 9)),
    [0, 1, 1, 1, 1, 2, 2],
)  # fmt: skip
_HIP = (
    ((0, 3, 2, 1), (0, 1, 5, 4), (1, 2, 6, 5), (2, 3, 7, 6), (3, 0, 4, 7), (4, 5, 9, 8), (5, 6, 9),
     (6, 7, 8, 9), (7, 4, 8)),
    [0, 1, 1, 1, 1, 2, 2, 2, 2],
)  # fmt: skip
# (hip, pool size, indices the corners already have) -> (new corners in first-use order, JSON)
_LOD22S: dict[tuple[bool, int, tuple[int | None, ...]], tuple[list[int], bytes]] = {}


def lod22(
    pool: Pool, frame: Frame, a: int, b: int, z0: int, ze: int, zr: int, hip: bool
) -> dict[str, Any]:
    """An LoD2.2 solid: the box [0, a] x [0, b] in ``frame``, walls up to ``ze``, and a gable or
    hip roof whose ridge (at ``zr``) runs along s, in the middle of b. A hip roof needs a > b."""
    ox, oy, ax, ay = frame
    h = b // 2
    lengths = {0: 0, 1: a, -1: h, -2: a - h}
    widths = {0: 0, 1: b, -1: h}
    heights = (z0, ze, zr)
    points = [
        (
            ox + lengths[s] * ax - widths[t] * ay,
            oy + lengths[s] * ay + widths[t] * ax,
            heights[z],
        )
        for s, t, z in (*_CORNERS, *(_HIP_RIDGE if hip else _GABLE_RIDGE))
    ]
    key = (hip, len(pool), tuple(map(pool.get, points)))
    cached = _LOD22S.get(key)
    if cached is None:
        polygons, values = _HIP if hip else _GABLE
        fresh = dict.fromkeys(i for poly in polygons for i in poly if key[2][i] is None)
        index = [pool.get(p, -1) for p in points]
        for i in fresh:
            index[i] = len(pool) + list(fresh).index(i)
        geometry = {
            "type": "Solid",
            "lod": "2.2",
            "boundaries": [[[[index[i] for i in poly]] for poly in polygons]],
            "semantics": _building_semantics(values),
        }
        cached = (list(fresh), orjson.dumps(geometry))
        if len(_LOD22S) < 64:  # a handful of patterns in practice
            _LOD22S[key] = cached
    new, template = cached
    for i in new:
        pool[points[i]] = len(pool)
    return orjson.loads(template)  # type: ignore[no-any-return]


def _building_semantics(values: list[int]) -> dict[str, Any]:
    return {
        "surfaces": [{"type": "GroundSurface"}, {"type": "WallSurface"}, {"type": "RoofSurface"}],
        "values": [values],
    }


def _lod12_geometry(faces: _Faces) -> dict[str, Any]:
    return {
        "type": "Solid",
        "lod": "1.2",
        "boundaries": [faces],
        "semantics": _building_semantics([0, 2, *([1] * (len(faces) - 2))]),
    }


def lod12(pool: Pool, ring: Sequence[tuple[int, int]], z0: int, z1: int) -> dict[str, Any]:
    """An LoD1.2 block: ``ring`` extruded from ``z0`` to ``z1``, with semantic surfaces."""
    if not pool:  # the first solid of a feature: all but the vertices only depend on n
        _add_prism_points(pool, ring, z0, z1)
        n = len(ring)
        return orjson.loads(_LOD12S.get(n) or _lod12_template(n))  # type: ignore[no-any-return]
    return _lod12_geometry(prism(pool, ring, z0, z1))


def flat(pool: Pool, rect: tuple[int, int, int, int], z: int) -> list[list[int]]:
    """One horizontal rectangle (x0, y0, x1, y1), counter-clockwise seen from above."""
    x0, y0, x1, y1 = rect
    put = pool.setdefault
    return [[put(v, len(pool)) for v in ((x0, y0, z), (x1, y0, z), (x1, y1, z), (x0, y1, z))]]
