"""Preparing a run's inputs: the declared layers of a scenario, written as open-format files.

Only what the manifest declares leaves the database — the layers it names, of the object
types it names, with the attributes it names (data minimisation) — as a GeoParquet table per
layer and, where the app reads geometry, triangle arrays (``.npz``) and CityJSON features.
Every file is hashed; the hashes and the datasets the objects came from go into the run's
provenance, and a replay rebuilds the same files from the scenario as it was (``as_of``).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from pyproj import CRS
from sqlalchemy import Connection, select, text

from tweeling.apps.manifest import LayerInput, Manifest
from tweeling.sdk import INPUTS_INDEX
from tweeling.storage.schema import Json, datasets, organisations
from tweeling.twin.ingest import load_templates
from tweeling.twin.model import GeometryTemplate
from tweeling.twin.tiles.mesh import object_triangles
from tweeling.twin.twins import Twin
from tweeling.twin.views import View

_COLUMNS = (
    "o.object_id, o.object_type, o.parents, o.attributes, o.geometry, o.footprint, o.dataset_id"
)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class PreparedInputs:
    """What was written, with hashes: files by name, objects per layer, source datasets."""

    folder: Path
    files: dict[str, str] = field(default_factory=dict)  # relative path -> sha256
    objects: dict[str, int] = field(default_factory=dict)
    ids: dict[str, list[str]] = field(default_factory=dict)
    datasets: list[dict[str, Any]] = field(default_factory=list)
    edited_objects: int = 0
    completeness: dict[str, float] = field(default_factory=dict)  # share with every attribute

    @property
    def content_hash(self) -> str:
        """One hash over every input file (names and contents)."""
        return hashlib.sha256(orjson.dumps(sorted(self.files.items()))).hexdigest()

    def as_json(self) -> dict[str, Any]:
        return {
            "content_hash": self.content_hash,
            "files": self.files,
            "objects": self.objects,
            "datasets": self.datasets,
            "edited_objects": self.edited_objects,
            "completeness": self.completeness,
        }


def _column(values: list[Any]) -> pa.Array:
    """A typed column; values that mix kinds (text and numbers) are kept as JSON text."""
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else json.dumps(v) for v in values], pa.string())


def _geo_metadata(crs: str) -> bytes:
    return orjson.dumps(
        {
            "version": "1.1.0",
            "primary_column": "footprint",
            "columns": {
                "footprint": {
                    "encoding": "WKB",
                    "geometry_types": ["Polygon", "MultiPolygon"],
                    "crs": CRS.from_user_input(crs).to_json_dict(),
                }
            },
        }
    )


def _rows(conn: Connection, view: View, spec: LayerInput) -> Any:
    condition, params = view.visible("o")
    sql = f"SELECT {_COLUMNS} FROM city_objects o WHERE {condition} AND NOT o.deleted"
    sql += " AND o.layer = :layer"
    params["layer"] = spec.layer
    if spec.object_types:
        names = {f"t{i}": t for i, t in enumerate(spec.object_types)}
        sql += f" AND o.object_type IN ({', '.join(':' + n for n in names)})"
        params.update(names)
    sql += " ORDER BY o.object_id"  # a stable order, whatever the storage's keys
    return conn.execute(
        text(sql).columns(parents=Json, attributes=Json),
        params,
        execution_options={"stream_results": True, "yield_per": 2000},
    )


def _write_layer(
    conn: Connection,
    view: View,
    spec: LayerInput,
    folder: Path,
    crs: str,
    templates: dict[str, GeometryTemplate],
    sources: Counter[int | None],
) -> dict[str, Any]:
    ids: list[str] = []
    types: list[str] = []
    parents: list[str | None] = []
    footprints: list[bytes | None] = []
    values: dict[str, list[Any]] = {name: [] for name in spec.attributes}
    corners: list[np.ndarray[Any, Any]] = []
    objects: list[np.ndarray[Any, Any]] = []
    surfaces: list[np.ndarray[Any, Any]] = []
    features = None
    if spec.geometry:
        features = open(folder / f"{spec.layer}.city.jsonl", "wb")  # noqa: SIM115
    try:
        for oid, otype, parent_ids, attrs, blob, footprint, dataset_id in _rows(conn, view, spec):
            attributes = attrs or {}
            parent_list = parent_ids or []
            index = len(ids)
            ids.append(oid)
            types.append(otype)
            parents.append(parent_list[0] if parent_list else None)
            footprints.append(bytes(footprint) if footprint is not None else None)
            for name in spec.attributes:
                values[name].append(attributes.get(name))
            sources[dataset_id] += 1
            if features is None:
                continue
            doc = orjson.loads(bytes(blob)) if blob else {}
            geometry, vertices = doc.get("geometry", []), doc.get("vertices", [])
            tri = object_triangles(otype, geometry, vertices, templates)
            if tri.count:
                corners.append(tri.corners)
                objects.append(np.full(tri.count, index, dtype=np.int64))
                surfaces.append(tri.surfaces)
            kept = {k: attributes[k] for k in spec.attributes if k in attributes}
            city_object: dict[str, Any] = {"type": otype, "geometry": geometry}
            if kept:
                city_object["attributes"] = kept
            if parent_list:
                city_object["parents"] = parent_list
            features.write(
                orjson.dumps(
                    {
                        "type": "CityJSONFeature",
                        "id": oid,
                        "CityObjects": {oid: city_object},
                        "vertices": vertices,
                    }
                )
                + b"\n"
            )
    finally:
        if features is not None:
            features.close()
    table = pa.table(
        {
            "id": pa.array(ids, pa.string()),
            "type": pa.array(types, pa.string()),
            "parent": pa.array(parents, pa.string()),
            **{name: _column(column) for name, column in values.items()},
            "footprint": pa.array(footprints, pa.binary()),
        }
    )
    table = table.replace_schema_metadata({b"geo": _geo_metadata(crs)})
    info: dict[str, Any] = {"table": f"{spec.layer}.parquet", "objects": len(ids)}
    # Fixed writer settings and no timestamps, so the same data gives the same bytes.
    pq.write_table(table, folder / info["table"], compression="zstd", write_statistics=False)
    if features is not None:
        info["cityjson"] = f"{spec.layer}.city.jsonl"
        # Plain .npy files: an .npz archive stamps the time into its bytes.
        empty = np.zeros(0)
        arrays = {
            "corners": np.concatenate(corners) if corners else np.zeros((0, 3, 3)),
            "objects": np.concatenate(objects) if objects else empty.astype(np.int64),
            "surfaces": np.concatenate(surfaces) if surfaces else empty.astype("<U1"),
        }
        info["mesh"] = {}
        for key, array in arrays.items():
            name = f"{spec.layer}.mesh-{key}.npy"
            np.save(folder / name, array, allow_pickle=False)
            info["mesh"][key] = name
    info["ids"] = ids
    complete = sum(
        all(values[name][i] is not None for name in spec.attributes) for i in range(len(ids))
    )
    info["completeness"] = round(complete / len(ids), 4) if ids else 0.0
    return info


def _dataset_records(conn: Connection, counts: Counter[int | None]) -> list[dict[str, Any]]:
    wanted = sorted(k for k in counts if k is not None)
    if not wanted:
        return []
    rows = conn.execute(
        select(
            datasets.c.id,
            datasets.c.name,
            datasets.c.content_hash,
            datasets.c.owner,
            datasets.c.licence,
            datasets.c.source,
        ).where(datasets.c.id.in_(wanted))
    ).mappings()
    return [{**dict(r), "objects": counts[r["id"]]} for r in rows]


def owner_name(conn: Connection, twin: Twin) -> str | None:
    return conn.execute(
        select(organisations.c.name).where(organisations.c.id == twin.owner_org_id)
    ).scalar()


def prepare_inputs(
    conn: Connection, twin: Twin, view: View, manifest: Manifest, folder: Path
) -> PreparedInputs:
    """Write the manifest's declared inputs from ``view`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    templates = load_templates(conn, twin)
    prepared = PreparedInputs(folder)
    sources: Counter[int | None] = Counter()
    index: dict[str, Any] = {
        "twin": twin.name,
        "scenario": view.scenario.name,
        "crs": twin.crs,
        "layers": {},
    }
    for spec in manifest.inputs.layers:
        info = _write_layer(conn, view, spec, folder, twin.crs, templates, sources)
        prepared.ids[spec.layer] = info.pop("ids")
        prepared.completeness[spec.layer] = info["completeness"]
        prepared.objects[spec.layer] = info["objects"]
        index["layers"][spec.layer] = info
    (folder / INPUTS_INDEX).write_bytes(orjson.dumps(index, option=orjson.OPT_SORT_KEYS))
    for path in sorted(folder.iterdir()):
        prepared.files[path.name] = sha256_file(path)
    prepared.datasets = _dataset_records(conn, sources)
    prepared.edited_objects = sources[None]
    return prepared
