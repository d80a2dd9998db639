"""Grids on the ground and simple blocks, for apps that map open space or test themselves.

A ``Grid`` covers an area with square cells of ``spacing`` metres and keeps only the cells
whose centre lies outside every building footprint (public space, yards, water)::

    from tweeling.sdk.grid import ground_grid

    grid = ground_grid(buildings.footprints(), spacing=2.0)
    kinds = grid.classify({"green": vegetation.footprints(), "water": water.footprints()})
    outputs.layer("utci", grid.features({"utci_c": utci, "surface": kinds}))

``extrude`` makes the triangles of a flat-roofed block from a footprint, with CityJSON
semantic surface types, for an app's own test scenes (``write_test_inputs(..., mesh=...)``).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

Floats = npt.NDArray[np.float64]

# Grids larger than this are refused rather than exhausting the run's memory.
MAX_CELLS = 20_000_000


@dataclass(frozen=True)
class Grid:
    """Cell centres (n, 2) in the twin's CRS, each cell ``spacing`` metres square."""

    centres: Floats
    spacing: float

    def __len__(self) -> int:
        return int(self.centres.shape[0])

    def points(self, height: float | Floats) -> Floats:
        """The centres lifted to ``height`` (one value, or one per cell): (n, 3)."""
        z = np.broadcast_to(np.asarray(height, dtype=np.float64), (len(self),))
        return np.column_stack([self.centres, z])

    def classify(self, classes: Mapping[str, Sequence[Any]], default: str = "other") -> list[str]:
        """The class of the first polygon set (in the mapping's order) containing each cell
        centre; ``default`` where none does. Polygons are shapely geometries (None skipped)."""
        result = np.full(len(self), default, dtype=object)
        todo = np.ones(len(self), dtype=bool)
        points = shapely.points(self.centres)
        for name, shapes in classes.items():
            polygons = [s for s in shapes if s is not None and not s.is_empty]
            if not polygons or not todo.any():
                continue
            tree = shapely.STRtree(polygons)
            candidates = np.nonzero(todo)[0]
            pairs = tree.query(points[candidates], predicate="within")
            inside = candidates[np.unique(pairs[0])]
            result[inside] = name
            todo[inside] = False
        return [str(v) for v in result]

    def cells(self) -> list[Any]:
        """The cells as shapely squares."""
        half = self.spacing / 2
        x, y = self.centres[:, 0], self.centres[:, 1]
        return list(shapely.box(x - half, y - half, x + half, y + half))

    def features(
        self, columns: Mapping[str, Sequence[Any] | npt.NDArray[Any]], *, decimals: int = 2
    ) -> dict[str, Any]:
        """A GeoJSON FeatureCollection of the cells with one property per column, ready for
        ``Outputs.layer``. Coordinates stay in the twin's CRS, rounded to centimetres."""
        for name, values in columns.items():
            if len(values) != len(self):
                raise ValueError(f"column {name!r} has {len(values)} values for {len(self)} cells")
        half = self.spacing / 2
        plain = {name: _plain_list(values) for name, values in columns.items()}
        features = []
        for i, (x, y) in enumerate(self.centres.round(decimals).tolist()):
            ring = [
                [round(x - half, decimals), round(y - half, decimals)],
                [round(x + half, decimals), round(y - half, decimals)],
                [round(x + half, decimals), round(y + half, decimals)],
                [round(x - half, decimals), round(y + half, decimals)],
                [round(x - half, decimals), round(y - half, decimals)],
            ]
            features.append(
                {
                    "type": "Feature",
                    "id": i,
                    "geometry": {"type": "Polygon", "coordinates": [ring]},
                    "properties": {name: values[i] for name, values in plain.items()},
                }
            )
        return {"type": "FeatureCollection", "features": features}


def _plain_list(values: Sequence[Any] | npt.NDArray[Any]) -> list[Any]:
    if isinstance(values, np.ndarray):
        if values.dtype.kind == "f":
            return [None if not np.isfinite(v) else round(float(v), 3) for v in values]
        return list(values.tolist())
    return list(values)


