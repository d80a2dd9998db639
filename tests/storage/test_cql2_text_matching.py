"""CQL2 LIKE and CASEI() as SQLite and PostgreSQL run them, against an oracle written here.

The filter is parsed and translated by ``storage.filters`` and run by each database over one
JSON row; the oracle is Python's ``re`` over the pattern read by the standard's rules (``%``
any run of characters, ``_`` one character, ``\\`` makes the next character literal, every
other character — ``.``, ``*``, ``?``, ``[`` included — itself; case-sensitive unless both
sides are under CASEI()).
"""

from __future__ import annotations

import json
import re

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
