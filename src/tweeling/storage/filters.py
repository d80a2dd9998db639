"""CQL2 filters (parsed by pygeofilter) translated to SQL for SQLite and PostgreSQL.

Attributes live in a JSON column, so each comparison also checks the JSON type of the value
(a text attribute never matches ``> 10``). ``id`` and ``cityjson_type`` are the object's id
and type; ``geometry`` is its CRS84 footprint. Spatial predicates: S_INTERSECTS, tested
exactly on PostGIS and on the stored CRS84 bounding box on SQLite. Values and property names
travel as bound parameters, never as SQL text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
import shapely
from pygeofilter import ast, values
from pygeofilter.parsers.cql2_json import parse as parse_json
from pygeofilter.parsers.cql2_text import parse as parse_text

from tweeling.errors import InvalidInput
from tweeling.storage import attribute_index

_COMPARISON = {
    ast.Equal: "=",
    ast.NotEqual: "<>",
    ast.LessThan: "<",
    ast.LessEqual: "<=",
    ast.GreaterThan: ">",
    ast.GreaterEqual: ">=",
}
_NAME = attribute_index.NAME
_COLUMNS = {"id": "o.object_id", "cityjson_type": "o.object_type"}


def parse(text: str, lang: str = "cql2-text") -> Any:
    """A CQL2 text or JSON filter as a syntax tree; a clear 400 when it does not parse."""
    if lang not in ("cql2-text", "cql2-json"):
        raise InvalidInput(f"unknown filter-lang {lang!r}: use cql2-text or cql2-json")
    try:
        return parse_json(orjson.loads(text)) if lang == "cql2-json" else parse_text(text)
    except Exception as exc:  # lark, orjson and pygeofilter raise many kinds
        lines = str(exc).strip().splitlines()
        first = lines[0] if lines else type(exc).__name__
        raise InvalidInput(f"the filter does not parse as {lang}: {first}") from None


@dataclass
class SQLFilter:
    dialect: str
    prefix: str = "f"  # parameter names: several filters can share one statement
    params: dict[str, Any] = field(default_factory=dict)
    indexed: Mapping[str, str] = field(default_factory=dict)  # attribute -> indexed kind

    def bind(self, value: Any) -> str:
        name = f"{self.prefix}{len(self.params)}"
        self.params[name] = value
        return ":" + name

    def _property(self, node: Any) -> str:
        if not isinstance(node, ast.Attribute):
            raise InvalidInput("a filter compares a property with a value (property first)")
        name = str(node.name)
        if not _NAME.match(name):
            raise InvalidInput(f"{name!r} is not a property name")
        return name

    def _json_value(self, name: str, kind: str) -> str:
        """SQL for attribute ``name`` as ``kind`` (number, text, bool); NULL when it is not."""
        if self.indexed.get(name) == kind:
            return attribute_index.value_sql(self.dialect, name, kind)
        if self.dialect == "postgresql":
            return attribute_index.typed_value(self.dialect, kind, self.bind(name), "")
        path = self.bind(attribute_index.json_path(name))
        return attribute_index.typed_value(self.dialect, kind, "", path)

    def _operand(self, prop: Any, value: Any) -> tuple[str, Any]:
        name = self._property(prop)
        if name in _COLUMNS:
            return _COLUMNS[name], value if isinstance(value, str) else str(value)
        if isinstance(value, bool):
            return self._json_value(name, "bool"), value
        if isinstance(value, (int, float)):
            return self._json_value(name, "number"), value
        if isinstance(value, str):
            return self._json_value(name, "text"), value
        raise InvalidInput(f"cannot compare {name!r} with {value!r}")

    @staticmethod
    def _negated(sql: str, negate: bool) -> str:
        return f"(NOT COALESCE({sql}, FALSE))" if negate else sql

    def sql(self, node: Any) -> str:
        if isinstance(node, ast.And):
            return f"({self.sql(node.lhs)} AND {self.sql(node.rhs)})"
        if isinstance(node, ast.Or):
            return f"({self.sql(node.lhs)} OR {self.sql(node.rhs)})"
        if isinstance(node, ast.Not):
            return self._negated(self.sql(node.sub_node), True)
        if isinstance(node, ast.Include):  # INCLUDE, or EXCLUDE as a negated INCLUDE
            return "(1 = 0)" if getattr(node, "not_", False) else "(1 = 1)"
        op = _COMPARISON.get(type(node))
        if op is not None:
            column, value = self._operand(node.lhs, node.rhs)
            return f"({column} {op} {self.bind(value)})"
        if isinstance(node, ast.Like):
            column, _ = self._operand(node.lhs, node.pattern)
            pattern = str(node.pattern)
            if node.singlechar != "_":
                pattern = pattern.replace(node.singlechar, "_")
            like = "ILIKE" if node.nocase and self.dialect == "postgresql" else "LIKE"
            return self._negated(f"({column} {like} {self.bind(pattern)})", node.not_)
        if isinstance(node, ast.Between):
            column, _ = self._operand(node.lhs, node.low)
            low, high = self.bind(node.low), self.bind(node.high)
            return self._negated(f"({column} BETWEEN {low} AND {high})", node.not_)
        if isinstance(node, ast.In):
            if not node.sub_nodes:
                return "(1 = 0)"
            column, _ = self._operand(node.lhs, node.sub_nodes[0])
            items = ", ".join(self.bind(v) for v in node.sub_nodes)
            return self._negated(f"({column} IN ({items}))", node.not_)
        if isinstance(node, ast.IsNull):
            return self._is_null(node)
        if isinstance(node, ast.GeometryIntersects):
            return self._intersects(node)
        raise InvalidInput(
            f"the filter uses {type(node).__name__}, which Tweeling does not support yet"
        )

    def _is_null(self, node: Any) -> str:
        name = self._property(node.lhs)
        if self.dialect == "postgresql":
            p = self.bind(name)
            sql = f"(COALESCE(jsonb_typeof(o.attributes -> {p}), 'null') = 'null')"
        else:
            path = self.bind(attribute_index.json_path(name))
            sql = f"(json_extract(o.attributes, {path}) IS NULL)"
        return f"(NOT {sql})" if node.not_ else sql

    def _intersects(self, node: Any) -> str:
        if not (isinstance(node.lhs, ast.Attribute) and node.lhs.name == "geometry"):
            raise InvalidInput("S_INTERSECTS takes the property 'geometry' first")
        other = node.rhs
        if isinstance(other, values.Envelope):
            geom = shapely.box(other.x1, other.y1, other.x2, other.y2)
        elif isinstance(other, values.Geometry):
            geom = shapely.geometry.shape(other.geometry)
        elif isinstance(other, ast.Function) and other.name.lower() == "bbox":
            geom = shapely.box(*[float(a) for a in other.arguments[:4]])
        else:
            raise InvalidInput("S_INTERSECTS needs a geometry or BBOX(…) in CRS84")
        if self.dialect == "postgresql":
            wkt = self.bind(geom.wkt)
            return f"ST_Intersects(o.footprint_crs84, ST_GeomFromText({wkt}, 4326))"
        x1, y1, x2, y2 = geom.bounds
        return (
            f"(o.lon_min <= {self.bind(x2)} AND o.lon_max >= {self.bind(x1)} "
            f"AND o.lat_min <= {self.bind(y2)} AND o.lat_max >= {self.bind(y1)})"
        )


def to_sql(
    node: Any, dialect: str, indexed: Mapping[str, str] | None = None
) -> tuple[str, dict[str, Any]]:
    """SQL condition over ``city_objects o`` (and its parameters) for a parsed filter;
    ``indexed`` names the attributes with an index (``storage.attribute_index``)."""
    built = SQLFilter(dialect, indexed=indexed or {})
    return built.sql(node), built.params


_RANGE = (*_COMPARISON, ast.Between)


def index_to_follow(node: Any, indexed: Mapping[str, str]) -> tuple[str, str] | None:
    """The indexed attribute (name, kind) a page can follow in index order: one compared
    (not ``<>``) with a value of its kind in the filter's top-level AND chain."""
    if isinstance(node, ast.And):
        return index_to_follow(node.lhs, indexed) or index_to_follow(node.rhs, indexed)
    if not isinstance(node, _RANGE) or isinstance(node, ast.NotEqual):
        return None
    if isinstance(node, ast.Between) and node.not_:
        return None
    name = str(getattr(node.lhs, "name", ""))
    kind = indexed.get(name) if isinstance(node.lhs, ast.Attribute) else None
    value = node.low if isinstance(node, ast.Between) else node.rhs
    if kind == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return name, kind
    if kind == "text" and isinstance(value, str):
        return name, kind
    return None


