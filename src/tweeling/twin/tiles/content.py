"""One leaf tile's content: its objects triangulated, placed in the tileset's frame, as GLB."""

from __future__ import annotations

import numpy as np
import orjson
from sqlalchemy import Connection, bindparam, select

from tweeling.storage.schema import city_objects
from tweeling.twin.model import GeometryTemplate
from tweeling.twin.tiles import glb
from tweeling.twin.tiles.mesh import Triangles, merge, object_triangles
from tweeling.twin.tiles.tiling import Node, Quadtree

_ROWS = (
    select(
        city_objects.c.pk,
        city_objects.c.object_id,
        city_objects.c.object_type,
        city_objects.c.parents,
        city_objects.c.attributes,
        city_objects.c.geometry,
    )
    .where(city_objects.c.pk.in_(bindparam("pks", expanding=True)))
    .order_by(city_objects.c.pk)
)


def _json(value: object) -> object:
    return orjson.loads(value) if isinstance(value, (str, bytes)) else value


def leaf_content(
    conn: Connection, tree: Quadtree, node: Node, templates: dict[str, GeometryTemplate]
) -> bytes:
    """The GLB of a leaf: one feature per object, in primary-key order."""
    assert node.members is not None
    features: list[glb.Feature] = []
    shapes: list[Triangles] = []
    pks = [int(p) for p in node.members]
    for start in range(0, len(pks), 900):  # under SQLite's default bound-parameter limit
        for _pk, oid, otype, parents, attributes, blob in conn.execute(
            _ROWS, {"pks": pks[start : start + 900]}
        ):
            doc = orjson.loads(blob) if blob else {}
            parent_ids = _json(parents) or []
            features.append(
                glb.Feature(
                    oid,
                    otype,
                    parent_ids[0] if isinstance(parent_ids, list) and parent_ids else None,
                    dict(_json(attributes) or {}),  # type: ignore[call-overload]
                )
            )
            shapes.append(
                object_triangles(otype, doc.get("geometry", []), doc.get("vertices", []), templates)
            )
    corners, colours, feature = merge(shapes)
    local = tree.frame.to_local(corners.reshape(-1, 3)).reshape(-1, 3, 3)
    return glb.encode(local, colours, feature.astype(np.int64), features)
