"""The official CityJSON 2.0.2 JSON Schemas, applied at the cost of the parts of a file.

Run whole, the schema checks each city object through a ``oneOf`` over its 34 types, every
branch repeating the geometry definitions: about 80 µs an object, and a failure reads "not
valid under any of the schemas listed in the 'oneOf' keyword". So the schema is taken apart
once per process: each type's branch is compiled on its own and an object is validated
against the branch its ``"type"`` names (a few µs, and the error names the field); the
document around the objects is validated against the schema with ``"CityObjects"`` and
``"vertices"`` reduced to their JSON types (the vertices are checked with numpy). Nothing is
rewritten: the branches are the official text, so a document passes here exactly when it
passes the whole schema.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

import jsonschema_rs
import orjson

from tweeling import samples

EXTENSION_TYPE = "+"  # key of the branch for extension city object types ("+Name")
_CHOICE_KINDS = (
    jsonschema_rs.ValidationErrorKind.OneOfNotValid,
    jsonschema_rs.ValidationErrorKind.AnyOf,
)
_MAX_MESSAGE = 160


class CityJSONSchemas:
    """Validators cut from the official schemas, each compiled when first needed."""

    def __init__(self) -> None:
        document = _load("cityjson.min.schema.json")
        self._document = _without_objects(document)
        self._feature = _without_objects(_load("cityjsonfeature.min.schema.json"))
        self._branches: dict[str, dict[str, Any]] = {}
        pattern = r"^\+"
        for branch in document["properties"]["CityObjects"]["additionalProperties"]["oneOf"]:
            name, branch_pattern = _branch_type(branch)
            if branch_pattern:
                pattern = branch_pattern
            self._branches[name] = branch
        self.extension_pattern = re.compile(pattern)
        self._compiled: dict[str, jsonschema_rs.Validator] = {}

    @functools.cached_property
    def document(self) -> jsonschema_rs.Validator:
        """A CityJSON document, its objects and vertices aside."""
        return _compile(self._document)

    @functools.cached_property
    def feature(self) -> jsonschema_rs.Validator:
        """A CityJSONFeature, its objects and vertices aside."""
        return _compile(self._feature)

    def city_object(self, object_type: str) -> jsonschema_rs.Validator | None:
        """The validator for one type of city object (``EXTENSION_TYPE`` for "+Name")."""
        validator = self._compiled.get(object_type)
        if validator is None:
            branch = self._branches.get(object_type)
            if branch is None:
                return None
            validator = self._compiled[object_type] = _compile(branch)
        return validator


def _compile(schema: dict[str, Any]) -> jsonschema_rs.Validator:
    return jsonschema_rs.Draft7Validator(schema, validate_formats=True)


def _load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = orjson.loads((samples.SCHEMAS / name).read_bytes())
    return loaded


def _without_objects(schema: dict[str, Any]) -> dict[str, Any]:
    shallow = dict(schema)
    shallow["properties"] = {
        **schema["properties"],
        "CityObjects": {"type": "object"},
        "vertices": {"type": "array"},
    }
    return shallow


def _branch_type(branch: dict[str, Any]) -> tuple[str, str | None]:
    """The city object type a branch of the objects' ``oneOf`` is for (and its pattern)."""
    pending = [branch]
    while pending:
        part = pending.pop()
        kind = part.get("properties", {}).get("type", {})
        if "const" in kind:
            return str(kind["const"]), None
        if "pattern" in kind:
            return EXTENSION_TYPE, str(kind["pattern"])
        pending.extend(part.get("allOf", []))
    raise ValueError("a CityObjects branch of the CityJSON schema names no type")


@functools.cache
def cityjson_schemas() -> CityJSONSchemas:
    """Read once per process (and in each import worker process)."""
    return CityJSONSchemas()


def schema_problem(validator: jsonschema_rs.Validator, instance: Any) -> str | None:
    """The first way ``instance`` breaks the schema, as "place: what", or None when valid."""
    if validator.is_valid(instance):
        return None
    error = next(iter(validator.iter_errors(instance)))
    error = _most_specific(error)
    return f"{format_place(error.instance_path)}: {_short(error.message)}"


def _most_specific(error: jsonschema_rs.ValidationError) -> jsonschema_rs.ValidationError:
    """Follow a failed ``oneOf``/``anyOf`` into the branch that was meant.

    The meant branch is the one whose ``"type"`` matched (no complaint about the ``type``
    member right at this place) with the fewest complaints; its first complaint is a
    precise one ("lod: '1.5' is not one of …") where the choice itself says nothing.
    """
    while isinstance(error.kind, _CHOICE_KINDS):
        branches: list[list[jsonschema_rs.ValidationError]] = list(error.kind.context)
        here = list(error.instance_path)

        def mismatched_type(
            branch: list[jsonschema_rs.ValidationError], here: list[Any] = here
        ) -> bool:
            return any(list(e.instance_path) == [*here, "type"] for e in branch)

        candidates = [b for b in branches if b] or [[error]]
        best = min(candidates, key=lambda b: (mismatched_type(b), len(b)))
        deeper = max(best, key=lambda e: len(e.instance_path))
        if deeper is error:
            break
        error = deeper
    return error


def format_place(path: Iterable[Any]) -> str:
    """``["geometry", 0, "lod"]`` → ``geometry[0].lod``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(the document)"


def _short(message: str) -> str:
    message = " ".join(message.split())
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 1] + "…"
