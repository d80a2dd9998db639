"""Binary glTF 2.0 (GLB) tile content with per-feature metadata.

One mesh per tile, flat-shaded triangles with vertex colours. Every vertex carries its city
object's feature id (EXT_mesh_features), and a property table (EXT_structural_metadata)
holds each object's id, type, parent and attributes, so a viewer can pick a building and
show what the twin knows of it.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from tweeling import __version__

ARRAY_BUFFER = 34962
FLOAT = 5126
UNSIGNED_BYTE = 5121
TRIANGLES = 4
CLASS = "cityObject"
# JSON cannot carry NaN, so a missing number is marked by the most negative double.
NUMBER_NO_DATA = -1.7976931348623157e308
_PROPERTY_ID = re.compile(r"[^A-Za-z0-9_]")


@dataclass(frozen=True)
class Feature:
    object_id: str
    object_type: str
    parent: str | None
    attributes: dict[str, Any]


class _Binary:
    """The GLB binary chunk, built up view by view with the alignment glTF asks for."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.length = 0
        self.views: list[dict[str, Any]] = []

    def add(self, data: bytes, target: int | None = None) -> int:
        pad = (-self.length) % 8  # 8 bytes suits every component type, metadata included
        if pad:
            self.chunks.append(b"\0" * pad)
            self.length += pad
        view: dict[str, Any] = {"buffer": 0, "byteOffset": self.length, "byteLength": len(data)}
        if target is not None:
            view["target"] = target
        self.views.append(view)
        self.chunks.append(data)
        self.length += len(data)
        return len(self.views) - 1

    def data(self) -> bytes:
        blob = b"".join(self.chunks)
        return blob + b"\0" * ((-len(blob)) % 4)


def _property_ids(names: Sequence[str], reserved: set[str]) -> list[str]:
    """Identifiers the metadata schema accepts (letters, digits, _), unique per class."""
    taken = set(reserved)
    out = []
    for name in names:
        pid = _PROPERTY_ID.sub("_", name) or "_"
        if pid[0].isdigit():
            pid = "_" + pid
        base, n = pid, 1
        while pid in taken:
            n += 1
            pid = f"{base}_{n}"
        taken.add(pid)
        out.append(pid)
    return out


def _column_kind(values: Sequence[Any]) -> str:
    present = [v for v in values if v is not None]
    if not present:
        return "STRING"
    if all(isinstance(v, bool) for v in present) and len(present) == len(values):
        return "BOOLEAN"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return "SCALAR"
    return "STRING"


def _as_text(value: Any, missing: str = "") -> str:
    if value is None:
        return missing
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def _free_sentinel(values: Sequence[Any]) -> str:
    """A string that marks missing values without clashing with a real one ("" usually)."""
    taken = {v for v in values if isinstance(v, str)}
    candidate = ""
    while candidate in taken:
        candidate += "\u2205"  # ∅
    return candidate


def _strings(binary: _Binary, values: Sequence[Any], missing: str) -> dict[str, int]:
    encoded = [_as_text(v, missing).encode() for v in values]
    offsets = np.zeros(len(encoded) + 1, dtype="<u4")
    offsets[1:] = np.cumsum([len(e) for e in encoded])
    # A buffer view may not be empty: a column of empty strings keeps one unused byte.
    data = b"".join(encoded) or b"\0"
    return {"values": binary.add(data), "stringOffsets": binary.add(offsets.tobytes())}


def _metadata(binary: _Binary, features: Sequence[Feature]) -> dict[str, Any]:
    """The schema and the property table of a tile's features."""
    columns: dict[str, list[Any]] = {
        "id": [f.object_id for f in features],
        "type": [f.object_type for f in features],
        "parent": [f.parent for f in features],
    }
    properties: dict[str, dict[str, Any]] = {
        "id": {"name": "CityJSON object id", "type": "STRING", "required": True},
        "type": {"name": "CityJSON object type", "type": "STRING", "required": True},
        "parent": {"name": "parent object id", "type": "STRING", "noData": ""},
    }
    names = sorted({k for f in features for k in f.attributes})
    for name, pid in zip(names, _property_ids(names, set(columns)), strict=True):
        values = [f.attributes.get(name) for f in features]
        kind = _column_kind(values)
        prop: dict[str, Any] = {"name": name, "type": kind}
        if kind == "SCALAR":
            prop["componentType"] = "FLOAT64"
            if any(v is None for v in values):
                prop["noData"] = NUMBER_NO_DATA
        elif kind == "STRING" and any(v is None for v in values):
            prop["noData"] = _free_sentinel(values)
        properties[pid] = prop
        columns[pid] = values
    table: dict[str, Any] = {}
    for pid, values in columns.items():
        kind = properties[pid]["type"]
        if kind == "SCALAR":
            numbers = np.asarray(
                [NUMBER_NO_DATA if v is None else float(v) for v in values], dtype="<f8"
            )
            table[pid] = {"values": binary.add(numbers.tobytes())}
        elif kind == "BOOLEAN":
            bits = np.packbits(np.asarray(values, dtype=bool), bitorder="little")
            table[pid] = {"values": binary.add(bits.tobytes())}
        else:
            table[pid] = _strings(binary, values, properties[pid].get("noData", ""))
    return {
        "schema": {
            "id": "tweeling",
            "classes": {CLASS: {"name": "City object", "properties": properties}},
        },
        "propertyTables": [
            {"name": "city objects", "class": CLASS, "count": len(features), "properties": table}
        ],
    }


