"""CQL2 filters (parsed and validated by ``cql2``) translated to SQL for SQLite and PostgreSQL.

A filter in CQL2 text or JSON is parsed by the ``cql2`` library, which checks the grammar of
OGC 21-065 and gives the filter as canonical CQL2 JSON; this module turns that JSON into a SQL
condition over ``city_objects o``. Values, patterns and property names travel as bound
parameters, never as SQL text.

Attributes live in a JSON column, so each comparison also checks the JSON type of the value
(a text attribute never matches ``> 10``); a missing or mistyped attribute makes a comparison
unknown, and unknown stays unknown under NOT (SQL's three-valued logic, as CQL2 has it).
``id`` and ``cityjson_type`` are the object's id and type; ``geometry`` is its CRS84
footprint. Both backends give the same answers: LIKE is case-sensitive with only ``%`` and
``_`` as wildcards (``\\`` escapes), CASEI() folds case, dates compare as ISO dates,
timestamps as instants in UTC, and S_INTERSECTS is exact (PostGIS on PostgreSQL; on SQLite a
bounding-box test first, then shapely — both GEOS — through functions registered on the
connection by ``prepare_sqlite``).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import cql2
import shapely

from tweeling.errors import InvalidInput
from tweeling.storage import attribute_index

_NAME = attribute_index.NAME
_COLUMNS = {"id": "o.object_id", "cityjson_type": "o.object_type"}
_COMPARISONS = ("=", "<>", "<", ">", "<=", ">=")
_MIRRORED = {"=": "=", "<>": "<>", "<": ">", ">": "<", "<=": ">=", ">=": "<="}
_DATE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")
# RFC 3339 date-time with a zone (Z or an offset), the form CQL2 timestamps take. The date
# part admits only days that exist (Gregorian leap years included), so PostgreSQL's cast
# after this test cannot fail and both backends agree on which texts are instants.
_YMD = (
    r"(?!0000)([0-9]{4}-((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])"
    r"|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))"
    r"|([0-9]{2}(0[48]|[2468][048]|[13579][26])|([02468][048]|[13579][26])00)-02-29)"
)
_TIMESTAMP = (
    rf"^{_YMD}[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{{1,6}})?"
    r"(Z|z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
_TIMESTAMP_RE = re.compile(_TIMESTAMP)
_DATE_GLOB = "[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]"
_PG_DATE = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
_PG_UTC_TEXT = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'
# ICU's root locale folds case by Unicode's rules, as Python's str.lower does on SQLite.
_PG_CASEI = 'lower(({}) COLLATE "und-x-icu")'


def parse(text: str, lang: str = "cql2-text") -> dict[str, Any] | bool:
    """A CQL2 text or JSON filter as canonical CQL2 JSON; a clear 400 when it is not CQL2."""
    if lang not in ("cql2-text", "cql2-json"):
        raise InvalidInput(f"unknown filter-lang {lang!r}: use cql2-text or cql2-json")
    try:
        expr = cql2.parse_json(text) if lang == "cql2-json" else cql2.parse_text(text)
        expr.validate()
        tree: dict[str, Any] | bool = expr.to_json()
    except Exception as exc:  # cql2 raises ParseError, ValidationError, ValueError
        raise InvalidInput(f"the filter is not valid {lang}: {_reason(str(exc))}") from None
    return tree


def _reason(message: str) -> str:
    """The parser's message in one line: where (line:column) and what was expected."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    where = next((line[4:] for line in lines if line.startswith("--> ")), None)
    expected = next((line[2:] for line in lines if line.startswith("= ")), None)
    if where and expected:
        return f"at line:column {where}, {expected}"
    return lines[0] if lines else "unreadable"


def utc_timestamp(text: str) -> str | None:
    """An RFC 3339 date-time as UTC text with microseconds (comparable as text); None if not."""
    if not _TIMESTAMP_RE.match(text):
        return None
    try:
        moment = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    except (ValueError, OverflowError):  # an offset that leaves the calendar's years
        return None


def parse_date(text: str) -> str | None:
    """An ISO date YYYY-MM-DD as itself; None if it is not one."""
    return text if _DATE.match(text) else None


