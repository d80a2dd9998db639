"""An independent reading of CityJSON for the tests: no Tweeling code, plain dicts.

Each object becomes a comparable form with vertices dereferenced to real coordinates, so
two files are equal in content whatever their vertex order, transform or version.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def load(path: Path) -> dict[str, Any]:
    text = path.read_text()
    if path.name.endswith(".jsonl"):
        lines = [json.loads(line) for line in text.splitlines() if line.strip()]
        header, features = lines[0], lines[1:]
        objects: dict[str, Any] = {}
        for feature in features:
            for oid, obj in feature["CityObjects"].items():
                objects[oid] = _comparable(
                    obj, feature["vertices"], header.get("transform"), header
                )
        return objects
    doc = json.loads(text)
    return {
        oid: _comparable(obj, doc["vertices"], doc.get("transform"), doc)
        for oid, obj in doc["CityObjects"].items()
    }


def _real(v: list[float], transform: dict[str, Any] | None) -> tuple[float, float, float]:
    if transform is None:
        return (round(v[0], 3), round(v[1], 3), round(v[2], 3))
    s, t = transform["scale"], transform["translate"]
    return tuple(round(v[i] * s[i] + t[i], 3) for i in range(3))  # type: ignore[return-value]


def _deref(b: Any, vertices: list[list[float]], transform: dict[str, Any] | None) -> Any:
    if isinstance(b, int):
        return _real(vertices[b], transform)
    return [_deref(x, vertices, transform) for x in b]


def _comparable(
    obj: dict[str, Any],
    vertices: list[list[float]],
    transform: dict[str, Any] | None,
    doc: dict[str, Any],
) -> dict[str, Any]:
    geoms = []
    for g in obj.get("geometry", []):
        entry: dict[str, Any] = {"type": g["type"], "lod": str(g.get("lod"))}
        if g["type"] == "GeometryInstance":
            tpl = doc["geometry-templates"]["templates"][g["template"]]
            tverts = doc["geometry-templates"]["vertices-templates"]
            entry["template"] = _deref(tpl["boundaries"], tverts, None)
            entry["matrix"] = g.get("transformationMatrix")
            entry["boundaries"] = _deref(g["boundaries"], vertices, transform)
        else:
            entry["boundaries"] = _deref(g["boundaries"], vertices, transform)
        sem = g.get("semantics")
        if sem:
            entry["surfaces"] = [s["type"] for s in sem["surfaces"]]
            entry["values"] = sem["values"]
        geoms.append(entry)
    return {
        "type": obj["type"],
        "attributes": obj.get("attributes") or {},
        "parents": sorted(obj.get("parents") or []),
        "children": sorted(obj.get("children") or []),
        "geometry": geoms,
    }
