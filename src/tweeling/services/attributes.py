"""Indexed attributes (queryables): managed by the platform operator, used by every filter.

An index is platform-wide (it covers every twin's objects), and building one on a large
platform takes a while and a write lock, so only the operator at the command line, who has
the database in hand anyway, creates or drops them. Each change goes to the audit log.
"""

from __future__ import annotations

from tweeling.access.audit import acted, record
from tweeling.access.identity import Principal
from tweeling.errors import Forbidden
from tweeling.storage import attribute_index
from tweeling.storage.db import Database


def _operator_only(principal: Principal) -> None:
    if not principal.operator:
        raise Forbidden(
            "attribute indexes are platform-wide: only the platform operator manages them "
            "(tweeling index … at the command line, without TWEELING_TOKEN)"
        )


def add_index(db: Database, principal: Principal, name: str, kind: str) -> str:
    _operator_only(principal)
    with db.begin() as conn:
        ix = attribute_index.create(conn, name, kind, principal.actor)
        event = acted(principal, "attribute_index.create", f"attribute:{name}", {"kind": kind})
        record(conn, event)
    return ix


def drop_index(db: Database, principal: Principal, name: str) -> None:
    _operator_only(principal)
    with db.begin() as conn:
        attribute_index.drop(conn, name)
        record(conn, acted(principal, "attribute_index.drop", f"attribute:{name}"))


def indexes(db: Database) -> dict[str, str]:
    """Indexed attributes and their kinds (not secret: any filter may use them)."""
    with db.read() as conn:
        return attribute_index.indexed(conn)
