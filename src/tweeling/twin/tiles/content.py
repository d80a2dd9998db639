"""One leaf tile's content: its objects triangulated, placed in the tileset's frame, as GLB."""

from __future__ import annotations

from sqlalchemy import Connection

from tweeling.twin.model import GeometryTemplate
from tweeling.twin.tiles import glb
from tweeling.twin.tiles.mesh import merge, object_triangles
from tweeling.twin.tiles.tiling import Node, Quadtree
from tweeling.twin.views import by_keys


def leaf_content(
    conn: Connection, tree: Quadtree, node: Node, templates: dict[str, GeometryTemplate]
) -> bytes:
    """The GLB of a leaf: one feature per object, in primary-key order."""
    assert node.members is not None
    objects = [stored.to_city_object() for stored in by_keys(conn, node.members.tolist())]
    features = [
        glb.Feature(o.id, o.type, o.parents[0] if o.parents else None, o.attributes)
        for o in objects
    ]
    corners, colours, feature = merge(
        [object_triangles(o.type, o.geometry, o.vertices, templates) for o in objects]
    )
    local = tree.frame.to_local(corners.reshape(-1, 3)).reshape(-1, 3, 3)
    return glb.encode(local, colours, feature, features)
