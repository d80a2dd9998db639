"""What every context's tables share: one MetaData and the column types.

JSON columns are ``Json``: JSON on SQLite, JSONB on PostgreSQL (the DDL the migrations made),
written and read with orjson (``storage.db`` hands the engine ``dump_json``/``load_json``), so
code gets Python values from a typed query and never decodes by hand. Raw SQL (``text()``)
declares its JSON result columns with ``.columns(name=Json)`` to get the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from sqlalchemy import JSON, LargeBinary, MetaData
from sqlalchemy.dialects.postgresql import BYTEA, JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine, UserDefinedType

metadata = MetaData()

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def _plain(value: Any) -> Any:
    # What orjson refuses but the stdlib json module wrote before: subclasses of float (and
    # numpy scalars), which are numbers all the same.
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, float):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dump_json(value: Any) -> str:
    """A Python value as the JSON text a JSON column stores (the engines' serializer)."""
    return orjson.dumps(value, default=_plain, option=_OPTIONS).decode()


def load_json(value: str | bytes) -> Any:
    """The engines' deserializer."""
    return orjson.loads(value)


def json_bytes(value: Any) -> bytes:
    """A JSON column's value as JSON bytes, for a hot path that passes it through unparsed:
    SQLite hands over the stored text (untyped in raw SQL), psycopg already-parsed JSONB."""
    if value is None:
        return b"{}"
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, bytes):
        return value
    return orjson.dumps(value, default=_plain, option=_OPTIONS)


class Json(TypeDecorator[Any]):
    """A JSON column: JSON on SQLite, JSONB on PostgreSQL; Python values in and out."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(JSON())

    # No process_result_value: the dialect's JSON result processor (SQLite) or the driver
    # (psycopg) already decodes, and a hook here would cost a call per row on hot paths.


class PostGISGeometry(UserDefinedType[Any]):
    """PostGIS ``geometry(Geometry, 4326)``; written as EWKB hex, read as WKB."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "geometry(Geometry, 4326)"


Blob = LargeBinary().with_variant(BYTEA(), "postgresql")
FootprintCRS84 = LargeBinary().with_variant(PostGISGeometry(), "postgresql")


# What the database holds outside the tables declared here, per backend: SQLite's R*Tree
# and FTS5 virtual tables (with their shadow tables), PostGIS's spatial_ref_sys, PostgreSQL's
# GiST and GIN indexes and the store's tsvector column, the live-layer index (its columns
# differ per backend), and the attribute indexes an operator adds at run time
# (storage.attribute_index). SQLite also lacks the foreign key of twins.owner_org_id
# (migration 0002 could not add it there).
_BACKEND_TABLES = ("city_objects_rtree", "store_fts", "spatial_ref_sys")
_BACKEND_INDEXES = ("ix_objects_live", "ix_objects_footprint", "ix_store_search_document")
_BACKEND_COLUMNS = (("store_search", "document"),)
_NOT_ON_SQLITE = ("twins",)  # tables whose foreign keys SQLite does not hold

IncludeObject = Callable[[Any, str | None, str, bool, Any], bool]


def declared_here(dialect: str) -> IncludeObject:
    """Alembic's ``include_object`` on ``dialect``: compare only what this metadata declares,
    leaving the backend-specific structures above to their migrations."""

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        if type_ == "foreign_key_constraint":
            return not (dialect == "sqlite" and obj.table.name in _NOT_ON_SQLITE)
        if not reflected or name is None:
            return True
        if type_ == "table":
            return not name.startswith(_BACKEND_TABLES)
        if type_ == "index":
            return name not in _BACKEND_INDEXES and not name.startswith("ix_attr_")
        if type_ == "column":
            return (obj.table.name, name) not in _BACKEND_COLUMNS
        return True

    return include
