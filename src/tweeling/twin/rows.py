"""Turning city objects into the rows the storage backends append."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tweeling.storage.backends import ObjectRow
from tweeling.twin.crs import transform_xy
from tweeling.twin.derive import encode, spatial
from tweeling.twin.model import CityObject, GeometryTemplate

TOMBSTONE_GEOMETRY = b"{}"


def object_rows(
    objects: Sequence[CityObject],
    *,
    scenario_id: int,
    seq: int,
    dataset_id: int | Sequence[int | None] | None,
    crs: str,
    templates: dict[str, GeometryTemplate],
) -> list[ObjectRow]:
    """Rows in ``storage.backends.INSERT_COLUMNS`` order for a batch of objects; the dataset
    is one for all, or one per object."""
    origins = list(dataset_id) if isinstance(dataset_id, Sequence) else [dataset_id] * len(objects)
    shapes = spatial(objects, crs, templates)
    rows: list[ObjectRow] = []
    for i, obj in enumerate(objects):
        enc = encode(obj)
        box = shapes.bbox[i] or (None, None, None, None, None, None)
        box84 = shapes.bbox_crs84[i] or (None, None, None, None)
        rows.append(
            (
                scenario_id,
                obj.id,
                obj.type,
                obj.layer,
                seq,
                None,
                False,
                origins[i],
                enc.parents.decode() if enc.parents else None,
                enc.children.decode() if enc.children else None,
                enc.attributes.decode(),
                enc.geometry,
                enc.content_hash,
                *box,
                *box84,
                shapes.footprint[i],
                shapes.footprint_crs84[i],
            )
        )
    return rows


def tombstone_rows(
    object_ids: Sequence[tuple[str, str, str]], *, scenario_id: int, seq: int
) -> list[ObjectRow]:
    """Rows that hide (id, type, layer) objects in a scenario from its ancestors' rows."""
    return [
        (
            scenario_id,
            oid,
            otype,
            layer,
            seq,
            None,
            True,
            None,
            None,
            None,
            "{}",
            TOMBSTONE_GEOMETRY,
            "deleted",
            *([None] * 10),
            None,
            None,
        )
        for oid, otype, layer in object_ids
    ]


def reproject(objects: Sequence[CityObject], source: str, target: str) -> None:
    """Move objects' vertices from ``source`` to ``target`` CRS in place (heights kept)."""
    if source == target or not objects:
        return
    counts = [len(o.vertices) for o in objects]
    flat = [v for o in objects for v in o.vertices]
    if not flat:
        return
    xy = np.asarray([(v[0], v[1]) for v in flat], dtype=np.float64)
    xs, ys = transform_xy(source, target, xy[:, 0], xy[:, 1])
    pos = 0
    for obj, n in zip(objects, counts, strict=True):
        obj.vertices = [
            [round(float(x), 3), round(float(y), 3), v[2]]
            for x, y, v in zip(xs[pos : pos + n], ys[pos : pos + n], obj.vertices, strict=True)
        ]
        pos += n