def equals(properties: dict[str, str], dialect: str) -> tuple[str, dict[str, Any]]:
    """Simple property filters (``?name=value``): the attribute's text equals the value."""
    built = SQLFilter(dialect, prefix="p")
    clauses = []
    for name, value in properties.items():
        if not _NAME.match(name):
            raise InvalidInput(f"{name!r} is not a property name")
        if name in _COLUMNS:
            clauses.append(f"({_COLUMNS[name]} = {built.bind(value)})")
        elif dialect == "postgresql":
            clauses.append(f"(o.attributes ->> {built.bind(name)} = {built.bind(value)})")
        else:
            path = built.bind(attribute_index.json_path(name))
            as_text = f"CAST(json_extract(o.attributes, {path}) AS TEXT)"
            clauses.append(f"({as_text} = {built.bind(value)})")
    return " AND ".join(clauses) or "(1 = 1)", built.params


# Attributes that date a city object, in order of preference (CityGML, IMGeo/BGT, BAG).
TIME_ATTRIBUTES = (
    "creationDate",
    "creationdate",
    "begingeldigheid",
    "beginGeldigheid",
    "tijdstipregistratie",
    "documentdatum",
)


def parse_datetime(text: str) -> tuple[str | None, str | None]:
    """An OGC datetime (instant, or interval with '..' for open ends) as (start, end) text."""
    parts = text.split("/")
    if len(parts) > 2 or not all(parts):
        raise InvalidInput(f"datetime {text!r} is not an instant or an interval a/b")
    bounds: list[str | None] = []
    for part in parts:
        if part == "..":
            bounds.append(None)
            continue
        if not re.match(r"^\d{4}-\d{2}-\d{2}(T[0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$", part):
            raise InvalidInput(f"datetime {part!r} is not an RFC 3339 date or date-time")
        bounds.append(part)
    if len(bounds) == 1:
        return bounds[0], bounds[0]
    return bounds[0], bounds[1]


def within_time(
    attribute: str, start: str | None, end: str | None, dialect: str
) -> tuple[str, dict[str, Any]]:
    """Objects whose date attribute falls in [start, end]. Dates and date-times compare as
    RFC 3339 text; a date-only value matches an instant on the same day."""
    built = SQLFilter(dialect, prefix="t")
    value = built._json_value(attribute, "text")
    clauses = [f"{value} IS NOT NULL"]
    if start is not None:
        clauses.append(f"{value} >= {built.bind(start[:10] if len(start) > 10 else start)}")
    if end is not None:
        clauses.append(f"substr({value}, 1, {len(end)}) <= {built.bind(end)}")
    return "(" + " AND ".join(clauses) + ")", built.params
