"""Indexed attributes: the queryables a filter can find without reading every object.

Attributes live in a JSON column, so a filter such as ``height > 35`` has to parse every
candidate row's attributes. An operator can index an attribute as a number or as text; the
index is an expression index over exactly the SQL that filters use for that attribute
(``value_sql``), so the database can match the two. A page filtered on an indexed
attribute is ordered by that attribute's value (then key), so it reads the index in order
and stops after one page; on SQLite the index is named explicitly (``ordered_source``).
"""

from __future__ import annotations

import hashlib
import re

from sqlalchemy import Connection, delete, insert, select

from tweeling.errors import Conflict, InvalidInput, NotFound
from tweeling.storage.backends import backend_for
from tweeling.storage.db import clock_of
from tweeling.storage.schema import attribute_indexes

KINDS = ("number", "text")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]*$")
_SQLITE_TYPES = {"number": "('integer', 'real')", "bool": "('true', 'false')", "text": "('text')"}
_PG_TYPES = {"number": "number", "bool": "boolean", "text": "string"}
_PG_CASTS = {"number": "::double precision", "bool": "::boolean", "text": ""}


def json_path(name: str) -> str:
    """SQLite's JSON path to a top-level attribute."""
    return '$."' + name + '"'


def typed_value(dialect: str, kind: str, key: str, path: str, alias: str = "o") -> str:
    """SQL for an attribute as ``kind`` (number, text, bool), NULL where it is missing or of
    another type. ``key`` (PostgreSQL) and ``path`` (SQLite) are SQL: a bound parameter for
    filters in general, a literal where the expression must match an index's."""
    prefix = f"{alias}." if alias else ""
    if dialect == "postgresql":
        return (
            f"(CASE WHEN jsonb_typeof({prefix}attributes -> {key}) = '{_PG_TYPES[kind]}' "
            f"THEN ({prefix}attributes ->> {key}){_PG_CASTS[kind]} END)"
        )
    return (
        f"(CASE WHEN json_type({prefix}attributes, {path}) IN {_SQLITE_TYPES[kind]} "
        f"THEN json_extract({prefix}attributes, {path}) END)"
    )


def check(name: str, kind: str) -> None:
    if not NAME.match(name):
        raise InvalidInput(f"{name!r} is not an attribute name (letters, digits, _ . : -)")
    if kind not in KINDS:
        raise InvalidInput(f"unknown kind {kind!r}: choose {' or '.join(KINDS)}")


def value_sql(dialect: str, name: str, kind: str, alias: str = "o") -> str:
    """The attribute as ``kind`` with the name as a literal: the one expression both the
    index and the filters on an indexed attribute use."""
    check(name, kind)  # the name pattern admits no quote, so the literals are safe
    return typed_value(dialect, kind, f"'{name}'", f"'{json_path(name)}'", alias)


def index_name(name: str, kind: str) -> str:
    return f"ix_attr_{kind}_{hashlib.sha1(name.encode()).hexdigest()[:12]}"


def indexed(conn: Connection) -> dict[str, str]:
    """Indexed attributes by name, with the kind they are indexed as."""
    return {
        str(a): str(k)
        for a, k in conn.execute(
            select(attribute_indexes.c.attribute, attribute_indexes.c.kind).order_by(
                attribute_indexes.c.attribute
            )
        )
    }


def create(conn: Connection, name: str, kind: str, actor: str) -> str:
    """Index an attribute (every stored version of every object: filters see old versions
    through scenarios); returns the index name."""
    check(name, kind)
    if name in indexed(conn):
        raise Conflict(f"attribute {name!r} is already indexed")
    ix = index_name(name, kind)
    expression = value_sql(conn.dialect.name, name, kind, alias="")
    conn.exec_driver_sql(f"CREATE INDEX {ix} ON city_objects ({expression})")
    # The planners weigh an expression index by statistics gathered on ANALYZE only.
    backend_for(conn.dialect.name).refresh_statistics(conn)
    conn.execute(
        insert(attribute_indexes).values(
            attribute=name,
            kind=kind,
            index_name=ix,
            created_by=actor,
            created_at=clock_of(conn).now(),
        )
    )
    return ix


def drop(conn: Connection, name: str) -> None:
    found = conn.execute(
        select(attribute_indexes.c.index_name).where(attribute_indexes.c.attribute == name)
    ).scalar()
    if found is None:
        raise NotFound(f"attribute {name!r} is not indexed")
    conn.exec_driver_sql(f"DROP INDEX {found}")
    conn.execute(delete(attribute_indexes).where(attribute_indexes.c.attribute == name))


def ordered_source(dialect: str, name: str, kind: str) -> str | None:
    """A FROM clause that makes SQLite read ``city_objects o`` through the attribute's index.

    Pages filtered on an indexed attribute are ordered by (value, key), the index's own
    order, so the first page reads the first matching index entries and stops. SQLite's
    planner, having no value histograms, would rather walk the layer in key order and sort;
    PostgreSQL weighs the index by its statistics and needs no hint (None).
    """
    if dialect == "postgresql":
        return None
    return f"city_objects o INDEXED BY {index_name(name, kind)}"