def _casei(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else None


def _intersects(footprint: Any, other: Any) -> int | None:
    if footprint is None or other is None:
        return None
    return int(shapely.intersects(shapely.from_wkb(footprint), shapely.from_wkb(other)))


def prepare_sqlite(dbapi_connection: Any) -> None:
    """Register the functions SQLite filters call (PostgreSQL has them built in)."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        raise TypeError("prepare_sqlite needs a sqlite3 connection")
    dbapi_connection.create_function("tweeling_casei", 1, _casei, deterministic=True)
    dbapi_connection.create_function("tweeling_timestamp", 1, _ts_or_none, deterministic=True)
    dbapi_connection.create_function("tweeling_intersects", 2, _intersects, deterministic=True)


def _ts_or_none(value: Any) -> str | None:
    return utc_timestamp(value) if isinstance(value, str) else None


@dataclass(frozen=True)
class _Operand:
    """A property as a filter reads it, perhaps under CASEI()."""

    name: str
    casei: bool = False


@dataclass(frozen=True)
class _Literal:
    kind: str  # text, number, bool, date, timestamp
    value: Any
    casei: bool = False


def _operand(node: Any) -> _Operand | None:
    if isinstance(node, dict) and set(node) == {"property"}:
        name = str(node["property"])
        if not _NAME.match(name):
            raise InvalidInput(f"{name!r} is not a property name")
        return _Operand(name)
    if _is_op(node, "casei") and len(node["args"]) == 1:
        inner = _operand(node["args"][0])
        return _Operand(inner.name, casei=True) if inner is not None else None
    return None


def _literal(node: Any) -> _Literal | None:
    if isinstance(node, bool):
        return _Literal("bool", node)
    if isinstance(node, (int, float)):
        return _Literal("number", node)
    if isinstance(node, str):
        return _Literal("text", node)
    if isinstance(node, dict) and set(node) == {"date"}:
        if not _DATE.match(str(node["date"])):
            raise InvalidInput(f"DATE({node['date']!r}) is not a date YYYY-MM-DD")
        return _Literal("date", str(node["date"]))
    if isinstance(node, dict) and set(node) == {"timestamp"}:
        moment = utc_timestamp(str(node["timestamp"]))
        if moment is None:
            raise InvalidInput(
                f"TIMESTAMP({node['timestamp']!r}) is not an RFC 3339 date-time with a zone"
            )
        return _Literal("timestamp", moment)
    if _is_op(node, "casei") and len(node["args"]) == 1 and isinstance(node["args"][0], str):
        return _Literal("text", node["args"][0].lower(), casei=True)
    return None


def _is_op(node: Any, op: str) -> bool:
    return isinstance(node, dict) and str(node.get("op", "")).lower() == op


def _like_tokens(pattern: str) -> Iterator[tuple[str, str]]:
    """A CQL2 LIKE pattern as ("any" | "one" | "char", text): only % and _ are wildcards,
    and a backslash makes the next character literal."""
    chars = iter(pattern)
    for c in chars:
        if c == "\\":
            yield "char", next(chars, "\\")
        elif c == "%":
            yield "any", c
        elif c == "_":
            yield "one", c
        else:
            yield "char", c


def glob_pattern(pattern: str) -> str:
    """The CQL2 LIKE pattern as a SQLite GLOB pattern (GLOB is case-sensitive, like CQL2)."""
    out = []
    for kind, c in _like_tokens(pattern):
        if kind == "any":
            out.append("*")
        elif kind == "one":
            out.append("?")
        else:
            out.append(f"[{c}]" if c in "*?[" else c)
    return "".join(out)


def like_pattern(pattern: str) -> str:
    """The CQL2 LIKE pattern as a PostgreSQL LIKE pattern (backslash escapes)."""
    out = []
    for kind, c in _like_tokens(pattern):
        if kind == "char":
            out.append("\\" + c if c in "%_\\" else c)
        else:
            out.append(c)
    return "".join(out)


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

    def _json_value(self, name: str, kind: str) -> str:
        """SQL for attribute ``name`` as ``kind`` (number, text, bool); NULL when it is not."""
        if self.indexed.get(name) == kind:
            return attribute_index.value_sql(self.dialect, name, kind)
        if self.dialect == "postgresql":
            return attribute_index.typed_value(self.dialect, kind, self.bind(name), "")
        path = self.bind(attribute_index.json_path(name))
        return attribute_index.typed_value(self.dialect, kind, "", path)

    def _value(self, prop: _Operand, kind: str) -> str:
        """SQL for the property read as ``kind``, case-folded under CASEI()."""
        if prop.name in _COLUMNS:
            sql = _COLUMNS[prop.name]
        elif kind in ("date", "timestamp"):
            sql = self._dated(self._json_value(prop.name, "text"), kind)
        else:
            sql = self._json_value(prop.name, kind)
        if prop.casei:
            if kind != "text":
                raise InvalidInput(f"CASEI({prop.name}) compares text, not a {kind}")
            pg = _PG_CASEI.format(sql)
            sql = pg if self.dialect == "postgresql" else f"tweeling_casei({sql})"
        return sql

    def _dated(self, text: str, kind: str) -> str:
        if kind == "date":  # ISO dates order as text
            if self.dialect == "postgresql":
                pattern = self.bind("^[0-9]{4}-[01][0-9]-[0-3][0-9]$")
                return f"(CASE WHEN {text} ~ {pattern} THEN {text} END)"
            return f"(CASE WHEN {text} GLOB {self.bind(_DATE_GLOB)} THEN {text} END)"
        if self.dialect == "postgresql":
            pattern, form = self.bind(_TIMESTAMP), self.bind(_PG_UTC_TEXT)
            moment = f"(({text})::timestamptz AT TIME ZONE 'UTC')"
            return f"(CASE WHEN {text} ~ {pattern} THEN to_char({moment}, {form}) END)"
        return f"tweeling_timestamp({text})"

    def _bound(self, prop: _Operand, literal: _Literal) -> str:
        value = literal.value
        if prop.name in _COLUMNS and not isinstance(value, str):
            value = str(value)
        return self.bind(value)

    def sql(self, node: Any) -> str:
        if isinstance(node, bool):
            return "(1 = 1)" if node else "(1 = 0)"
        if not isinstance(node, dict) or "op" not in node:
            raise InvalidInput(f"{_shown(node)} is not a condition")
        op, args = str(node["op"]).lower(), list(node.get("args") or [])
        if op in ("and", "or"):
            return "(" + f" {op.upper()} ".join(self.sql(a) for a in args) + ")"
        if op == "not":
            return f"(NOT {self.sql(args[0])})"
        if op in _COMPARISONS:
            return self._comparison(op, args)
        if op == "like":
            return self._like(args)
        if op == "between":
            return self._between(args)
        if op == "in":
            return self._in(args)
        if op == "isnull":
            return self._is_null(args)
        if op == "s_intersects":
            return self._intersects(args)
        raise InvalidInput(f"the filter uses {node['op']!r}, which Tweeling does not support")

    def _comparison(self, op: str, args: list[Any]) -> str:
        prop, literal = _operand(args[0]), _literal(args[1])
        if prop is None or literal is None:  # literal op property: mirror it
            prop, literal, op = _operand(args[1]), _literal(args[0]), _MIRRORED[op]
        if prop is None or literal is None:
            raise InvalidInput(
                f"'{op}' compares a property with a literal value; "
                "comparing two properties or two values is not supported"
            )
        column = self._value(prop, literal.kind)
        return f"({column} {op} {self._bound(prop, literal)})"

    def _like(self, args: list[Any]) -> str:
        prop, literal = _operand(args[0]), _literal(args[1])
        if prop is None or literal is None or literal.kind != "text":
            raise InvalidInput("LIKE takes a property and a text pattern")
        column = self._value(prop, "text")
        if self.dialect == "postgresql":
            return f"({column} LIKE {self.bind(like_pattern(literal.value))})"
        return f"({column} GLOB {self.bind(glob_pattern(literal.value))})"

    def _between(self, args: list[Any]) -> str:
        prop = _operand(args[0])
        low, high = _literal(args[1]), _literal(args[2])
        if prop is None or low is None or high is None or low.kind != high.kind:
            raise InvalidInput("BETWEEN takes a property and two values of one type")
        column = self._value(prop, low.kind)
        return f"({column} BETWEEN {self._bound(prop, low)} AND {self._bound(prop, high)})"

    def _in(self, args: list[Any]) -> str:
        prop = _operand(args[0])
        items = [_literal(a) for a in args[1]] if isinstance(args[1], list) else [None]
        if prop is None or any(i is None for i in items):
            raise InvalidInput("IN takes a property and a list of values")
        kinds = {i.kind for i in items if i is not None}
        if len(kinds) > 1:
            raise InvalidInput(f"the values of IN are of several types: {sorted(kinds)}")
        if not kinds:
            return "(1 = 0)"
        column = self._value(prop, kinds.pop())
        bound = ", ".join(self._bound(prop, i) for i in items if i is not None)
        return f"({column} IN ({bound}))"

    def _is_null(self, args: list[Any]) -> str:
        prop = _operand(args[0])
        if prop is None or prop.casei:
            raise InvalidInput("IS NULL takes a property")
        if prop.name in _COLUMNS:  # an object always has an id and a type
            return "(1 = 0)"
        if self.dialect == "postgresql":
            p = self.bind(prop.name)
            return f"(COALESCE(jsonb_typeof(o.attributes -> {p}), 'null') = 'null')"
        path = self.bind(attribute_index.json_path(prop.name))
        return f"(json_extract(o.attributes, {path}) IS NULL)"

    def _intersects(self, args: list[Any]) -> str:
        if args and args[0] != {"property": "geometry"}:
            args = args[::-1]
        if len(args) != 2 or args[0] != {"property": "geometry"}:
            raise InvalidInput("S_INTERSECTS compares the property 'geometry' with a geometry")
        geom = _geometry(args[1])
        if self.dialect == "postgresql":
            wkt = self.bind(geom.wkt)
            return f"ST_Intersects(o.footprint_crs84, ST_GeomFromText({wkt}, 4326))"
        x1, y1, x2, y2 = geom.bounds
        box = (
            f"o.lon_min <= {self.bind(x2)} AND o.lon_max >= {self.bind(x1)} "
            f"AND o.lat_min <= {self.bind(y2)} AND o.lat_max >= {self.bind(y1)}"
        )
        exact = f"tweeling_intersects(o.footprint_crs84, {self.bind(shapely.to_wkb(geom))})"
        return f"({box} AND {exact} = 1)"


def _shown(node: Any) -> str:
    return repr(node)[:80]


def _geometry(node: Any) -> Any:
    """A CQL2 JSON geometry literal (GeoJSON, or {"bbox": [...]}) in CRS84 as shapely."""
    try:
        if isinstance(node, dict) and "bbox" in node:
            b = [float(v) for v in node["bbox"]]
            return shapely.box(*(b[:2] + b[2:4] if len(b) == 4 else [b[0], b[1], b[3], b[4]]))
        if isinstance(node, dict) and "type" in node:
            geom = shapely.geometry.shape(node)
            if geom.is_valid or geom.geom_type in ("Point", "MultiPoint", "LineString"):
                return geom
            raise InvalidInput(f"the {geom.geom_type} in S_INTERSECTS is not valid")
    except (TypeError, ValueError, IndexError, KeyError, shapely.errors.ShapelyError):
        pass
    raise InvalidInput("S_INTERSECTS needs a geometry or BBOX(…) in CRS84")


def to_sql(
    node: Any, dialect: str, indexed: Mapping[str, str] | None = None
) -> tuple[str, dict[str, Any]]:
    """SQL condition over ``city_objects o`` (and its parameters) for a parsed filter;
    ``indexed`` names the attributes with an index (``storage.attribute_index``)."""
    built = SQLFilter(dialect, indexed=indexed or {})
    return built.sql(node), built.params


_RANGE = ("=", "<", ">", "<=", ">=", "between")


def _conjuncts(node: Any) -> Iterator[Any]:
    if _is_op(node, "and"):
        for arg in node["args"]:
            yield from _conjuncts(arg)
    else:
        yield node


def index_to_follow(node: Any, indexed: Mapping[str, str]) -> tuple[str, str] | None:
    """The indexed attribute (name, kind) a page can follow in index order: one compared
    (not ``<>``) with a value of its kind in the filter's top-level AND chain."""
    for part in _conjuncts(node):
        if not isinstance(part, dict) or str(part.get("op", "")).lower() not in _RANGE:
            continue
        args = part.get("args") or []
        prop, literal = (_operand(args[0]), _literal(args[1])) if len(args) >= 2 else (None, None)
        if prop is None or prop.casei or literal is None:
            continue
        if indexed.get(prop.name) == literal.kind and literal.kind in attribute_index.KINDS:
            return prop.name, literal.kind
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
