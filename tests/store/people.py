"""A person acting for an organisation of the test database, for the store's tests."""

from __future__ import annotations

from tweeling.access import identity
from tweeling.access.identity import Principal, Role
from tweeling.storage.db import Database


def member(db: Database, email: str, org: str, role: Role) -> Principal:
    with db.read() as conn:
        return Principal(0, email, identity.get_organisation(conn, org), frozenset({role}))