def _flat_normals(corners: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    a, b, c = corners[:, 0], corners[:, 1], corners[:, 2]
    n = np.cross(b - a, c - a).astype(np.float64)
    length = np.linalg.norm(n, axis=1, keepdims=True)
    n = np.divide(n, length, out=np.tile([0.0, 1.0, 0.0], (len(n), 1)), where=length > 0)
    return np.repeat(n, 3, axis=0).astype(np.float32)


def encode(
    corners: npt.NDArray[np.float64],
    colours: npt.NDArray[np.uint8],
    feature_of_triangle: npt.NDArray[np.int64],
    features: Sequence[Feature],
) -> bytes:
    """A GLB of triangles given in the tile's local east-north-up metres (t, 3, 3).

    glTF is y-up, so (east, north, up) is written as (east, up, −north); the node's
    translation keeps the vertex values small for float32.
    """
    binary = _Binary()
    gltf: dict[str, Any] = {
        "asset": {"version": "2.0", "generator": f"Tweeling {__version__}"},
        "scene": 0,
        "scenes": [{"nodes": []}],
    }
    if len(corners):
        yup = corners[:, :, [0, 2, 1]] * np.array([1.0, 1.0, -1.0])
        lo, hi = yup.reshape(-1, 3).min(axis=0), yup.reshape(-1, 3).max(axis=0)
        centre = (lo + hi) / 2
        local = (yup - centre).astype(np.float32)
        positions = local.reshape(-1, 3)
        vertex_count = len(positions)
        rgba = np.empty((vertex_count, 4), dtype=np.uint8)
        rgba[:, :3] = np.repeat(colours, 3, axis=0)
        rgba[:, 3] = 255
        ids = np.repeat(feature_of_triangle, 3).astype(np.float32)
        views = [
            binary.add(positions.tobytes(), ARRAY_BUFFER),
            binary.add(_flat_normals(local).tobytes(), ARRAY_BUFFER),
            binary.add(rgba.tobytes(), ARRAY_BUFFER),
            binary.add(ids.tobytes(), ARRAY_BUFFER),
        ]
        gltf["accessors"] = [
            {
                "bufferView": views[0],
                "componentType": FLOAT,
                "count": vertex_count,
                "type": "VEC3",
                "min": [float(v) for v in positions.min(axis=0)],
                "max": [float(v) for v in positions.max(axis=0)],
            },
            {"bufferView": views[1], "componentType": FLOAT, "count": vertex_count, "type": "VEC3"},
            {
                "bufferView": views[2],
                "componentType": UNSIGNED_BYTE,
                "normalized": True,
                "count": vertex_count,
                "type": "VEC4",
            },
            {
                "bufferView": views[3],
                "componentType": FLOAT,
                "count": vertex_count,
                "type": "SCALAR",
            },
        ]
        gltf["materials"] = [
            {
                "name": "city",
                "pbrMetallicRoughness": {"metallicFactor": 0.0, "roughnessFactor": 0.9},
                "doubleSided": True,
            }
        ]
        gltf["meshes"] = [
            {
                "primitives": [
                    {
                        "attributes": {
                            "POSITION": 0,
                            "NORMAL": 1,
                            "COLOR_0": 2,
                            "_FEATURE_ID_0": 3,
                        },
                        "material": 0,
                        "mode": TRIANGLES,
                        "extensions": {
                            "EXT_mesh_features": {
                                "featureIds": [
                                    {
                                        "featureCount": len(features),
                                        "attribute": 0,
                                        "propertyTable": 0,
                                        "label": "cityObject",
                                    }
                                ]
                            }
                        },
                    }
                ]
            }
        ]
        gltf["nodes"] = [{"mesh": 0, "translation": [float(v) for v in centre]}]
        gltf["scenes"] = [{"nodes": [0]}]
        gltf["extensionsUsed"] = ["EXT_mesh_features", "EXT_structural_metadata"]
        gltf["extensions"] = {"EXT_structural_metadata": _metadata(binary, features)}
    blob = binary.data()
    if blob:
        gltf["buffers"] = [{"byteLength": len(blob)}]
        gltf["bufferViews"] = binary.views
    return _glb(orjson.dumps(gltf), blob)


def _glb(json_chunk: bytes, bin_chunk: bytes) -> bytes:
    json_chunk += b" " * ((-len(json_chunk)) % 4)
    parts = [struct.pack("<II", len(json_chunk), 0x4E4F534A), json_chunk]
    if bin_chunk:
        parts += [struct.pack("<II", len(bin_chunk), 0x004E4942), bin_chunk]
    body = b"".join(parts)
    return struct.pack("<III", 0x46546C67, 2, 12 + len(body)) + body