def ground_grid(
    footprints: Sequence[Any],
    spacing: float,
    *,
    area: Any = None,
    margin: float = 0.0,
) -> Grid:
    """Cells of ``spacing`` metres over ``area`` (a shapely polygon; default: the footprints'
    bounding box grown by ``margin``) whose centres lie outside every footprint."""
    if spacing <= 0:
        raise ValueError("the grid spacing must be positive")
    shapes = [f for f in footprints if f is not None and not f.is_empty]
    if area is None:
        if not shapes:
            return Grid(np.zeros((0, 2)), spacing)
        minx, miny, maxx, maxy = shapely.total_bounds(shapes)
        area = shapely.box(minx - margin, miny - margin, maxx + margin, maxy + margin)
    minx, miny, maxx, maxy = area.bounds
    # Cells on a lattice anchored at whole multiples of the spacing, so that grids of two
    # scenarios of one twin line up cell for cell.
    x0 = np.floor(minx / spacing) * spacing + spacing / 2
    y0 = np.floor(miny / spacing) * spacing + spacing / 2
    nx = int(np.ceil((maxx - x0) / spacing + 0.5))
    ny = int(np.ceil((maxy - y0) / spacing + 0.5))
    if nx * ny > MAX_CELLS:
        raise ValueError(
            f"a {spacing:g} m grid over this area has {nx * ny:,} cells (at most "
            f"{MAX_CELLS:,}); choose a coarser spacing"
        )
    xs, ys = np.meshgrid(x0 + spacing * np.arange(nx), y0 + spacing * np.arange(ny))
    centres = np.column_stack([xs.ravel(), ys.ravel()])
    points = shapely.points(centres)
    keep = shapely.contains_xy(area, centres[:, 0], centres[:, 1])
    if shapes:
        tree = shapely.STRtree(shapes)
        inside = tree.query(points, predicate="within")[0]
        keep[np.unique(inside)] = False
    return Grid(centres[keep], spacing)


def extrude(footprint: Any, height: float, base: float = 0.0) -> tuple[Floats, list[str]]:
    """Triangles (k, 3, 3) of a block with a flat roof at ``base + height`` over a shapely
    polygon or multipolygon (or a list of (x, y) corners), wound outwards, with their
    semantic surface types (GroundSurface, WallSurface, RoofSurface).

    The block is a closed surface: every edge is shared by exactly two triangles, run in
    opposite directions, so its volume is the footprint's area times the height."""
    if not np.isfinite(height) or height <= 0 or not np.isfinite(base):
        raise ValueError(f"a block needs a finite positive height (got {height!r} from {base!r})")
    shape = footprint if hasattr(footprint, "geom_type") else shapely.Polygon(footprint)
    if shape.geom_type not in ("Polygon", "MultiPolygon") or shape.is_empty:
        raise ValueError(f"a footprint must be a polygon, not {shape.geom_type}")
    if not shape.is_valid:
        raise ValueError(f"the footprint is not a valid polygon: {shapely.is_valid_reason(shape)}")
    shape = shapely.remove_repeated_points(shape)  # a zero-length edge has no wall
    top = base + height
    triangles: list[list[list[float]]] = []
    kinds: list[str] = []
    for polygon in getattr(shape, "geoms", [shape]):
        polygon = shapely.geometry.polygon.orient(polygon, sign=1.0)  # counter-clockwise outside
        # A constrained triangulation uses only the polygon's corners and keeps its edges, so
        # the roof covers the footprint exactly, concave notches and holes included, and its
        # edges meet the walls' edges one to one.
        for piece in shapely.constrained_delaunay_triangles(polygon).geoms:
            ring = shapely.geometry.polygon.orient(piece, sign=1.0).exterior.coords[:3]
            triangles.append([[x, y, top] for x, y in ring])
            kinds.append("RoofSurface")
            triangles.append([[x, y, base] for x, y in reversed(ring)])
            kinds.append("GroundSurface")
        for ring in (polygon.exterior, *polygon.interiors):
            for (x1, y1), (x2, y2) in itertools.pairwise(ring.coords):
                # Outer rings run counter-clockwise, holes clockwise: either way the outside
                # of the wall is on the right of the edge.
                triangles.append([[x1, y1, base], [x2, y2, base], [x2, y2, top]])
                triangles.append([[x1, y1, base], [x2, y2, top], [x1, y1, top]])
                kinds += ["WallSurface", "WallSurface"]
    return np.asarray(triangles, dtype=np.float64).reshape(-1, 3, 3), kinds
