"""Sketch edits: what a planner does with a mouse in the Studio, as city objects.

Two gestures: *stretch* an object to a new height (its geometry scaled vertically from its
lowest point, so a roof keeps its shape) and *extrude* a drawn footprint to a LoD1 block.
Both produce ordinary ``CityObject`` values for ``scenarios.edit``; nothing here writes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tweeling.errors import InvalidInput
from tweeling.twin.model import CityObject

MIN_HEIGHT = 0.1  # metres; a thinner "building" is a drawing mistake
MAX_HEIGHT = 1000.0


@dataclass(frozen=True)
class Footprint:
    """A footprint drawn on the map: ``outline`` as (longitude, latitude) in CRS84, raised
    from ``base`` (metres in the twin's vertical datum) by ``height`` metres."""

    id: str
    outline: list[list[float]]
    height: float
    base: float = 0.0
    type: str = "Building"


def _checked_height(height: float, what: str) -> float:
    if not MIN_HEIGHT <= height <= MAX_HEIGHT:
        raise InvalidInput(f"{what}: height {height} m is outside {MIN_HEIGHT}–{MAX_HEIGHT:.0f} m")
    return float(height)


def stretched(obj: CityObject, height: float) -> CityObject:
    """``obj`` with every vertex's height above its lowest vertex scaled to make it
    ``height`` metres tall; ``measuredHeight`` says the new height."""
    height = _checked_height(height, f"object {obj.id!r}")
    if not obj.vertices:
        raise InvalidInput(f"object {obj.id!r} has no geometry to change the height of")
    zs = [float(v[2]) for v in obj.vertices]
    bottom, top = min(zs), max(zs)
    if top - bottom <= 0:
        raise InvalidInput(f"object {obj.id!r} is flat: draw it again with a height instead")
    factor = height / (top - bottom)
    return CityObject(
        id=obj.id,
        type=obj.type,
        attributes={**obj.attributes, "measuredHeight": round(height, 3)},
        geometry=obj.geometry,
        vertices=[
            [v[0], v[1], round(bottom + (float(v[2]) - bottom) * factor, 3)] for v in obj.vertices
        ],
        parents=obj.parents,
        children=obj.children,
        extra=obj.extra,
    )


def _ring_area(ring: Sequence[Sequence[float]]) -> float:
    """Signed area (shoelace): positive when counter-clockwise seen from above."""
    return 0.5 * sum(
        ring[i][0] * ring[(i + 1) % len(ring)][1] - ring[(i + 1) % len(ring)][0] * ring[i][1]
        for i in range(len(ring))
    )


def extruded(
    object_id: str,
    outline: Sequence[Sequence[float]],
    *,
    base: float,
    height: float,
    object_type: str = "Building",
) -> CityObject:
    """A LoD1 solid: the footprint ``outline`` (x, y in the twin's CRS, at least three
    points, not closed) lifted from ``base`` to ``base + height``, with semantic surfaces
    (ground, roof, walls) so apps that read them (sun, energy) see a proper building."""
    height = _checked_height(height, f"object {object_id!r}")
    ring = [[float(p[0]), float(p[1])] for p in outline]
    if len(ring) > 1 and ring[0] == ring[-1]:
        ring = ring[:-1]
    if len(ring) < 3:
        raise InvalidInput(f"object {object_id!r}: a footprint needs at least three points")
    area = _ring_area(ring)
    if abs(area) < 1.0:
        raise InvalidInput(f"object {object_id!r}: the footprint encloses less than 1 m²")
    if area < 0:  # outward normals: the footprint counter-clockwise seen from above
        ring.reverse()
    n = len(ring)
    top = base + height
    vertices = [[x, y, round(base, 3)] for x, y in ring] + [[x, y, round(top, 3)] for x, y in ring]
    ground = list(reversed(range(n)))  # faces outward (down): clockwise seen from above
    roof = list(range(n, 2 * n))
    walls = [[i, (i + 1) % n, n + (i + 1) % n, n + i] for i in range(n)]
    shell = [[ground], [roof]] + [[wall] for wall in walls]  # each surface: one ring
    return CityObject(
        id=object_id,
        type=object_type,
        attributes={"measuredHeight": round(height, 3), "sketched": True},
        geometry=[
            {
                "type": "Solid",
                "lod": "1",
                "boundaries": [shell],
                "semantics": {
                    "surfaces": [
                        {"type": "GroundSurface"},
                        {"type": "RoofSurface"},
                        {"type": "WallSurface"},
                    ],
                    "values": [[0, 1] + [2] * n],
                },
            }
        ],
        vertices=vertices,
    )
