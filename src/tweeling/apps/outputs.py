"""Checking what an app returned against what its manifest promised, and hashing it.

An app's outputs are only stored when every declared output is there, nothing undeclared is,
each value has the declared type and lies in the declared range, and every per-object value
belongs to an object the run was given. The hash is over a canonical form (sorted keys and
ids), so two runs with the same results hash the same whatever order the app wrote them in.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from tweeling.apps.manifest import Manifest, Output
from tweeling.errors import InvalidInput


def _type_ok(output: Output, value: Any) -> bool:
    if value is None:
        return True
    if output.type == "boolean":
        return isinstance(value, bool)
    if output.type == "string":
        return isinstance(value, str)
    if isinstance(value, bool):
        return False
    if output.type == "integer":
        return isinstance(value, int)
    return isinstance(value, (int, float))


def _check_value(output: Output, where: str, value: Any) -> None:
    if not _type_ok(output, value):
        raise InvalidInput(
            f"output {output.name!r}{where}: {value!r} is not of the declared type {output.type}"
        )
    if output.range is not None and value is not None and not isinstance(value, (str, bool)):
        low, high = output.range
        if not low <= value <= high:
            raise InvalidInput(
                f"output {output.name!r}{where}: {value!r} lies outside the declared range "
                f"[{low:g}, {high:g}]"
            )


def check_outputs(manifest: Manifest, outputs: dict[str, Any], ids: dict[str, list[str]]) -> None:
    """Raise InvalidInput naming the first output that breaks the manifest's promise."""
    declared = {o.name: o for o in manifest.outputs}
    given = {
        "attribute": outputs.get("attributes") or {},
        "indicator": outputs.get("indicators") or {},
        "layer": outputs.get("layers") or {},
    }
    for kind, values in given.items():
        for name in values:
            if name not in declared or declared[name].kind != kind:
                raise InvalidInput(
                    f"the app returned {kind} {name!r}, which its manifest does not declare"
                )
    for output in manifest.outputs:
        if output.name not in given[output.kind]:
            raise InvalidInput(f"the app did not return its declared {output.kind} {output.name!r}")
        value = given[output.kind][output.name]
        if output.kind == "indicator":
            _check_value(output, "", value)
        elif output.kind == "attribute":
            known = set(ids.get(output.layer or "", []))
            for oid, item in value.items():
                if oid not in known:
                    raise InvalidInput(
                        f"output {output.name!r}: object {oid!r} is not among the run's "
                        f"{output.layer} inputs"
                    )
                _check_value(output, f" of object {oid!r}", item)
        elif not isinstance(value, dict) or value.get("type") != "FeatureCollection":
            raise InvalidInput(f"output layer {output.name!r} is not a GeoJSON FeatureCollection")


def output_hash(outputs: dict[str, Any]) -> str:
    canonical = orjson.dumps(outputs, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def attribute_name(app_id: str, output: str) -> str:
    """Where a per-object output is stored: ``<app-id>.<output>``."""
    return f"{app_id}.{output}"
