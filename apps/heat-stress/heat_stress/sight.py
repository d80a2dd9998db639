"""What a person standing on each ground cell sees: sky, walls and the sun.

A person is represented by a point 1.1 m above the ground, the centre of gravity of a
standing adult and the height at which SOLWEIG (Lindberg et al. 2008) and RayMan (Matzarakis
et al. 2007) evaluate the mean radiant temperature. From that point rays go to every sky
patch (``tweeling.sdk.visibility``) and to the sun at every hour of the day; the buildings'
triangles block them. Trees, bridges and other structures do not: only buildings shade.

The ground is not in the twin as a surface of its own, so its height under a cell is taken
from the nearest building: the lowest point of its GroundSurface triangles (or of all its
triangles where the data has no semantics). That follows the terrain where buildings are
dense and is exact on flat ground such as Delft's; on slopes far from buildings it is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from tweeling.sdk import Mesh
from tweeling.sdk.visibility import Occluder, Sky

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

PERSON_HEIGHT_M = 1.1
# Horizontal unit normals of the four sides of a standing person: east, north, west, south.
SIDES = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
_CHUNK = 20_000  # cells per visibility batch (cells × patches booleans in memory)


def building_bases(mesh: Mesh, count: int) -> Floats:
    """Lowest z of each building (GroundSurface triangles where the data marks them); NaN for
    a building without triangles."""
    lowest = mesh.corners[:, :, 2].min(axis=1)
    base = np.full(count, np.inf)
    np.minimum.at(base, mesh.objects, lowest)
    ground = mesh.surfaces == "GroundSurface"
    if ground.any():
        marked = np.full(count, np.inf)
        np.minimum.at(marked, mesh.objects[ground], lowest[ground])
        base = np.where(np.isfinite(marked), marked, base)
    return np.where(np.isfinite(base), base, np.nan)


def ground_heights(centres: Floats, footprints: list[Any], bases: Floats) -> Floats:
    """The ground height under each cell centre: the base of the nearest building."""
    usable = [
        i
        for i, shape in enumerate(footprints)
        if shape is not None and not shape.is_empty and np.isfinite(bases[i])
    ]
    if not usable:
        return np.zeros(len(centres))
    tree = shapely.STRtree([footprints[i] for i in usable])
    pairs = tree.query_nearest(shapely.points(centres), all_matches=False)
    heights = np.zeros(len(centres))
    heights[pairs[0]] = bases[np.asarray(usable)[pairs[1]]]
    return heights


@dataclass(frozen=True)
class Sight:
    """Per cell: the sky view factor of a horizontal surface (``svf``, 0–1), of the four
    vertical sides of a person (``side_svf``, (n, 4), 0–0.5 each: a vertical surface sees at
    most half the sky), and whether the sun is visible at each daylight hour (``sunlit``,
    (n, hours))."""

    svf: Floats
    side_svf: Floats
    sunlit: Bools


def look(scene: Occluder, points: Floats, sky: Sky, sun: Floats) -> Sight:
    """Sky and sun visibility from ``points`` (n, 3) for ``sun`` directions (hours, 3)."""
    n = len(points)
    svf = np.empty(n)
    side_svf = np.empty((n, len(SIDES)))
    sunlit = np.zeros((n, len(sun)), dtype=bool)
    up = np.array([0.0, 0.0, 1.0])
    for start in range(0, n, _CHUNK):
        stop = min(n, start + _CHUNK)
        block = points[start:stop]
        normals = np.broadcast_to(up, block.shape)
        seen = scene.visible(block, normals, sky.directions)
        svf[start:stop] = sky.view_factor(seen)
        for side, normal in enumerate(SIDES):
            side_svf[start:stop, side] = sky.view_factor(seen, np.broadcast_to(normal, block.shape))
        if len(sun):
            sunlit[start:stop] = scene.visible(block, normals, sun)
    return Sight(np.clip(svf, 0.0, 1.0), np.clip(side_svf, 0.0, 0.5), sunlit)
