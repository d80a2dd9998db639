"""Run parameters: the manifest's defaults, the installation's calibration, the run's overrides.

Each layer overrides the one before; the result is checked against the manifest's JSON
Schema, and every problem is named with the parameter it concerns.
"""

from __future__ import annotations

import json
from typing import Any

from tweeling.apps.manifest import Manifest, parameter_validator
from tweeling.errors import InvalidInput


def parse_assignments(items: list[str]) -> dict[str, Any]:
    """``k=v`` pairs from a command line; a value is read as JSON where it parses (numbers,
    true/false, lists), else kept as text."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"--param {item!r}: give name=value")
        try:
            out[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            out[key.strip()] = raw
    return out


def resolve(manifest: Manifest, *layers: dict[str, Any] | None) -> dict[str, Any]:
    """Defaults overlaid with each given layer in turn, validated against the schema."""
    schema = manifest.parameters.schema_
    known = set((schema.get("properties") or {}).keys())
    merged = manifest.parameters.defaults()
    for layer in layers:
        for name, value in (layer or {}).items():
            if name not in known:
                raise InvalidInput(
                    f"app {manifest.id} has no parameter {name!r} "
                    f"(it has: {', '.join(sorted(known)) or 'none'})"
                )
            merged[name] = value
    try:  # a manifest read before schemas were checked on publishing may still hold a bad one
        validator = parameter_validator(schema)
    except ValueError as exc:
        raise InvalidInput(f"app {manifest.id}: parameters.schema: {exc}") from None
    problems = [
        f"parameter {'.'.join(str(p) for p in err.instance_path) or '(all)'}: {err.message}"
        for err in validator.iter_errors(merged)
    ]
    if problems:
        raise InvalidInput("; ".join(problems))
    return merged
