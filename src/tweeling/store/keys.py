"""Publishers' registered signing keys.

A valid signature proves only that *some* key signed a package; the store needs to know it
was the publisher's. Organisations register their Ed25519 public keys (hex) here, and the
accreditation's integrity check accepts a package only when a registered, unrevoked key of
its publisher signed it. A key belongs to one organisation; revoking keeps it on record.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select, update

from tweeling.errors import Conflict, InvalidInput, NotFound
from tweeling.storage.db import clock_of
from tweeling.storage.schema import organisations, publisher_keys


def normalise(public_key: str) -> str:
    text = public_key.strip().lower()
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise InvalidInput(
            "a public key is 64 hexadecimal characters (as tweeling app keygen prints it)"
        )
    return text


def register(conn: Connection, org_id: int | None, public_key: str, label: str, actor: str) -> str:
    key = normalise(public_key)
    holder = conn.execute(
        select(publisher_keys.c.org_id, organisations.c.name)
        .select_from(publisher_keys.outerjoin(organisations))
        .where(publisher_keys.c.public_key == key)
    ).first()
    if holder is not None:
        whose = "this organisation" if holder.org_id == org_id else "another organisation"
        raise Conflict(f"key {key[:12]}… is registered already, to {whose}")
    conn.execute(
        insert(publisher_keys).values(
            org_id=org_id,
            public_key=key,
            label=label.strip() or "signing key",
            registered_by=actor,
            registered_at=clock_of(conn).now(),
        )
    )
    return key


def revoke(conn: Connection, org_id: int | None, public_key: str) -> None:
    key = normalise(public_key)
    done = conn.execute(
        update(publisher_keys)
        .where(
            publisher_keys.c.public_key == key,
            publisher_keys.c.org_id.is_(None)
            if org_id is None
            else publisher_keys.c.org_id == org_id,
            publisher_keys.c.revoked_at.is_(None),
        )
        .values(revoked_at=clock_of(conn).now())
    )
    if done.rowcount == 0:
        raise NotFound(f"no registered, unrevoked key {key[:12]}… of this organisation")


def listed(conn: Connection, org_id: int | None) -> list[dict[str, Any]]:
    owner = publisher_keys.c.org_id
    rows = conn.execute(
        select(publisher_keys)
        .where(owner.is_(None) if org_id is None else owner == org_id)
        .order_by(publisher_keys.c.id)
    ).mappings()
    return [
        {
            "public_key": r["public_key"],
            "label": r["label"],
            "registered_by": r["registered_by"],
            "registered_at": r["registered_at"].isoformat(),
            "revoked_at": r["revoked_at"].isoformat() if r["revoked_at"] else None,
        }
        for r in rows
    ]


def valid(conn: Connection, org_id: int | None) -> set[str]:
    """The keys that may sign the organisation's packages now."""
    return {k["public_key"] for k in listed(conn, org_id) if k["revoked_at"] is None}
