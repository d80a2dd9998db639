"""A quadtree over a scenario's objects, and the 3D Tiles 1.1 tileset that describes it.

Objects go to the quadrant holding the centre of their box; a quadrant is split until it
holds at most ``max_objects``. Leaves carry content (one GLB of their objects); inner tiles
only organise, with a geometric error that halves per level, so a viewer loads a district's
buildings as the camera comes within a few kilometres and drops them as it moves away
(additive refinement, as city building tilesets commonly do).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, text

from tweeling import __version__
from tweeling.twin.tiles.frame import LocalFrame
from tweeling.twin.views import View

MAX_OBJECTS = 400
MAX_LEVEL = 16
# A viewer with the usual 16-pixel error budget opens a tile's children from about
# 50 × its geometric error away; an eighth of the tile's edge opens a 400 m district
# from about 2.5 km.
ERROR_PER_EDGE = 1 / 8


@dataclass
class Node:
    level: int
    x: int
    y: int
    edge: float
    box: npt.NDArray[np.float64]  # minx, miny, minz, maxx, maxy, maxz of its objects (twin CRS)
    members: npt.NDArray[np.int64] | None = None  # row keys, leaves only
    children: list[Node] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.level}/{self.x}/{self.y}"


@dataclass
class Quadtree:
    crs: str
    frame: LocalFrame
    root: Node
    leaves: dict[str, Node]
    object_count: int


# Canonical geometry documents have sorted keys, so an object with no geometry of its own
# (a building made of parts, whose box its parts gave it) starts with exactly these bytes.
_NO_GEOMETRY = b'{"geometry":[],'


def _boxes(conn: Connection, view: View) -> npt.NDArray[np.float64]:
    """pk and 3D box of every live object the view draws, as one array.

    Parents without geometry of their own are left out: their parts are drawn, and each
    part's metadata names its parent.
    """
    condition, params = view.visible("o")
    sql = (
        "SELECT o.pk, o.minx, o.miny, o.minz, o.maxx, o.maxy, o.maxz, "
        f"CASE WHEN o.children IS NOT NULL THEN substr(o.geometry, 1, {len(_NO_GEOMETRY)}) END "
        f"FROM city_objects o WHERE {condition} AND NOT o.deleted AND o.minx IS NOT NULL"
    )
    rows = [
        r[:7]
        for r in conn.execute(text(sql), params)
        if r[7] is None or bytes(r[7]) != _NO_GEOMETRY
    ]
    return np.asarray(rows, dtype=np.float64).reshape(-1, 7)


def _split(
    data: npt.NDArray[np.float64],
    level: int,
    x: int,
    y: int,
    origin: tuple[float, float],
    edge: float,
    max_objects: int,
    leaves: dict[str, Node],
) -> Node:
    box = np.concatenate([data[:, 1:4].min(axis=0), data[:, 4:7].max(axis=0)])
    node = Node(level, x, y, edge, box)
    if len(data) <= max_objects or level >= MAX_LEVEL:
        node.members = data[:, 0].astype(np.int64)
        leaves[node.key] = node
        return node
    half = edge / 2
    cx = (data[:, 1] + data[:, 4]) / 2
    cy = (data[:, 2] + data[:, 5]) / 2
    east = cx >= origin[0] + half
    north = cy >= origin[1] + half
    for dx in (0, 1):
        for dy in (0, 1):
            part = data[(east == bool(dx)) & (north == bool(dy))]
            if len(part):
                child_origin = (origin[0] + dx * half, origin[1] + dy * half)
                node.children.append(
                    _split(
                        part,
                        level + 1,
                        2 * x + dx,
                        2 * y + dy,
                        child_origin,
                        half,
                        max_objects,
                        leaves,
                    )
                )
    return node


def build(
    conn: Connection, view: View, crs: str, max_objects: int = MAX_OBJECTS
) -> Quadtree | None:
    """The quadtree of a scenario, or None when nothing in it has geometry."""
    data = _boxes(conn, view)
    if not len(data):
        return None
    lo, hi = data[:, 1:4].min(axis=0), data[:, 4:7].max(axis=0)
    edge = float(max(hi[0] - lo[0], hi[1] - lo[1], 1.0)) * 1.000001
    frame = LocalFrame.at(crs, float((lo[0] + hi[0]) / 2), float((lo[1] + hi[1]) / 2), float(lo[2]))
    leaves: dict[str, Node] = {}
    root = _split(data, 0, 0, 0, (float(lo[0]), float(lo[1])), edge, max_objects, leaves)
    return Quadtree(crs, frame, root, leaves, len(data))


def _bounding_box(frame: LocalFrame, box: npt.NDArray[np.float64]) -> list[float]:
    """An east-north-up box around a twin-CRS box, sampled on a grid so that the Earth's
    curvature and the map projection's distortion stay inside it."""
    xs = np.linspace(box[0], box[3], 5)
    ys = np.linspace(box[1], box[4], 5)
    zs = np.array([box[2], box[5]])
    gx, gy, gz = np.meshgrid(xs, ys, zs)
    local = frame.to_local(np.column_stack([gx.ravel(), gy.ravel(), gz.ravel()]))
    lo, hi = local.min(axis=0) - 0.5, local.max(axis=0) + 0.5
    c, h = (lo + hi) / 2, (hi - lo) / 2
    return [
        float(c[0]), float(c[1]), float(c[2]),
        float(h[0]), 0.0, 0.0,
        0.0, float(h[1]), 0.0,
        0.0, 0.0, float(h[2]),
    ]  # fmt: skip


def _tile(tree: Quadtree, node: Node) -> dict[str, Any]:
    out: dict[str, Any] = {"boundingVolume": {"box": _bounding_box(tree.frame, node.box)}}
    if node.members is not None:
        out["geometricError"] = 0.0
        out["content"] = {"uri": f"tiles/{node.key}.glb"}
    else:
        out["geometricError"] = node.edge * ERROR_PER_EDGE
        out["children"] = [_tile(tree, child) for child in node.children]
    return out


def tileset(tree: Quadtree, *, twin: str, scenario: str) -> dict[str, Any]:
    """The tileset JSON; content URIs are relative (``tiles/{level}/{x}/{y}.glb``)."""
    root = _tile(tree, tree.root)
    root["transform"] = tree.frame.tile_transform()
    root["refine"] = "ADD"
    return {
        "asset": {
            "version": "1.1",
            "generator": f"Tweeling {__version__}",
            "extras": {
                "twin": twin,
                "scenario": scenario,
                "crs": tree.crs,
                "objects": tree.object_count,
                "tiles": len(tree.leaves),
                "heights": tree.frame.method,
            },
        },
        "geometricError": tree.root.edge * ERROR_PER_EDGE * 2,
        "root": root,
    }
