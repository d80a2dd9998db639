"""``extrude`` against independent oracles, over random footprints.

For any valid footprint — convex or not, with holes or without, several parts — the block
must have roof area = ground area = the footprint's area as shapely computes it, walls of
area perimeter x height, and be a closed surface wound outwards: every edge shared by exactly
two triangles that run it in opposite directions, roofs facing up, ground facing down, and a
signed volume (divergence theorem) of area x height. The old roof — Delaunay triangles kept
where their representative point lies inside — fails these on concave footprints.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tweeling.sdk.grid import extrude

Point = tuple[float, float]


def _star(centre: Point, radii: list[float], turns: list[float]) -> list[Point]:
    """A ring star-shaped around ``centre``: corners at increasing angles, so it is simple."""
    angles = np.cumsum(turns) / np.sum(turns) * 2 * np.pi
    return [
        (centre[0] + r * float(np.cos(a)), centre[1] + r * float(np.sin(a)))
        for r, a in zip(radii, angles, strict=True)
    ]


@st.composite
def star_footprints(draw: st.DrawFn) -> shapely.Polygon:
    """Star-shaped polygons (mostly concave), some with star-shaped holes inside them."""
    n = draw(st.integers(3, 24))
    radii = draw(st.lists(st.floats(1.0, 50.0), min_size=n, max_size=n))
    turns = draw(st.lists(st.floats(0.05, 1.0), min_size=n, max_size=n))
    origin = draw(st.sampled_from([(0.0, 0.0), (85_000.0, 446_000.0)]))  # and in RD metres
    shell = _star(origin, radii, turns)
    holes = []
    for _ in range(draw(st.integers(0, 3))):
        m = draw(st.integers(3, 8))
        at = (
            origin[0] + draw(st.floats(-30.0, 30.0)),
            origin[1] + draw(st.floats(-30.0, 30.0)),
        )
        hole_radii = draw(st.lists(st.floats(0.3, 8.0), min_size=m, max_size=m))
        hole_turns = draw(st.lists(st.floats(0.1, 1.0), min_size=m, max_size=m))
        holes.append(_star(at, hole_radii, hole_turns))
    polygon = shapely.Polygon(shell, holes)
    assume(polygon.is_valid and polygon.area > 1e-3)
    return polygon


@st.composite
def block_unions(draw: st.DrawFn) -> shapely.Polygon | shapely.MultiPolygon:
    """Unions of lattice squares: many collinear corners, courtyards, holes touching the
    outside at a corner, and footprints of several parts."""
    cells = draw(st.sets(st.tuples(st.integers(0, 6), st.integers(0, 6)), min_size=1))
    size = draw(st.sampled_from([1.0, 2.5, 7.3]))
    union = shapely.union_all([shapely.box(i, j, i + 1, j + 1) for i, j in cells])
    shape = shapely.affinity.scale(union, size, size, origin=(0, 0))
    assume(shape.geom_type in ("Polygon", "MultiPolygon") and shape.is_valid)
    return shape


def _pinch_corners(footprint: shapely.Polygon | shapely.MultiPolygon) -> set[Point]:
    """Corners where the footprint touches itself: met by more than one ring, or twice by one."""
    seen: Counter[Point] = Counter()
    for polygon in getattr(footprint, "geoms", [footprint]):
        for ring in (polygon.exterior, *polygon.interiors):
            seen.update((x, y) for x, y in ring.coords[:-1])
    return {corner for corner, n in seen.items() if n > 1}


def _check_block(footprint: shapely.Polygon | shapely.MultiPolygon, height: float) -> None:
    base = -1.5
    triangles, kinds = extrude(footprint, height, base=base)
    kind = np.array(kinds)
    assert triangles.shape == (len(kinds), 3, 3)
    assert set(kinds) == {"RoofSurface", "GroundSurface", "WallSurface"}

    # Every edge once in each direction: a closed, consistently wound surface. Corners are
    # compared exactly — a roof edge that does not meet a wall edge would show up here. Where
    # the footprint touches itself at a corner (two parts, or a hole meeting the outside) the
    # vertical edge there belongs to two walls of each side: twice in each direction.
    edges = Counter(
        (tuple(tri[i]), tuple(tri[(i + 1) % 3])) for tri in triangles.tolist() for i in range(3)
    )
    pinches = _pinch_corners(footprint)
    unpaired = [
        edge
        for edge, n in edges.items()
        if edges.get((edge[1], edge[0])) != n
        or n != (2 if edge[0][:2] == edge[1][:2] and edge[0][:2] in pinches else 1)
    ]
    assert not unpaired, f"{len(unpaired)} edges not shared by exactly two triangles"

    local = triangles - triangles[0, 0]  # translation-invariant sums, precise in RD metres
    cross = np.cross(local[:, 1] - local[:, 0], local[:, 2] - local[:, 0])
    area = 0.5 * np.linalg.norm(cross, axis=1)
    roof, ground, wall = (kind == k for k in ("RoofSurface", "GroundSurface", "WallSurface"))
    expected = footprint.area
    assert area[roof].sum() == pytest.approx(expected, rel=1e-9)
    assert area[ground].sum() == pytest.approx(expected, rel=1e-9)
    assert area[wall].sum() == pytest.approx(footprint.length * height, rel=1e-9)
    assert np.allclose(triangles[roof, :, 2], base + height)
    assert np.allclose(triangles[ground, :, 2], base)
    # Roofs face up and ground faces down (their signed areas, not only the sum).
    assert (cross[roof, 2] >= 0).all() and (cross[ground, 2] <= 0).all()
    signed_volume = np.einsum("ij,ij->i", local[:, 0], np.cross(local[:, 1], local[:, 2])).sum()
    assert signed_volume / 6 == pytest.approx(expected * height, rel=1e-9)


_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(footprint=star_footprints(), height=st.floats(0.5, 120.0))
def test_star_shaped_footprints_with_and_without_holes(
    footprint: shapely.Polygon, height: float
) -> None:
    _check_block(footprint, height)


@_SETTINGS
@given(footprint=block_unions(), height=st.floats(0.5, 120.0))
def test_unions_of_squares(
    footprint: shapely.Polygon | shapely.MultiPolygon, height: float
) -> None:
    _check_block(footprint, height)


def test_a_concave_footprint_the_old_roof_got_wrong() -> None:
    # Area 42 m² (shoelace); the Delaunay roof, kept where a triangle's representative point
    # lies inside, covered 38 m² of it, and crossed the outline elsewhere.
    arrow = shapely.Polygon([(8, 7), (-7, 0), (-10, -1), (-2, -1), (-5, -6)])
    assert arrow.area == 42.0
    _check_block(arrow, 10.0)


def test_corners_given_as_a_list_and_repeated_corners() -> None:
    _check_block(shapely.Polygon([(0, 0), (4, 0), (4, 3), (0, 3)]), 3.0)
    triangles, _ = extrude([(0, 0), (4, 0), (4, 0), (4, 3), (0, 3)], 3.0)
    assert len(triangles) == 2 * 2 + 4 * 2  # two roof and two ground triangles, four walls


@pytest.mark.parametrize(
    ("footprint", "height", "problem"),
    [
        (shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2)]), 3.0, "not a valid polygon"),
        (shapely.LineString([(0, 0), (1, 1)]), 3.0, "must be a polygon"),
        (shapely.Polygon(), 3.0, "must be a polygon"),
        (shapely.box(0, 0, 1, 1), 0.0, "positive height"),
        (shapely.box(0, 0, 1, 1), float("nan"), "positive height"),
    ],
)
def test_what_cannot_be_a_block_is_refused(footprint: object, height: float, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        extrude(footprint, height)
