"""CQL2 LIKE, CASEI(), TIMESTAMP() and S_INTERSECTS as SQLite and PostgreSQL run them, against
oracles written here (Python's re and datetime, shapely).

The filter is parsed and translated by ``storage.filters`` and run by each database over one
JSON row; the oracle is Python's ``re`` over the pattern read by the standard's rules (``%``
any run of characters, ``_`` one character, ``\\`` makes the next character literal, every
other character — ``.``, ``*``, ``?``, ``[`` included — itself; case-sensitive unless both
sides are under CASEI()).
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime

import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from tweeling.storage import filters
from tweeling.storage.db import Database

# Characters that are special somewhere: in CQL2, SQL LIKE, GLOB or regular expressions.
_TRICKY = "aAbB.%_\\*?[]^$-ßİΣσςéÉ "
_PATTERN = st.text(alphabet=_TRICKY, max_size=8)
_TEXT = st.text(alphabet=_TRICKY, max_size=8)
_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _oracle(pattern: str, value: str, casei: bool) -> bool:
    if casei:  # CASEI() folds each whole string (Σ at a word's end folds to ς)
        pattern, value = pattern.lower(), value.lower()
    parts, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            parts.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        parts.append(".*" if c == "%" else "." if c == "_" else re.escape(c))
        i += 1
    return re.fullmatch("".join(parts), value, re.DOTALL) is not None


def _matches(db: Database, cql: str, value: str) -> bool:
    """Whether the database finds the filter true for an object with attribute s = value."""
    dialect = db.backend.name
    condition, params = filters.to_sql(filters.parse(cql), dialect)
    row = "CAST(:doc AS jsonb)" if dialect == "postgresql" else "json(:doc)"
    sql = f"SELECT COUNT(*) FROM (SELECT {row} AS attributes) o WHERE {condition}"
    with db.engine.connect() as conn:
        if dialect == "sqlite":
            filters.prepare_sqlite(conn.connection.driver_connection)
        found = conn.execute(text(sql), {**params, "doc": json.dumps({"s": value})}).scalar()
    return bool(found)


def _quoted(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


@_SETTINGS
@given(pattern=_PATTERN, value=_TEXT)
def test_like_is_case_sensitive_with_only_percent_and_underscore_as_wildcards(
    module_db: Database, pattern: str, value: str
) -> None:
    cql = f"s LIKE {_quoted(pattern)}"
    assert _matches(module_db, cql, value) == _oracle(pattern, value, casei=False), cql


@_SETTINGS
@given(pattern=_PATTERN, value=_TEXT)
def test_casei_like_folds_case_beyond_ascii(module_db: Database, pattern: str, value: str) -> None:
    cql = f"CASEI(s) LIKE casei({_quoted(pattern)})"
    assert _matches(module_db, cql, value) == _oracle(pattern, value, casei=True), cql


@_SETTINGS
@given(a=_TEXT, b=_TEXT)
def test_casei_equality_is_equality_of_lower_case(module_db: Database, a: str, b: str) -> None:
    cql = f"CASEI(s) = casei({_quoted(b)})"
    assert _matches(module_db, cql, a) == (a.lower() == b.lower()), cql


_OFFSETS = st.sampled_from(["Z", "z", "+00:00", "+02:00", "-05:30", "+14:00", "-12:00"])
_INSTANTS = st.builds(
    lambda moment, micro, zone: moment.isoformat() + micro + zone,
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 12, 31)).map(
        lambda d: d.replace(microsecond=0)
    ),
    st.sampled_from(["", ".5", ".123456", ".000001"]),
    _OFFSETS,
)
_NOT_INSTANTS = st.sampled_from(
    [
        "2021-02-29T10:00:00Z",
        "2020-04-31T00:00:00Z",
        "1900-02-29T00:00:00Z",
        "2020-01-01",
        "2020-01-01T10:00:00",
        "2020-01-01T24:00:00Z",
        "noon",
        "0000-01-01T00:00:00Z",
    ]
)


def _instant(text: str) -> datetime | None:
    """The oracle: Python's reading of an RFC 3339 date-time with a zone."""
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?([Zz]|[+-]\d\d:\d\d)", text):
        return None
    try:
        return datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:
        return None


@_SETTINGS
@given(value=st.one_of(_INSTANTS, _NOT_INSTANTS), literal=_INSTANTS)
def test_timestamps_compare_as_instants(module_db: Database, value: str, literal: str) -> None:
    """A stored date-time compares with TIMESTAMP() by the instant it names (offsets applied);
    a text that names no instant (an impossible day, no zone) compares as unknown."""
    mine, theirs = _instant(value), _instant(literal)
    assert theirs is not None
    for op, holds in (("<", mine is not None and mine < theirs), ("=", mine == theirs)):
        cql = f"s {op} TIMESTAMP('{literal}')"
        assert _matches(module_db, cql, value) == holds, (cql, value)


def _row_sql(db: Database) -> str:
    if db.backend.name == "postgresql":
        return "SELECT ST_GeomFromText(:fp, 4326) AS footprint_crs84, NULL AS attributes"
    return (
        "SELECT :wkb AS footprint_crs84, :x1 AS lon_min, :y1 AS lat_min, :x2 AS lon_max, "
        ":y2 AS lat_max, NULL AS attributes"
    )


@st.composite
def _triangles(draw: st.DrawFn) -> shapely.Polygon:
    """A triangle around a centre near Delft: corners at 0, 120 and 240 degrees (turned a
    little), each at its own distance, so it is never degenerate."""
    cx, cy = 4.35 + draw(st.integers(0, 20)) / 2000, 52.0 + draw(st.integers(0, 20)) / 2000
    turn = draw(st.integers(0, 119))
    corners = []
    for k in range(3):
        r = draw(st.integers(1, 10)) / 2000
        angle = math.radians(turn + 120 * k)
        corners.append((cx + r * math.cos(angle), cy + r * math.sin(angle)))
    return shapely.Polygon(corners)


@_SETTINGS
@given(footprint=_triangles(), other=_triangles())
def test_s_intersects_is_exact_on_both_backends(
    module_db: Database, footprint: shapely.Polygon, other: shapely.Polygon
) -> None:
    """S_INTERSECTS agrees with shapely's intersects, not with a bounding-box test."""
    dialect = module_db.backend.name
    condition, params = filters.to_sql(
        filters.parse(f"S_INTERSECTS(geometry, {other.wkt})"), dialect
    )
    x1, y1, x2, y2 = footprint.bounds
    row = {"fp": footprint.wkt, "wkb": shapely.to_wkb(footprint), "x1": x1, "y1": y1}
    row |= {"x2": x2, "y2": y2}
    sql = f"SELECT COUNT(*) FROM ({_row_sql(module_db)}) o WHERE {condition}"
    with module_db.engine.connect() as conn:
        if dialect == "sqlite":
            filters.prepare_sqlite(conn.connection.driver_connection)
        used = {k: v for k, v in row.items() if f":{k}" in sql}
        found = bool(conn.execute(text(sql), {**params, **used}).scalar())
    assert found == footprint.intersects(other)
