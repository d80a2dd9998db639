"""What every context's tables share: one MetaData and the column types.

JSON columns are ``Json``: JSON on SQLite, JSONB on PostgreSQL (the DDL the migrations made),
written and read with orjson (``storage.db`` hands the engine ``dump_json``/``load_json``), so
code gets Python values from a typed query and never decodes by hand. Raw SQL (``text()``)
declares its JSON result columns with ``.columns(name=Json)`` to get the same.
"""

from __future__ import annotations

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

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        # A value the driver left as text (an engine opened without load_json) still
        # arrives decoded.
        if isinstance(value, (str, bytes)):
            return orjson.loads(value)
        return value


class PostGISGeometry(UserDefinedType[Any]):
    """PostGIS ``geometry(Geometry, 4326)``; written as EWKB hex, read as WKB."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "geometry(Geometry, 4326)"


Blob = LargeBinary().with_variant(BYTEA(), "postgresql")
FootprintCRS84 = LargeBinary().with_variant(PostGISGeometry(), "postgresql")
