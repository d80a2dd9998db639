"""The sun-visibility engine: Embree and the numpy fallback agree; sky patches integrate the
hemisphere; an infinitely long street canyon has its analytic sky view factor; a slab casts
the shadow its height and the sun's elevation say."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tweeling.sdk.visibility import (
    Occluder,
    direction,
    embree_available,
    iter_samples,
    sample_triangles,
    sky_patches,
)

needs_embree = pytest.mark.skipif(not embree_available(), reason="embreex is not installed")


def _box(x0: float, y0: float, x1: float, y1: float, height: float) -> np.ndarray:
    """A closed box as 12 triangles (walls, roof and floor)."""
    c = np.array(
        [
            [x0, y0, 0],
            [x1, y0, 0],
            [x1, y1, 0],
            [x0, y1, 0],
            [x0, y0, height],
            [x1, y0, height],
            [x1, y1, height],
            [x0, y1, height],
        ],
        dtype=float,
    )
    faces = [
        (0, 1, 5),
        (0, 5, 4),
        (1, 2, 6),
        (1, 6, 5),
        (2, 3, 7),
        (2, 7, 6),
        (3, 0, 4),
        (3, 4, 7),
        (4, 5, 6),
        (4, 6, 7),
        (0, 2, 1),
        (0, 3, 2),
    ]
    return c[np.array(faces)]


def test_sky_patches_integrate_the_hemisphere() -> None:
    for bands in (4, 8, 30):
        sky = sky_patches(bands)
        assert sky.solid_angle.sum() == pytest.approx(2 * math.pi, rel=1e-12)
        assert sky.horizontal_weight.sum() == pytest.approx(math.pi, rel=1e-12)
        assert np.allclose(np.linalg.norm(sky.directions, axis=1), 1)
    assert 130 <= len(sky_patches(7)) <= 160  # about Tregenza's 145


def test_samples_cover_each_triangle_once() -> None:
    rng = np.random.default_rng(1)
    corners = rng.uniform(0, 30, (50, 3, 3))
    samples = sample_triangles(corners, spacing=1.0)
    areas = 0.5 * np.linalg.norm(
        np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]), axis=1
    )
    assert np.bincount(samples.triangle, weights=samples.area, minlength=50) == pytest.approx(areas)
    # about one point per square metre, never none
    assert len(samples.points) == pytest.approx(areas.sum(), rel=0.5)
    assert np.bincount(samples.triangle, minlength=50).min() >= 1


@needs_embree
def test_samples_in_batches_are_the_same_samples() -> None:
    rng = np.random.default_rng(5)
    corners = rng.uniform(0, 30, (400, 3, 3))
    whole = sample_triangles(corners, 1.0)
    batches = list(iter_samples(corners, 1.0, points=2000))
    assert len(batches) > 5
    assert all(len(b.points) <= 2000 or len(np.unique(b.triangle)) == 1 for b in batches)
    joined = {f: np.concatenate([getattr(b, f) for b in batches]) for f in whole.__dict__}

    def order(s: dict) -> np.ndarray:  # type: ignore[type-arg]
        return np.lexsort((*s["points"].T, s["triangle"]))

    a, b = order(joined), order(whole.__dict__)
    for field in ("points", "normals", "triangle", "area"):  # the same, in another order
        assert np.array_equal(joined[field][a], getattr(whole, field)[b])


def test_embree_and_numpy_agree() -> None:
    rng = np.random.default_rng(7)
    centres = rng.uniform(0, 100, (1500, 1, 3))
    corners = centres + rng.uniform(-8, 8, (1500, 3, 3)) + np.array([85_000.0, 445_000.0, 0.0])
    origins = rng.uniform(0, 100, (4000, 3)) + np.array([85_000.0, 445_000.0, 0.0])
    dirs = rng.normal(size=(4000, 3))
    dirs /= np.linalg.norm(dirs, axis=1)[:, None]
    fast = Occluder(corners, engine="embree").occluded(origins, dirs)
    slow = Occluder(corners, engine="numpy").occluded(origins, dirs)
    assert 0.1 < fast.mean() < 0.9  # a test with both outcomes
    assert (fast == slow).mean() > 0.998  # single vs double precision at grazing edges


@needs_embree
def test_threads_give_the_same_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    boxes = [_box(x, y, x + 8, y + 8, h) for x, y, h in rng.uniform(0, 200, (80, 3))]
    corners = np.concatenate(boxes) + np.array([85_000.0, 445_000.0, 0.0])
    points = np.column_stack(
        [rng.uniform(0, 200, (3000, 2)) + np.array([85_000.0, 445_000.0]), np.full(3000, 0.5)]
    )
    sky = sky_patches(7)
    one = Occluder(corners, threads=1).visible(points, None, sky.directions)
    three = Occluder(corners, threads=3).visible(points, None, sky.directions)
    assert one.size > 4 * 65536  # large enough to be split
    assert 0.05 < one.mean() < 0.95
    assert np.array_equal(one, three)
    rays = np.repeat(sky.directions, 500, axis=0)
    origins = np.repeat(points[:500], len(sky), axis=0)
    assert np.array_equal(
        Occluder(corners, threads=1).occluded(origins, rays),
        Occluder(corners, threads=2).occluded(origins, rays),
    )
    monkeypatch.setenv("TWEELING_CPUS", "2")  # what the platform grants a run
    assert Occluder(corners).threads == 2


@pytest.mark.parametrize("engine", ["numpy", pytest.param("embree", marks=needs_embree)])
def test_street_canyon_sky_view_factor(engine: str) -> None:
    # H/W = 1: walls 10 m high, 10 m apart, 2 km long; the floor's centre line
    length, width, height = 1000.0, 10.0, 10.0
    walls = np.concatenate(
        [
            _box(-length, -width / 2 - 1, length, -width / 2, height),
            _box(-length, width / 2, length, width / 2 + 1, height),
        ]
    )
    sky = sky_patches(bands=60)
    seen = Occluder(walls, engine=engine).visible(np.array([[0.0, 0.0, 0.0]]), None, sky.directions)
    svf = sky.view_factor(seen)[0]
    assert svf == pytest.approx(math.cos(math.atan(2 * height / width)), abs=0.02)  # 0.447


@pytest.mark.parametrize("engine", ["numpy", pytest.param("embree", marks=needs_embree)])
def test_slab_shadow_at_winter_noon(engine: str) -> None:
    # a 20 m slab along x, sun due south at 15° (Delft, 21 December, noon: about 14.7°)
    height, elevation = 20.0, 15.0
    slab = _box(-200, 0, 200, 10, height)
    sun = direction(elevation, 180.0)[None, :]
    cells = np.arange(-20.0, 120.0, 1.0)  # ground cells along the north–south axis, 1 m
    points = np.column_stack([np.zeros_like(cells), cells, np.zeros_like(cells)])
    outside = (cells < 0) | (cells > 10)
    lit = Occluder(slab, engine=engine).visible(points[outside], None, sun)[:, 0]
    north = cells[outside] > 10
    assert lit[~north].all()  # south of the slab: in the sun
    shaded_north = cells[outside][north & ~lit]
    shadow = shaded_north.max() + 1 - 10  # from the slab's north face to the shadow's end
    assert shadow == pytest.approx(height / math.tan(math.radians(elevation)), abs=1.0)  # 74.6 m
    assert not lit[np.isclose(cells[outside], 40)].any()
    assert lit[np.isclose(cells[outside], 100)].all()
