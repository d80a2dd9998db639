"""Sun and sky visibility by ray casting against a twin's triangles.

The rays go to Intel Embree (through ``embreex``) where it is installed; a plain numpy
ray–triangle test (Möller–Trumbore) gives the same answers everywhere else, much more slowly,
and is checked against Embree in the tests. Coordinates are shifted to a local origin first:
Embree works in single precision, which in Dutch RD coordinates (x ≈ 85,000, y ≈ 445,000 m)
would leave only centimetres of resolution.

Typical use in an app::

    from tweeling.sdk.visibility import Occluder, sample_triangles, sky_patches

    mesh = inputs.layer("buildings").mesh()
    scene = Occluder(mesh.corners)
    samples = sample_triangles(mesh.corners[roofs], spacing=1.0)
    sky = sky_patches(bands=7)
    seen = scene.visible(samples.points, samples.normals, sky.directions)   # (points, patches)
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tweeling import settings

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

# How far a ray starts off its surface, in metres: far enough not to hit the surface it
# leaves (single precision), near enough not to skip a neighbouring wall.
SURFACE_OFFSET = 0.02
_BATCH_RAYS = 1 << 20
# Below this many rays a batch is not worth splitting across threads.
_SPLIT_RAYS = 1 << 16


def ray_threads() -> int:
    """Threads to cast rays with: the cores the platform grants the run (``TWEELING_CPUS``,
    from the manifest's ``resources.cpu``), else the cores this process may use."""
    granted = settings.current().runs.cpus
    if granted is not None:
        return max(1, granted)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def embree_available() -> bool:
    try:
        import embreex.rtcore_scene  # noqa: F401
    except ImportError:
        return False
    return True


class Occluder:
    """The triangles that block rays: ``corners`` (n, 3, 3) in the twin's CRS (metres)."""

    def __init__(
        self, corners: Floats, *, engine: str = "auto", threads: int | None = None
    ) -> None:
        corners = np.asarray(corners, dtype=np.float64).reshape(-1, 3, 3)
        self.origin = corners.reshape(-1, 3).mean(axis=0) if len(corners) else np.zeros(3)
        self._local = corners - self.origin
        if engine == "auto":
            engine = "embree" if embree_available() else "numpy"
        if engine not in ("embree", "numpy"):
            raise ValueError(f"unknown ray engine {engine!r}: embree or numpy")
        self.engine = engine
        # Embree answers queries on a built scene from many threads at once and embreex lets
        # go of Python's lock while it does, so a batch splits across the granted cores.
        self.threads = max(1, threads if threads is not None else ray_threads())
        self._pool: ThreadPoolExecutor | None = None
        self._scene: Any = None
        if engine == "embree" and len(corners):
            from embreex import rtcore_scene
            from embreex.mesh_construction import TriangleMesh

            self._scene = rtcore_scene.EmbreeScene()
            TriangleMesh(self._scene, self._local.astype(np.float32))

    @property
    def triangles(self) -> int:
        return int(self._local.shape[0])

    def occluded(self, origins: Floats, directions: Floats) -> Bools:
        """For each ray (origin in the twin's CRS, unit direction): does it hit a triangle?"""
        origins = np.asarray(origins, dtype=np.float64).reshape(-1, 3) - self.origin
        directions = np.asarray(directions, dtype=np.float64).reshape(-1, 3)
        if not self.triangles or not len(origins):
            return np.zeros(len(origins), dtype=bool)
        out = np.empty(len(origins), dtype=bool)
        for start in range(0, len(origins), _BATCH_RAYS):
            stop = start + _BATCH_RAYS
            out[start:stop] = self._occluded(origins[start:stop], directions[start:stop])
        return out

    def _occluded(self, origins: Floats, directions: Floats) -> Bools:
        if self._scene is not None:
            return self._cast(origins.astype(np.float32), directions.astype(np.float32))
        return _numpy_occluded(self._local, origins, directions)

    def _cast(self, origins: npt.NDArray[np.float32], rays: npt.NDArray[np.float32]) -> Bools:
        """Embree's occlusion test of float32 rays in the local frame, over the threads."""
        if self.threads == 1 or len(origins) < _SPLIT_RAYS:
            return np.asarray(self._scene.run(origins, rays, query="OCCLUDED") != -1)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="tweeling-rays")
        bounds = np.linspace(0, len(origins), self.threads + 1).astype(np.int64)
        parts = [
            self._pool.submit(self._scene.run, origins[a:b], rays[a:b], query="OCCLUDED")
            for a, b in itertools.pairwise(bounds.tolist())
        ]
        return np.concatenate([np.asarray(p.result() != -1) for p in parts])

    def visible(self, points: Floats, normals: Floats | None, directions: Floats) -> Bools:
        """(points, directions): whether each direction is open sky from each point.

        A direction behind a point's surface (normal · direction ≤ 0) counts as not visible;
        rays start ``SURFACE_OFFSET`` off the surface along its normal (or up, without one).
        """
        points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        directions = np.asarray(directions, dtype=np.float64).reshape(-1, 3)
        lift = np.array([0.0, 0.0, 1.0]) if normals is None else np.asarray(normals, np.float64)
        starts = points + SURFACE_OFFSET * np.broadcast_to(lift, points.shape)
        result = np.zeros((len(points), len(directions)), dtype=bool)
        facing = (
            np.ones_like(result)
            if normals is None
            else (np.asarray(normals, np.float64) @ directions.T) > 1e-9
        )
        rows = max(1, _BATCH_RAYS // max(1, len(directions)))
        dense = self._scene is not None and facing.mean() > 0.75
        for start in range(0, len(points), rows):
            stop = min(len(points), start + rows)
            block = facing[start:stop]
            if dense:
                # Nearly every ray faces its surface: cast them all, straight from float32
                # copies, and mask afterwards (cheaper than picking the facing ones out).
                result[start:stop] = block & ~self._dense(starts[start:stop], directions)
                continue
            p_index, d_index = np.nonzero(block)
            if not len(p_index):
                continue
            blocked = self.occluded(starts[start:stop][p_index], directions[d_index])
            result[start + p_index, d_index] = ~blocked
        return result

    def _dense(self, starts: Floats, directions: Floats) -> Bools:
        """(points, directions) occlusion of every pair, through Embree."""
        local = (starts - self.origin).astype(np.float32)
        origins = np.repeat(local, len(directions), axis=0)
        rays = np.tile(directions.astype(np.float32), (len(starts), 1))
        return self._cast(origins, rays).reshape(len(starts), len(directions))


def _numpy_occluded(triangles: Floats, origins: Floats, directions: Floats) -> Bools:
    """Möller–Trumbore against every triangle, in blocks (the fallback: exact, but slow)."""
    v0 = triangles[:, 0]
    e1 = triangles[:, 1] - v0
    e2 = triangles[:, 2] - v0
    hit = np.zeros(len(origins), dtype=bool)
    block = max(1, 4_000_000 // max(1, len(triangles)))
    for start in range(0, len(origins), block):
        o = origins[start : start + block, None, :]
        d = directions[start : start + block, None, :]
        p = np.cross(d, e2[None])
        det = np.einsum("rtk,tk->rt", p, e1)
        ok = np.abs(det) > 1e-12
        inv = np.divide(1.0, det, out=np.zeros_like(det), where=ok)
        s = o - v0[None]
        u = np.einsum("rtk,rtk->rt", s, p) * inv
        q = np.cross(s, e1[None])
        v = np.einsum("rtk,rtk->rt", np.broadcast_to(d, q.shape), q) * inv
        t = np.einsum("rtk,tk->rt", q, e2) * inv
        inside = ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 1e-6)
        hit[start : start + block] = inside.any(axis=1)
    return hit


@dataclass(frozen=True)
class Samples:
    """Points on triangles: position, the triangle's unit normal, which triangle, and the
    area each point stands for (m²)."""

    points: Floats
    normals: Floats
    triangle: npt.NDArray[np.int64]
    area: Floats


def sample_triangles(corners: Floats, spacing: float) -> Samples:
    """Points spread over each triangle about ``spacing`` metres apart (at least one each).

    Each triangle is split into k² equal sub-triangles (k from its area) and sampled at their
    centroids, so every point stands for the same share of its triangle's area.
    """
    corners = np.asarray(corners, dtype=np.float64).reshape(-1, 3, 3)
    a, b, c = corners[:, 0], corners[:, 1], corners[:, 2]
    cross = np.cross(b - a, c - a)
    double_area = np.linalg.norm(cross, axis=1)
    normals = np.divide(
        cross, double_area[:, None], out=np.zeros_like(cross), where=double_area[:, None] > 0
    )
    area = 0.5 * double_area
    k = _splits(corners, spacing)
    points: list[Floats] = []
    owner: list[npt.NDArray[np.int64]] = []
    weights: list[Floats] = []
    for level in np.unique(k):
        which = np.nonzero(k == level)[0]
        bary = _subtriangle_centroids(int(level))  # (m, 3)
        pts = np.einsum("mj,tjk->tmk", bary, corners[which]).reshape(-1, 3)
        points.append(pts)
        owner.append(np.repeat(which, len(bary)))
        weights.append(np.repeat(area[which] / len(bary), len(bary)))
    if not points:
        empty = np.zeros((0, 3))
        return Samples(empty, empty, np.zeros(0, dtype=np.int64), np.zeros(0))
    index = np.concatenate(owner)
    return Samples(np.concatenate(points), normals[index], index, np.concatenate(weights))


def _splits(corners: Floats, spacing: float) -> npt.NDArray[np.int64]:
    """How many times ``sample_triangles`` cuts each triangle's sides (k: k² points)."""
    a, b, c = corners[:, 0], corners[:, 1], corners[:, 2]
    area = 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)
    splits: npt.NDArray[np.int64] = np.maximum(
        1, np.ceil(np.sqrt(area) / max(spacing, 1e-6)).astype(np.int64)
    )
    return splits


