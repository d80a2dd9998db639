"""Sketch edits as city objects: an extruded footprint is a closed LoD1 solid whose faces
point outwards, whatever the drawing's direction; a stretched object keeps its ground."""

from __future__ import annotations

import pytest

from tweeling.errors import InvalidInput
from tweeling.twin.model import CityObject
from tweeling.twin.sketch import extruded, stretched

SQUARE = [[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]]


def _normal_z(vertices: list[list[float]], ring: list[int]) -> float:
    """The z of the ring's (unnormalised) normal by Newell's method."""
    pts = [vertices[i] for i in ring]
    return sum((p[0] - q[0]) * (p[1] + q[1]) for p, q in zip(pts, pts[1:] + pts[:1], strict=True))


@pytest.mark.parametrize("outline", [SQUARE, list(reversed(SQUARE)), [*SQUARE, SQUARE[0]]])
def test_an_extruded_footprint_is_a_closed_outward_solid(outline: list[list[float]]) -> None:
    block = extruded("b", outline, base=1.0, height=9.0)
    (solid,) = block.geometry
    ground, roof, *walls = solid["boundaries"][0]
    assert len(walls) == 4
    assert _normal_z(block.vertices, ground[0]) < 0 < _normal_z(block.vertices, roof[0])
    edges = [
        (ring[i], ring[(i + 1) % len(ring)])
        for face in solid["boundaries"][0]
        for ring in face
        for i in range(len(ring))
    ]
    assert sorted(edges) == sorted((b, a) for a, b in edges)  # closed: each edge used both ways
    assert {v[2] for v in block.vertices} == {1.0, 10.0}
    assert solid["semantics"]["values"] == [[0, 1, 2, 2, 2, 2]]


def test_stretching_keeps_the_ground_and_scales_the_rest() -> None:
    house = CityObject(
        "h",
        "Building",
        {"roof": "gable"},
        [{"type": "Solid"}],
        [[0, 0, 2.0], [1, 0, 8.0], [0, 1, 5.0]],
    )
    tall = stretched(house, 12.0)
    assert [v[2] for v in tall.vertices] == [2.0, 14.0, 8.0]
    assert tall.attributes == {"roof": "gable", "measuredHeight": 12.0}
    with pytest.raises(InvalidInput, match="height"):
        stretched(house, 0)