def iter_samples(corners: Floats, spacing: float, points: int = 50_000) -> Iterator[Samples]:
    """``sample_triangles`` in batches of about ``points`` points (whole triangles each), so
    that a city's roofs never have to be in memory at once. ``triangle`` indexes ``corners``."""
    corners = np.asarray(corners, dtype=np.float64).reshape(-1, 3, 3)
    counts = _splits(corners, spacing) ** 2
    ends = np.cumsum(counts)
    start = 0
    while start < len(corners):
        done = int(ends[start - 1]) if start else 0
        stop = max(start + 1, int(np.searchsorted(ends, done + points, side="right")))
        batch = sample_triangles(corners[start:stop], spacing)
        yield Samples(batch.points, batch.normals, batch.triangle + start, batch.area)
        start = stop


def _subtriangle_centroids(k: int) -> Floats:
    """Barycentric centroids of the k² sub-triangles of a triangle cut k times per side."""
    out = []
    for i in range(k):
        for j in range(k - i):
            out.append(((i + 1 / 3) / k, (j + 1 / 3) / k))  # upright
            if i + j < k - 1:
                out.append(((i + 2 / 3) / k, (j + 2 / 3) / k))  # upside down
    uv = np.asarray(out)
    return np.column_stack([1 - uv[:, 0] - uv[:, 1], uv[:, 0], uv[:, 1]])


@dataclass(frozen=True)
class Sky:
    """The sky hemisphere cut into patches: unit ``directions`` (x east, y north, z up) of
    their centres, ``altitude`` and ``azimuth`` (degrees, azimuth clockwise from north),
    ``solid_angle`` (sr, summing to 2π) and ``horizontal_weight`` (∫cos(zenith) dΩ over the
    patch, summing to π: a horizontal surface's share of isotropic sky light)."""

    directions: Floats
    altitude: Floats
    azimuth: Floats
    solid_angle: Floats
    horizontal_weight: Floats

    def __len__(self) -> int:
        return int(self.directions.shape[0])

    def view_factor(self, visible: Bools, normals: Floats | None = None) -> Floats:
        """Sky view factor of each point from its visibility row (points, patches): the share
        of isotropic sky radiance its surface receives, 1 for an open horizontal surface. A
        tilted surface's factor counts what it sees of the sky hemisphere only."""
        if normals is None:
            weights = np.broadcast_to(self.horizontal_weight, visible.shape)
        else:
            cosines = np.clip(np.asarray(normals) @ self.directions.T, 0, None)
            weights = cosines * self.solid_angle
        return np.asarray((visible * weights).sum(axis=1) / math.pi)


def direction(altitude_deg: Floats | float, azimuth_deg: Floats | float) -> Floats:
    """Unit vectors (x east, y north, z up) for altitudes and azimuths in degrees."""
    alt = np.radians(np.asarray(altitude_deg, dtype=np.float64))
    az = np.radians(np.asarray(azimuth_deg, dtype=np.float64))
    return np.stack([np.cos(alt) * np.sin(az), np.cos(alt) * np.cos(az), np.sin(alt)], axis=-1)


def sky_patches(bands: int = 7) -> Sky:
    """A hemisphere of ``bands`` altitude rings plus a zenith cap, each ring cut into
    azimuth cells of about equal solid angle (bands = 7 gives 144 patches, like
    Tregenza's 145; more bands, finer sky)."""
    if bands < 1:
        raise ValueError("at least one altitude band")
    width = 90.0 / (bands + 0.5)  # the zenith cap is half a band high
    rows: list[tuple[float, float, float, float]] = []
    for ring in range(bands):
        low, high = ring * width, (ring + 1) * width
        middle = math.radians((low + high) / 2)
        cells = max(1, round(2 * math.pi * math.cos(middle) / math.radians(width)))
        sin_low, sin_high = math.sin(math.radians(low)), math.sin(math.radians(high))
        omega = 2 * math.pi / cells * (sin_high - sin_low)
        horizontal = 2 * math.pi / cells * (sin_high**2 - sin_low**2) / 2
        for cell in range(cells):
            rows.append(((low + high) / 2, (cell + 0.5) * 360.0 / cells, omega, horizontal))
    cap_low = math.sin(math.radians(bands * width))
    rows.append((90.0, 0.0, 2 * math.pi * (1 - cap_low), math.pi * (1 - cap_low**2)))
    alt, az, omega_, horiz = (np.asarray(col) for col in zip(*rows, strict=True))
    return Sky(direction(alt, az), alt, az, omega_, horiz)
